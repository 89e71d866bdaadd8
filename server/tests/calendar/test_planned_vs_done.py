"""Planned vs done stays true when the plan changes, not only when a ride is uploaded."""

from __future__ import annotations

import pytest

from tests.activities.test_activities_api import _set_profile, calendar, plan, upload
from tests.conftest import Caller

# The local date, in Los Angeles, of the 38-minute ride in fit/sample-activity-indoor-trainer.fit.
DAY = "2011-11-02"
EVENTS = "/api/v1/calendar/events"


@pytest.fixture
def ride(client, me: Caller, db, samples) -> dict:
    _set_profile(db, me.athlete.id, timezone="America/Los_Angeles")
    response = upload(client, me, (samples / "fit/sample-activity-indoor-trainer.fit").read_bytes())
    assert response.status_code == 201, response.text
    return response.json()


def activity(client, me: Caller, ride: dict) -> dict:
    return client.get(f"/api/v1/activities/{ride['id']}", headers=me.headers).json()


def test_planning_a_workout_after_the_ride_links_it(client, me: Caller, ride: dict):
    assert ride["calendarEventId"] is None
    event = plan(client, me, DAY, 45)
    assert activity(client, me, ride)["calendarEventId"] == event
    [shown] = calendar(client, me, DAY)
    assert shown["completedActivity"]["id"] == ride["id"] and shown["compliance"] is not None
    assert client.get(f"{EVENTS}/{event}", headers=me.headers).json() == shown


def test_a_note_planned_on_the_day_does_not_take_the_ride(client, me: Caller, ride: dict):
    client.post(EVENTS, headers=me.headers, json={"calendarDate": DAY, "title": "rest?"})
    assert activity(client, me, ride)["calendarEventId"] is None


def test_turning_the_plan_into_a_note_lets_go_of_the_ride(client, me: Caller, ride: dict):
    event = plan(client, me, DAY, 45)
    response = client.put(
        f"{EVENTS}/{event}", headers=me.headers, json={"calendarDate": DAY, "title": "just a note"}
    )
    assert response.status_code == 200
    assert response.json()["completedActivity"] is None and response.json()["compliance"] is None
    assert calendar(client, me, DAY)[0]["completedActivity"] is None
    assert activity(client, me, ride)["calendarEventId"] is None


def test_moving_the_plan_to_another_day_lets_go_and_moving_it_back_links_again(
    client, me: Caller, ride: dict
):
    event = plan(client, me, DAY, 45)
    body = {"calendarDate": "2030-01-01", "embedWorkout": {"title": "Plan", "segments": [[45, 70, 70]]}}
    assert client.put(f"{EVENTS}/{event}", headers=me.headers, json=body).json()["completedActivity"] is None
    assert activity(client, me, ride)["calendarEventId"] is None
    moved_back = client.put(
        f"{EVENTS}/{event}", headers=me.headers, json={**body, "calendarDate": DAY}
    ).json()
    assert moved_back["completedActivity"]["id"] == ride["id"]


def test_editing_the_plan_on_its_day_keeps_the_ride(client, me: Caller, ride: dict):
    event = plan(client, me, DAY, 45)
    body = {"calendarDate": DAY, "embedWorkout": {"title": "Longer", "segments": [[60, 75, 75]]}}
    edited = client.put(f"{EVENTS}/{event}", headers=me.headers, json=body).json()
    assert edited["completedActivity"]["id"] == ride["id"]
    assert edited["compliance"]["durationRatio"] == pytest.approx(ride["timerSeconds"] / 3600, abs=0.001)


def test_a_second_plan_on_the_day_does_not_steal_the_ride(client, me: Caller, ride: dict):
    first = plan(client, me, DAY, 45)
    second = plan(client, me, DAY, 39)  # closer in duration, but the ride is taken
    assert activity(client, me, ride)["calendarEventId"] == first
    assert {e["id"]: e["completedActivity"] for e in calendar(client, me, DAY)}[second] is None
