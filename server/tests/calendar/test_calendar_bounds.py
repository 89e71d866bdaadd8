"""What one calendar read may cost is bounded: summaries on request, and a byte budget on any read."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest

from tests.conftest import Caller, Database
from trainerday_server.calendar import service
from trainerday_server.db import make_session_factory, session_scope
from trainerday_server.models import CalendarEvent

SEGMENT_TEXT = "hold it steady, stay seated, breathe"
YEAR = "/api/v1/calendar?startDate=2026-01-01&endDate=2026-12-31"


def big_workout(title: str, segments: int = 2000) -> dict:
    """The largest workout the API accepts: 2,000 segments, each with cadence, type and text."""
    return {
        "title": title,
        "description": "",
        "tags": [],
        "durationMinutes": segments * 0.5,
        "segments": [
            [0.5, 50 + i % 60, 55 + i % 60, 85, 95, "active", SEGMENT_TEXT] for i in range(segments)
        ],
    }


def plan_directly(db: Database, athlete_id: int, days: int, segments: int = 2000) -> int:
    """``days`` events, one a day from 1 January, stored as the API would store them; their JSON size."""
    sessions = make_session_factory(db.engine, writer=True)
    with session_scope(sessions) as session:
        for day in range(days):
            workout = big_workout(f"Day {day}", segments)
            session.add(
                CalendarEvent(
                    athlete_id=athlete_id,
                    calendar_date=dt.date(2026, 1, 1) + dt.timedelta(days=day),
                    type="workout",
                    title=workout["title"],
                    workout=workout,
                )
            )
    return days * len(orjson.dumps(big_workout("Day 0", segments)))


def test_a_read_past_the_byte_budget_is_a_400_naming_the_way_out(client, me: Caller, db: Database):
    weight = plan_directly(db, me.athlete.id, days=45)
    assert weight > service.MAX_READ_BYTES  # the test's premise: segments alone exceed the budget
    response = client.get(YEAR, headers=me.headers)
    assert response.status_code == 400
    problem = response.json()
    assert problem["errors"][0]["field"] == "endDate"
    assert "segments=false" in problem["detail"] and f"{service.MAX_READ_BYTES:,}" in problem["detail"]


def test_summaries_fit_where_segments_do_not(client, me: Caller, db: Database):
    plan_directly(db, me.athlete.id, days=45)
    response = client.get(YEAR + "&segments=false", headers=me.headers)
    assert response.status_code == 200
    assert len(response.content) < 100_000
    events = response.json()["data"]
    assert [e["title"] for e in events] == [f"Day {d}" for d in range(45)]
    for event in events:
        workout = event["embedWorkout"]
        assert "segments" not in workout and workout["segmentCount"] == 2000
        assert workout["durationMinutes"] == 1000 and workout["title"] == event["title"]
        assert event["metrics"]["durationSeconds"] == 60_000  # still computed from the segments


def test_summaries_agree_with_the_full_events(client, me: Caller):
    body = {"calendarDate": "2026-01-15", "embedWorkout": {"title": "Easy", "segments": [[10, 50, 50]]}}
    created = client.post("/api/v1/calendar/events", json=body, headers=me.headers).json()
    url = "/api/v1/calendar?startDate=2026-01-15&endDate=2026-01-15"
    full = client.get(url, headers=me.headers).json()["data"]
    summary = client.get(url + "&segments=false", headers=me.headers).json()["data"]
    assert full == [created]
    expected = {**created, "embedWorkout": {**created["embedWorkout"], "segmentCount": 1}}
    del expected["embedWorkout"]["segments"]
    assert summary == [expected]
    assert client.get(url + "&segments=true", headers=me.headers).json()["data"] == full


def test_a_read_within_the_budget_returns_every_segment(client, me: Caller, db: Database):
    plan_directly(db, me.athlete.id, days=3)
    events = client.get(YEAR, headers=me.headers).json()["data"]
    assert [len(e["embedWorkout"]["segments"]) for e in events] == [2000] * 3


@pytest.mark.parametrize("value", ["yes", "1", "False", ""])
def test_segments_takes_only_true_or_false(client, me: Caller, value: str):
    response = client.get(YEAR + f"&segments={value}", headers=me.headers)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "segments"


def test_notes_are_read_alike_either_way(client, me: Caller):
    note = {"calendarDate": "2026-02-01", "title": "Rest", "notes": "n" * 10_000}
    client.post("/api/v1/calendar/events", json=note, headers=me.headers)
    url = "/api/v1/calendar?startDate=2026-02-01&endDate=2026-02-01"
    full = client.get(url, headers=me.headers).json()
    assert client.get(url + "&segments=false", headers=me.headers).json() == full
