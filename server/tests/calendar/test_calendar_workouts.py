"""Calendar events and the workout library: copy on schedule, metrics on every read, export and charts."""

from __future__ import annotations

import pytest

from tests.conftest import Caller, Factory, bearer
from trainerday_server.workouts.formats import export_workout, import_workout
from trainerday_server.workouts.metrics import planned_metrics
from trainerday_server.workouts.structure import Workout, parse_segments

EVENTS = "/api/v1/calendar/events"
JANUARY = "/api/v1/calendar?startDate=2026-01-01&endDate=2026-01-31"
THRESHOLD = {
    "title": "Threshold",
    "description": "Two blocks at FTP",
    "tags": ["ftp"],
    "segments": [
        [10, 50, 70, None, None, "warmup"],
        [10, 100, 100],
        [5, 50, 50],
        [10, 100, 100],
        [5, 50, 50],
    ],
}
PLANNED_FIELDS = ("title", "description", "tags", "durationMinutes", "segments")
READ_ONLY_FIELDS = ("id", "metrics", "createdAt", "updatedAt", "completedActivity", "compliance")


def library_workout(client, me: Caller, **changes) -> dict:
    response = client.post("/api/v1/workouts", headers=me.headers, json={**THRESHOLD, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def plan(client, me: Caller, **body) -> dict:
    response = client.post(EVENTS, headers=me.headers, json={"calendarDate": "2026-01-15", **body})
    assert response.status_code == 201, response.text
    return response.json()


def planned_part(workout: dict) -> dict:
    return {k: workout[k] for k in PLANNED_FIELDS}


def writable(event: dict) -> dict:
    """An event read, as it can be written back."""
    return {k: v for k, v in event.items() if k not in READ_ONLY_FIELDS}


def test_planning_a_library_workout_copies_it(client, me: Caller):
    source = library_workout(client, me)
    event = plan(client, me, workoutId=source["id"])
    assert event["type"] == "workout" and event["title"] == "Threshold"
    assert event["workoutId"] == source["id"]
    assert event["embedWorkout"] == planned_part(source)
    assert event["metrics"] == source["metrics"]
    assert client.get(JANUARY, headers=me.headers).json()["data"] == [event]


def test_editing_the_library_workout_later_does_not_change_what_is_planned(client, me: Caller):
    source = library_workout(client, me)
    event = plan(client, me, workoutId=source["id"])
    assert client.get(JANUARY, headers=me.headers).json()["data"] == [event]  # now cached
    edited = client.put(
        f"/api/v1/workouts/{source['id']}",
        headers=me.headers,
        json={**THRESHOLD, "title": "Threshold (harder)", "segments": [[40, 105, 105]]},
    ).json()
    assert edited["title"] == "Threshold (harder)"
    assert client.get(f"{EVENTS}/{event['id']}", headers=me.headers).json() == event
    assert client.get(JANUARY, headers=me.headers).json()["data"] == [event]
    # Asking for the workout again, by workoutId alone, plans the library's current version.
    replanned = client.put(
        f"{EVENTS}/{event['id']}",
        headers=me.headers,
        json={"calendarDate": "2026-01-15", "workoutId": source["id"]},
    ).json()
    assert replanned["embedWorkout"] == planned_part(edited)
    assert replanned["title"] == "Threshold (harder)" and replanned["metrics"] == edited["metrics"]
    assert client.get(JANUARY, headers=me.headers).json()["data"] == [replanned]


def test_an_event_read_and_written_back_keeps_its_copy_and_its_source(client, me: Caller):
    source = library_workout(client, me)
    event = plan(client, me, workoutId=source["id"])
    client.put(
        f"/api/v1/workouts/{source['id']}", headers=me.headers, json={**THRESHOLD, "segments": [[5, 50, 50]]}
    )
    moved = client.put(
        f"{EVENTS}/{event['id']}", headers=me.headers, json={**writable(event), "calendarDate": "2026-01-16"}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["calendarDate"] == "2026-01-16"
    assert (moved.json()["embedWorkout"], moved.json()["workoutId"]) == (event["embedWorkout"], source["id"])


def test_an_adjusted_copy_is_planned_as_sent_with_its_source(client, me: Caller):
    source = library_workout(client, me)
    easier = {
        **planned_part(source),
        "segments": [[10, 50, 70], [10, 95, 95], [10, 50, 50]],
        "durationMinutes": 30,
    }
    event = plan(client, me, workoutId=source["id"], embedWorkout=easier)
    assert event["embedWorkout"] == easier and event["workoutId"] == source["id"]
    assert event["metrics"] == planned_metrics(parse_segments(easier["segments"]), 200).to_json()


@pytest.mark.parametrize("sent", [30, 30.0, None])
def test_duration_minutes_keeps_the_number_type_sent(client, me: Caller, sent):
    fields = {} if sent is None else {"durationMinutes": sent}
    shown = 30 if sent is None else sent  # not sent: the total of whole-minute segments, an int
    segments = [[10, 50, 50], [10, 60, 60], [10, 45, 45]]
    embedded = plan(client, me, embedWorkout={**THRESHOLD, "segments": segments, **fields})
    source = library_workout(client, me, segments=segments, **fields)
    copied = plan(client, me, workoutId=source["id"])
    for event in (embedded, copied):
        read = client.get(f"{EVENTS}/{event['id']}", headers=me.headers).json()
        for duration in (event["embedWorkout"]["durationMinutes"], read["embedWorkout"]["durationMinutes"]):
            assert (duration, type(duration)) == (shown, type(shown))
    for event in client.get(JANUARY, headers=me.headers).json()["data"]:
        duration = event["embedWorkout"]["durationMinutes"]
        assert (duration, type(duration)) == (shown, type(shown))


def test_deleting_the_library_workout_keeps_planned_copies(client, me: Caller):
    source = library_workout(client, me)
    event = plan(client, me, workoutId=source["id"])
    assert client.get(JANUARY, headers=me.headers).json()["data"] == [event]  # now cached
    assert client.delete(f"/api/v1/workouts/{source['id']}", headers=me.headers).status_code == 204
    orphan = {**event, "workoutId": None}
    assert client.get(f"{EVENTS}/{event['id']}", headers=me.headers).json() == orphan
    assert client.get(JANUARY, headers=me.headers).json()["data"] == [orphan]


def test_workout_id_must_be_one_of_yours(client, me: Caller, factory: Factory):
    other = factory.athlete()
    theirs = client.post("/api/v1/workouts", headers=bearer(factory.key(other.id)), json=THRESHOLD).json()
    mine = plan(client, me, title="a note")
    for workout_id in (theirs["id"], theirs["id"] + 1000):
        for method, url in (("POST", EVENTS), ("PUT", f"{EVENTS}/{mine['id']}")):
            body = {"calendarDate": "2026-01-15", "workoutId": workout_id}
            response = client.request(method, url, headers=me.headers, json=body)
            assert response.status_code == 400, response.text
            assert response.json()["errors"] == [
                {"field": "workoutId", "message": f"no workout with id {workout_id} in your library"}
            ]
    assert client.get(JANUARY, headers=me.headers).json()["data"] == [mine]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "note", "title": "x", "workoutId": 1}, "workoutId"),
        ({"workoutId": 0}, "workoutId"),
        ({"workoutId": "one"}, "workoutId"),
        ({"workoutId": 2**63}, "workoutId"),
        ({"type": "workout"}, "embedWorkout"),
        ({"embedWorkout": {**THRESHOLD, "tags": ["x" * 51]}}, "embedWorkout.tags[0]"),
        ({"embedWorkout": {**THRESHOLD, "tags": "ftp"}}, "embedWorkout.tags"),
        ({"embedWorkout": {**THRESHOLD, "description": 5}}, "embedWorkout.description"),
    ],
)
def test_invalid_references_are_400(client, me: Caller, body, field):
    library_workout(client, me)
    response = client.post(EVENTS, headers=me.headers, json={"calendarDate": "2026-01-15", **body})
    assert response.status_code == 400, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert client.get(JANUARY, headers=me.headers).json() == {"data": []}


def test_embed_workout_carries_description_and_tags(client, me: Caller):
    event = plan(client, me, embedWorkout={**THRESHOLD, "description": " hard ", "tags": ["a", "a", " b"]})
    assert (event["embedWorkout"]["description"], event["embedWorkout"]["tags"]) == ("hard", ["a", "b"])


def test_planning_by_workout_id_also_needs_workout_read(client, me: Caller, factory: Factory):
    source = library_workout(client, me)
    calendar_only = bearer(factory.key(me.athlete.id, "calendar:read calendar:write"))
    body = {"calendarDate": "2026-01-15", "workoutId": source["id"]}
    response = client.post(EVENTS, headers=calendar_only, json=body)
    assert response.status_code == 403
    assert response.json()["scope"] == "workout:read"
    assert response.json()["detail"] == "planning a library workout by workoutId needs the workout:read scope"
    event = client.post(
        EVENTS, headers=calendar_only, json={"calendarDate": "2026-01-15", "title": "a note"}
    ).json()
    response = client.put(f"{EVENTS}/{event['id']}", headers=calendar_only, json=body)
    assert response.status_code == 403
    assert client.get(JANUARY, headers=me.headers).json()["data"] == [event]
    with_library = bearer(factory.key(me.athlete.id, "calendar:write workout:read"))
    assert client.post(EVENTS, headers=with_library, json=body).status_code == 201


# --- metrics ---------------------------------------------------------------------------------------------


def test_every_read_returns_metrics_at_the_current_ftp(client, me: Caller):
    workout = plan(client, me, embedWorkout=THRESHOLD)
    note = plan(client, me, calendarDate="2026-01-16", title="Rest")
    segments = parse_segments(THRESHOLD["segments"])
    assert workout["metrics"] == planned_metrics(segments, 200).to_json() and note["metrics"] is None
    assert [e["metrics"] for e in client.get(JANUARY, headers=me.headers).json()["data"]] == [
        workout["metrics"],
        None,
    ]
    # An FTP change shows at once, in the cached calendar read too.
    assert client.patch("/api/v1/athlete", headers=me.headers, json={"ftp": 300}).status_code == 200
    at_300 = planned_metrics(segments, 300).to_json()
    assert client.get(JANUARY, headers=me.headers).json()["data"][0]["metrics"] == at_300
    assert client.get(f"{EVENTS}/{workout['id']}", headers=me.headers).json()["metrics"] == at_300
    assert at_300["normalizedPower"] == pytest.approx(workout["metrics"]["normalizedPower"] * 1.5, abs=0.1)


def test_metrics_are_the_athletes_own(client, me: Caller, factory: Factory):
    other = factory.athlete(ftp=300)
    plan(client, me, embedWorkout=THRESHOLD)
    client.post(
        EVENTS,
        headers=bearer(factory.key(other.id)),
        json={"calendarDate": "2026-01-15", "embedWorkout": THRESHOLD},
    )
    mine = client.get(JANUARY, headers=me.headers).json()["data"][0]["metrics"]
    theirs = client.get(JANUARY, headers=bearer(factory.key(other.id))).json()["data"][0]["metrics"]
    assert (mine["tss"], mine["normalizedPower"] * 1.5) == (
        theirs["tss"],
        pytest.approx(theirs["normalizedPower"], abs=0.1),
    )


# --- export and chart ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["zwo", "erg", "mrc", "fit"])
def test_export_the_planned_workout(client, me: Caller, fmt):
    source = library_workout(client, me)
    event = plan(client, me, workoutId=source["id"], title="Tuesday")
    client.put(
        f"/api/v1/workouts/{source['id']}", headers=me.headers, json={**THRESHOLD, "segments": [[5, 50, 50]]}
    )
    response = client.get(f"{EVENTS}/{event['id']}/export?format={fmt}", headers=me.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith(f'attachment; filename="Threshold.{fmt}"')
    planned = Workout(
        title="Threshold",
        description="Two blocks at FTP",
        tags=("ftp",),
        segments=tuple(parse_segments(THRESHOLD["segments"])),
    )
    expected = export_workout(planned, fmt, ftp=200)
    assert response.headers["content-type"] == expected.media_type
    if fmt == "fit":  # stamped with the time it was made: compare what it holds
        assert import_workout(response.content).segments == import_workout(expected.content).segments
    else:  # the planned copy, not the library's later version
        assert response.content == expected.content


def test_erg_export_of_an_event_is_at_the_current_ftp(client, me: Caller):
    event = plan(client, me, embedWorkout=THRESHOLD)
    client.patch("/api/v1/athlete", headers=me.headers, json={"ftp": 260})
    assert "FTP = 260\r\n" in client.get(f"{EVENTS}/{event['id']}/export?format=erg", headers=me.headers).text


def test_chart_of_the_planned_workout(client, me: Caller):
    event = plan(client, me, embedWorkout=THRESHOLD)
    response = client.get(f"{EVENTS}/{event['id']}/chart.svg", headers=me.headers)
    assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
    assert response.text.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert response.text.count("<polygon") == 5 and "(200 W)" in response.text


def test_a_note_has_nothing_to_export(client, me: Caller):
    note = plan(client, me, title="Rest")
    for path in ("export?format=zwo", "chart.svg"):
        response = client.get(f"{EVENTS}/{note['id']}/{path}", headers=me.headers)
        assert response.status_code == 404
        assert response.json()["detail"] == f"calendar event {note['id']} is a note: it plans no workout"


def test_export_of_another_athletes_event_is_404(client, me: Caller, factory: Factory):
    other_key = factory.key(factory.athlete().id)
    theirs = client.post(
        EVENTS, headers=bearer(other_key), json={"calendarDate": "2026-01-15", "embedWorkout": THRESHOLD}
    )
    for path in ("export?format=zwo", "chart.svg"):
        response = client.get(f"{EVENTS}/{theirs.json()['id']}/{path}", headers=me.headers)
        assert response.status_code == 404
        assert response.json()["detail"] == f"no calendar event with id {theirs.json()['id']}"


@pytest.mark.parametrize("query", ["", "?format=pdf"])
def test_export_of_an_event_needs_a_known_format(client, me: Caller, query):
    event = plan(client, me, embedWorkout=THRESHOLD)
    response = client.get(f"{EVENTS}/{event['id']}/export{query}", headers=me.headers)
    assert response.status_code == 400 and [e["field"] for e in response.json()["errors"]] == ["format"]


@pytest.mark.parametrize("path", ["export?format=zwo", "chart.svg"])
def test_export_of_an_event_needs_calendar_read(client, me: Caller, factory: Factory, path):
    event = plan(client, me, embedWorkout=THRESHOLD)
    url = f"{EVENTS}/{event['id']}/{path}"
    response = client.get(url, headers=bearer(factory.key(me.athlete.id, "workout:read calendar:write")))
    assert response.status_code == 403 and response.json()["scope"] == "calendar:read"
    assert client.get(url, headers=bearer(factory.key(me.athlete.id, "calendar:read"))).status_code == 200
