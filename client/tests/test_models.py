"""Models read the camelCase wire format into snake_case attributes with real dates; requests go out
camelCase with only the fields given."""

from __future__ import annotations

import datetime as dt
import json

import httpx
from mock_api import ATHLETE, Script, ok

import trainerday as td

EVENT = {
    "id": 12,
    "calendarDate": "2026-01-15",
    "type": "workout",
    "title": "Easy Spin",
    "notes": None,
    "embedWorkout": {
        "title": "Easy Spin",
        "description": "",
        "tags": [],
        "durationMinutes": 30,
        "segments": [[10, 50, 50], [10, 60, 60], [10, 45, 45]],
    },
    "workoutId": None,
    "metrics": {
        "durationSeconds": 1800,
        "normalizedPower": 131.2,
        "intensityFactor": 0.525,
        "tss": 13.8,
        "workKj": 229.5,
        "timeInZones": [1200, 600, 0, 0, 0, 0, 0],
        "dominantZone": 1,
    },
    "createdAt": "2026-12-06T05:00:00.000Z",
    "updatedAt": "2026-12-06T05:00:00.000Z",
    "completedActivity": None,
    "compliance": None,
    "someFutureField": 1,
}


def test_athlete_fields_are_snake_case():
    script = Script([ok(ATHLETE)])
    athlete = td.Client(api_key="td_x", base_url="http://t", transport=script.transport()).athlete.get()
    assert athlete.weight_kg == 64.5 and athlete.power_zones[0].max_watts == 137
    assert athlete.heart_rate_zones == []
    assert athlete.to_json()["weightKg"] == 64.5


def test_event_dates_are_dates_and_unknown_fields_are_kept():
    script = Script([ok({"data": [EVENT]})])
    client = td.Client(api_key="td_x", base_url="http://t", transport=script.transport())
    (event,) = client.calendar.list(dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    assert event.calendar_date == dt.date(2026, 1, 15)
    assert event.created_at == dt.datetime(2026, 12, 6, 5, tzinfo=dt.UTC)
    assert event.metrics is not None and event.metrics.time_in_zones[0] == 1200
    assert event.model_extra == {"someFutureField": 1}
    assert dict(script.requests[0].url.params) == {"startDate": "2026-01-01", "endDate": "2026-01-31"}


def test_update_sends_only_the_fields_given_and_none_clears():
    script = Script([ok(ATHLETE)])
    client = td.Client(api_key="td_x", base_url="http://t", transport=script.transport())
    client.athlete.update(ftp=265, lthr=None, weight_kg=70)
    request = script.requests[0]
    assert request.method == "PATCH"
    assert json.loads(request.content) == {"ftp": 265, "lthr": None, "weightKg": 70}


def test_planning_a_model_workout_sends_its_body():
    script = Script([ok(EVENT, 201)])
    client = td.Client(api_key="td_x", base_url="http://t", transport=script.transport())
    planned = td.PlannedWorkout.model_validate(EVENT["embedWorkout"])
    client.calendar.create_event(dt.date(2026, 1, 15), workout=planned)
    body = json.loads(script.requests[0].content)
    assert body == {
        "calendarDate": "2026-01-15",
        "embedWorkout": {"title": "Easy Spin", "segments": [[10, 50, 50], [10, 60, 60], [10, 45, 45]]},
    }


def test_download_reads_the_utf8_file_name_and_never_a_path():
    disposition = "attachment; filename=\"_ber.zwo\"; filename*=UTF-8''..%2F..%2F%C3%9Cber.zwo"
    answer = httpx.Response(200, content=b"<workout_file/>", headers={
        "Content-Type": "application/xml", "Content-Disposition": disposition})  # fmt: skip
    client = td.Client(api_key="td_x", base_url="http://t", transport=Script([answer]).transport())
    exported = client.workouts.export(3, "zwo")
    assert exported.file_name == "Über.zwo"
    assert exported.media_type == "application/xml" and exported.content == b"<workout_file/>"


def test_a_hidden_or_dotted_file_name_is_made_visible():
    for sent, kept in [
        (".bashrc", "bashrc"),
        ("..", None),
        ("../../.ssh/authorized_keys", "authorized_keys"),
    ]:
        answer = httpx.Response(
            200, content=b"x", headers={"Content-Disposition": f'attachment; filename="{sent}"'}
        )
        client = td.Client(api_key="td_x", base_url="http://t", transport=Script([answer]).transport())
        assert client.activities.download(1).file_name == kept
