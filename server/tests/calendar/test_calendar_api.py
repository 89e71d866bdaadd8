"""The training calendar through the real HTTP API: the Quick Start request, reads, CRUD and bad input."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import Caller, Factory, bearer
from trainerday_server.models import CalendarEvent

SEED = (
    b'{"calendarDate":"2026-01-15","embedWorkout":{"title":"Easy Spin","durationMinutes":30,'
    b'"segments":[[10,50,50],[10,60,60],[10,45,45]]}}'
)
JANUARY = "/api/v1/calendar?startDate=2026-01-01&endDate=2026-01-31"


def post(client, me: Caller, body: dict, **headers):
    return client.post("/api/v1/calendar/events", headers={**me.headers, **headers}, json=body)


def workout(title="Intervals", segments=None, **extra):
    return {"title": title, "segments": segments or [[10, 50, 50], [5, 100, 100], [10, 45, 45]], **extra}


def count_events(db) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(CalendarEvent)).scalar_one()


def test_quick_start_request_byte_for_byte(client, me: Caller):
    response = client.post(
        "/api/v1/calendar/events", headers={**me.headers, "Content-Type": "application/json"}, content=SEED
    )
    assert response.status_code == 201, response.text
    event = response.json()
    assert response.headers["location"] == f"/api/v1/calendar/events/{event['id']}"
    assert event["calendarDate"] == "2026-01-15"
    assert event["type"] == "workout"
    assert event["title"] == "Easy Spin"
    assert event["notes"] is None
    assert event["workoutId"] is None
    assert event["embedWorkout"] == {
        "title": "Easy Spin",
        "description": "",
        "tags": [],
        "durationMinutes": 30,
        "segments": [[10, 50, 50], [10, 60, 60], [10, 45, 45]],
    }
    # The reference figures for the seed at FTP 200 (me's FTP).
    metrics = event["metrics"]
    assert (metrics["normalizedPower"], metrics["intensityFactor"], metrics["tss"]) == (105.7, 0.528, 14.0)
    # By hand: 600 s each at 100, 120 and 90 W; zone 1 below 55 %, zone 2 to 75 %; zone 2 weighs most
    # (600 x 0.6^4 against 600 x (0.5^4 + 0.45^4)).
    assert metrics["durationSeconds"] == 1800 and metrics["workKj"] == 186.0
    assert metrics["timeInZones"] == [1200, 600, 0, 0, 0, 0, 0] and metrics["dominantZone"] == 2
    assert event["createdAt"].endswith("Z") and event["updatedAt"].endswith("Z")
    listed = client.get("/api/v1/calendar?startDate=2026-01-15&endDate=2026-01-15", headers=me.headers).json()
    assert listed == {"data": [event]}
    assert client.get(response.headers["location"], headers=me.headers).json() == event


def test_read_returns_the_range_inclusive_and_ordered_by_date(client, me: Caller):
    for day in ["2026-02-01", "2026-01-31", "2025-12-31", "2026-01-01", "2026-01-15", "2026-01-15"]:
        assert post(client, me, {"calendarDate": day, "title": f"note {day}"}).status_code == 201
    data = client.get(JANUARY, headers=me.headers).json()["data"]
    assert [e["calendarDate"] for e in data] == ["2026-01-01", "2026-01-15", "2026-01-15", "2026-01-31"]
    assert data[1]["id"] < data[2]["id"]


def test_empty_range_is_an_empty_list(client, me: Caller):
    response = client.get(JANUARY, headers=me.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"data": []}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("startDate=2026-01-31&endDate=2026-01-01", "endDate"),
        ("startDate=2026-01-01&endDate=2027-01-02", "endDate"),
        ("startDate=2026-01-01", "endDate"),
        ("endDate=2026-01-01", "startDate"),
        ("", "startDate"),
        ("startDate=2026-13-01&endDate=2026-12-31", "startDate"),
        ("startDate=2026-02-30&endDate=2026-03-01", "startDate"),
        ("startDate=yesterday&endDate=2026-03-01", "startDate"),
        ("startDate=1767225600&endDate=2026-03-01", "startDate"),
        ("startDate=2026-01-01T00:00:00&endDate=2026-03-01", "startDate"),
        ("startDate=2026-1-1&endDate=2026-03-01", "startDate"),
    ],
)
def test_bad_ranges_are_400(client, me: Caller, query, field):
    response = client.get(f"/api/v1/calendar?{query}", headers=me.headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]


def test_a_leap_year_is_not_too_long(client, me: Caller):
    response = client.get("/api/v1/calendar?startDate=2028-01-01&endDate=2028-12-31", headers=me.headers)
    assert response.status_code == 200


def test_notes(client, me: Caller):
    response = post(client, me, {"calendarDate": "2026-01-02", "title": "Rest day", "notes": "legs tired"})
    assert response.status_code == 201
    event = response.json()
    assert (event["type"], event["title"], event["notes"], event["embedWorkout"]) == (
        "note",
        "Rest day",
        "legs tired",
        None,
    )


def test_optional_segment_fields_are_kept(client, me: Caller):
    segments = [
        [5, 40, 60, 85, 90, "warmup", "spin up"],
        [10, 95, 95, 90],
        [5, 50, 50, None, None, "cooldown"],
    ]
    event = post(
        client, me, {"calendarDate": "2026-01-03", "embedWorkout": workout(segments=segments)}
    ).json()
    assert event["embedWorkout"]["segments"] == segments
    assert event["embedWorkout"]["durationMinutes"] == 20


def test_fractional_minutes_and_title_override(client, me: Caller):
    body = {
        "calendarDate": "2026-01-03",
        "title": "Tuesday",
        "embedWorkout": workout(segments=[[0.5, 120, 120]]),
    }
    event = post(client, me, body).json()
    assert event["title"] == "Tuesday"
    assert event["embedWorkout"]["title"] == "Intervals"
    assert event["embedWorkout"]["durationMinutes"] == 0.5


@pytest.mark.parametrize(
    ("embed", "field", "words"),
    [
        (workout(durationMinutes=45), "embedWorkout.durationMinutes", ["45", "25"]),
        (workout(durationMinutes="25"), "embedWorkout.durationMinutes", ["number"]),
        (workout(durationMinutes=False), "embedWorkout.durationMinutes", ["number"]),
        (workout(segments=[[0, 50, 50]]), "embedWorkout.segments[0][0]", ["minutes"]),
        (workout(segments=[[-5, 50, 50]]), "embedWorkout.segments[0][0]", ["minutes"]),
        (workout(segments=[[10, 50, 1001]]), "embedWorkout.segments[0][2]", ["1000"]),
        (workout(segments=[[10, -1, 50]]), "embedWorkout.segments[0][1]", ["0"]),
        (workout(segments=[[10, "50", 50]]), "embedWorkout.segments[0][1]", ["number"]),
        (workout(segments=[[10, True, 50]]), "embedWorkout.segments[0][1]", ["number"]),
        (workout(segments=[[10, 50]]), "embedWorkout.segments[0]", ["3"]),
        (workout(segments=[[10, 50, 50], "x"]), "embedWorkout.segments[1]", ["array"]),
        (workout(segments=[[10, 50, 50, 90, 90, "sprint"]]), "embedWorkout.segments[0][5]", ["type"]),
        (workout(segments=[[10, 50, 50, 90.5]]), "embedWorkout.segments[0][3]", ["rpm"]),
        ({"title": "x", "segments": []}, "embedWorkout.segments", ["at least one"]),
        ({"title": "", "segments": [[10, 50, 50]]}, "embedWorkout.title", []),
        ({"segments": [[10, 50, 50]]}, "embedWorkout.title", []),
        ({"title": "x", "segments": [[10, 50, 50]], "intensity": 3}, "embedWorkout.intensity", []),
        ({"title": "x", "segments": [[10, 50, 50]] * 2001}, "embedWorkout.segments", ["2000"]),
    ],
)
def test_invalid_workouts_are_400_naming_the_field(client, me: Caller, db, embed, field, words):
    response = post(client, me, {"calendarDate": "2026-01-15", "embedWorkout": embed})
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"].endswith("/validation-error")
    matching = [e for e in problem["errors"] if e["field"] == field]
    assert matching, problem
    for word in words:
        assert word in matching[0]["message"], problem
    assert count_events(db) == 0


def test_duration_mismatch_names_both_values(client, me: Caller):
    response = post(client, me, {"calendarDate": "2026-01-15", "embedWorkout": workout(durationMinutes=40)})
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "embedWorkout.durationMinutes: durationMinutes is 40 but the segments add up to 25 minutes"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "no date"}, "calendarDate"),
        ({"calendarDate": "15/01/2026", "title": "x"}, "calendarDate"),
        ({"calendarDate": "2026-01-15"}, "title"),
        ({"calendarDate": "2026-01-15", "type": "workout"}, "embedWorkout"),
        ({"calendarDate": "2026-01-15", "type": "note", "embedWorkout": workout()}, "embedWorkout"),
        ({"calendarDate": "2026-01-15", "type": "race", "title": "x"}, "type"),
        ({"calendarDate": "2026-01-15", "title": "x", "colour": "red"}, "colour"),
        ({"calendarDate": "2026-01-15", "title": "x" * 201}, "title"),
    ],
)
def test_invalid_events_are_400(client, me: Caller, db, body, field):
    response = post(client, me, body)
    assert response.status_code == 400, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert count_events(db) == 0


def test_body_that_is_not_an_object(client, me: Caller):
    for content in (b"[]", b"null", b'"x"', b"{", b""):
        response = client.post(
            "/api/v1/calendar/events",
            headers={**me.headers, "Content-Type": "application/json"},
            content=content,
        )
        assert response.status_code == 400, (content, response.text)


def test_replace(client, me: Caller):
    created = post(client, me, {"calendarDate": "2026-01-15", "embedWorkout": workout()}).json()
    response = client.put(
        f"/api/v1/calendar/events/{created['id']}",
        headers=me.headers,
        json={"calendarDate": "2026-01-16", "title": "Moved", "notes": "now a note"},
    )
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert replaced["id"] == created["id"]
    assert (replaced["calendarDate"], replaced["type"], replaced["embedWorkout"]) == (
        "2026-01-16",
        "note",
        None,
    )
    assert replaced["createdAt"] == created["createdAt"]
    assert replaced["updatedAt"] >= created["updatedAt"]
    assert client.get(JANUARY, headers=me.headers).json()["data"] == [replaced]


def test_invalid_replace_changes_nothing(client, me: Caller):
    created = post(client, me, {"calendarDate": "2026-01-15", "embedWorkout": workout()}).json()
    response = client.put(
        f"/api/v1/calendar/events/{created['id']}",
        headers=me.headers,
        json={"calendarDate": "2026-01-16", "embedWorkout": workout(segments=[[1, 2000, 50]])},
    )
    assert response.status_code == 400
    assert client.get(f"/api/v1/calendar/events/{created['id']}", headers=me.headers).json() == created


def test_delete(client, me: Caller):
    created = post(client, me, {"calendarDate": "2026-01-15", "title": "x"}).json()
    url = f"/api/v1/calendar/events/{created['id']}"
    response = client.delete(url, headers=me.headers)
    assert response.status_code == 204 and response.content == b""
    assert client.get(url, headers=me.headers).status_code == 404
    assert client.delete(url, headers=me.headers).status_code == 404
    assert client.get(JANUARY, headers=me.headers).json() == {"data": []}


def test_another_athletes_event_is_indistinguishable_from_a_missing_one(client, me: Caller, factory: Factory):
    other = factory.athlete()
    other_key = factory.key(other.id)
    theirs = client.post(
        "/api/v1/calendar/events",
        headers=bearer(other_key),
        json={"calendarDate": "2026-01-15", "title": "theirs"},
    ).json()
    missing = client.get("/api/v1/calendar/events/999999", headers=me.headers)
    for method, kwargs in [
        ("GET", {}),
        ("PUT", {"json": {"calendarDate": "2026-01-15", "title": "mine now"}}),
        ("DELETE", {}),
    ]:
        response = client.request(
            method, f"/api/v1/calendar/events/{theirs['id']}", headers=me.headers, **kwargs
        )
        assert response.status_code == 404
        assert response.json()["title"] == missing.json()["title"]
        assert response.json()["detail"] == f"no calendar event with id {theirs['id']}"
    assert client.get(JANUARY, headers=me.headers).json() == {"data": []}
    assert client.get(f"/api/v1/calendar/events/{theirs['id']}", headers=bearer(other_key)).json() == theirs


@pytest.mark.parametrize("event_id", ["abc", "1.5", "-1", "99999999999999999999999"])
def test_malformed_event_ids(client, me: Caller, event_id):
    response = client.get(f"/api/v1/calendar/events/{event_id}", headers=me.headers)
    assert response.status_code in (400, 404)
    assert response.headers["content-type"] == "application/problem+json"


def test_reads_see_every_write_at_once(client, me: Caller):
    """The revision cache must never serve a response older than the latest write."""
    assert client.get(JANUARY, headers=me.headers).json() == {"data": []}
    created = post(client, me, {"calendarDate": "2026-01-10", "title": "a"}).json()
    assert client.get(JANUARY, headers=me.headers).json()["data"] == [created]
    client.put(
        f"/api/v1/calendar/events/{created['id']}",
        headers=me.headers,
        json={"calendarDate": "2026-01-11", "title": "b"},
    )
    assert client.get(JANUARY, headers=me.headers).json()["data"][0]["title"] == "b"
    client.delete(f"/api/v1/calendar/events/{created['id']}", headers=me.headers)
    assert client.get(JANUARY, headers=me.headers).json() == {"data": []}


def test_cached_calendars_are_per_athlete(client, me: Caller, factory: Factory):
    other = factory.athlete()
    other_key = factory.key(other.id)
    post(client, me, {"calendarDate": "2026-01-10", "title": "mine"})
    assert len(client.get(JANUARY, headers=me.headers).json()["data"]) == 1
    assert client.get(JANUARY, headers=bearer(other_key)).json() == {"data": []}
