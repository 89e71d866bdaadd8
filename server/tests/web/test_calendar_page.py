"""/calendar: the month grid with workouts, notes and rides, weekly totals, add/move/delete; the iCal feed."""

from __future__ import annotations

import datetime as dt
import re

import icalendar
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.conftest import Caller
from tests.web.pages import logged_in, messages, submit
from trainerday_server.models import CalendarEvent

MONTH = "2026-03"
# 10 min at 50 %, 20 min at 100 %, 10 min at 50 %: TSS = 100 * sum(seconds * IF^2) / 3600, with NP = the
# 30 s rolling 4th-power mean; we check the figures shown against the API's, which computes them once.
SEGMENTS = [[10, 50, 50], [20, 100, 100], [10, 50, 50]]


def make_workout(client: TestClient, caller: Caller, title: str = "Threshold 2x10") -> int:
    response = client.post(
        "/api/v1/workouts", headers=caller.headers, json={"title": title, "segments": SEGMENTS}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def plan(client: TestClient, caller: Caller, day: str, **body) -> dict:
    response = client.post(
        "/api/v1/calendar/events", headers=caller.headers, json={"calendarDate": day, **body}
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_the_month_shows_workouts_with_profiles_notes_and_weekly_planned_totals(
    browser: TestClient, client: TestClient, me: Caller
):
    workout_id = make_workout(client, me)
    first = plan(client, me, "2026-03-03", workoutId=workout_id)
    second = plan(client, me, "2026-03-05", workoutId=workout_id, title="Again")
    plan(client, me, "2026-03-04", type="note", title="Travel day", notes="Hotel gym only")
    logged_in(browser, me.athlete.email)
    page = browser.get("/calendar", params={"month": MONTH}).text
    assert "<h1>March 2026</h1>" in page
    assert page.count('<svg class="mini"') == 2 and "Threshold 2x10" in page and "Again" in page
    assert "Travel day" in page and "Hotel gym only" in page
    # The week of 2 March: both workouts' TSS and time, summed here from the API's own figures.
    tss = first["metrics"]["tss"] + second["metrics"]["tss"]
    seconds = first["metrics"]["durationSeconds"] + second["metrics"]["durationSeconds"]
    expected = f"{seconds // 3600}:{seconds % 3600 // 60:02d} h · TSS {tss:.0f}"
    assert f'<span class="label">Planned</span> {expected}' in page
    assert 'href="/calendar?month=2026-02"' in page and 'href="/calendar?month=2026-04"' in page


def test_adding_moving_and_deleting_events_from_the_page(
    browser: TestClient, client: TestClient, me: Caller, db
):
    workout_id = make_workout(client, me)
    logged_in(browser, me.athlete.email)
    page_url = f"/calendar?month={MONTH}"
    added = submit(
        browser,
        page_url,
        "/calendar/events",
        {"date": "2026-03-10", "kind": "workout", "workout_id": str(workout_id)},
    )
    assert added.status_code == 303 and added.headers["location"] == "/calendar?month=2026-03"
    note = submit(
        browser, page_url, "/calendar/events", {"date": "2026-03-11", "kind": "note", "title": "Rest"}
    )
    assert note.status_code == 303
    with db.engine.connect() as conn:
        events = conn.execute(
            sa.select(CalendarEvent.id, CalendarEvent.type, CalendarEvent.calendar_date).order_by(
                CalendarEvent.id
            )
        ).all()
    assert [(e.type, e.calendar_date) for e in events] == [
        ("workout", dt.date(2026, 3, 10)),
        ("note", dt.date(2026, 3, 11)),
    ]
    moved = submit(browser, page_url, f"/calendar/events/{events[0].id}/move", {"date": "2026-04-02"})
    assert moved.status_code == 303 and moved.headers["location"] == "/calendar?month=2026-04"
    api_event = client.get(f"/api/v1/calendar/events/{events[0].id}", headers=me.headers).json()
    assert api_event["calendarDate"] == "2026-04-02" and api_event["embedWorkout"]["segments"] == SEGMENTS
    deleted = submit(browser, page_url, f"/calendar/events/{events[1].id}/delete", {"month": MONTH})
    assert deleted.status_code == 303
    with db.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(CalendarEvent)) == 1


def test_bad_calendar_input_is_refused_and_other_athletes_events_are_not_found(
    browser: TestClient, client: TestClient, me: Caller, factory, db
):
    other = factory.athlete()
    other_caller = Caller(other, factory.key(other.id))
    theirs = plan(client, other_caller, "2026-03-03", type="note", title="Mine")
    logged_in(browser, me.athlete.email)
    page_url = f"/calendar?month={MONTH}"
    assert browser.get("/calendar", params={"month": "2026-13"}).status_code == 400
    assert browser.get("/calendar", params={"month": "x" * 5000}).status_code == 400
    for fields, error in [
        ({"date": "someday", "kind": "note", "title": "x"}, "YYYY-MM-DD"),
        ({"date": "2026-03-01", "kind": "note"}, "a note needs a title or notes"),
        ({"date": "2026-03-01", "kind": "workout", "workout_id": ""}, "choose a workout"),
        ({"date": "2026-03-01", "kind": "workout", "workout_id": "999999"}, "no workout with id 999999"),
    ]:
        response = submit(browser, page_url, "/calendar/events", fields)
        assert response.status_code == 400, fields
        assert any(error in m for m in messages(response.text)), (fields, messages(response.text))
    assert (
        submit(browser, page_url, f"/calendar/events/{theirs['id']}/move", {"date": "2026-03-09"}).status_code
        == 404
    )
    assert submit(browser, page_url, f"/calendar/events/{theirs['id']}/delete").status_code == 404
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(CalendarEvent.calendar_date)).scalars().all() == [dt.date(2026, 3, 3)]


def test_the_ical_feed_has_the_plan_and_stops_when_rotated(
    browser: TestClient, client: TestClient, me: Caller
):
    today = dt.date.today()
    workout_id = make_workout(client, me)
    event = plan(client, me, today.isoformat(), workoutId=workout_id, notes="Keep cadence high")
    plan(client, me, (today - dt.timedelta(days=200)).isoformat(), type="note", title="Too old for the feed")
    logged_in(browser, me.athlete.email)
    submit(browser, "/settings", "/settings/feed")
    path = re.search(r"http://[^/]+(/calendar/[0-9a-f]{64}\.ics)", browser.get("/settings").text).group(1)
    anonymous = TestClient(browser.app)
    feed = anonymous.get(path)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    parsed = icalendar.Calendar.from_ical(feed.content)
    events = [c for c in parsed.walk("VEVENT")]
    assert len(events) == 1
    (vevent,) = events
    assert str(vevent["summary"]) == "Threshold 2x10"
    assert vevent.decoded("dtstart") == today and vevent.decoded("dtend") == today + dt.timedelta(days=1)
    assert f"TSS {event['metrics']['tss']:.0f}" in str(vevent["description"])
    assert "Keep cadence high" in str(vevent["description"])
    submit(browser, "/settings", "/settings/feed")
    assert anonymous.get(path).status_code == 404
    assert anonymous.get("/calendar/" + "0" * 64 + ".ics").status_code == 404
    assert anonymous.get("/calendar/short.ics").status_code == 404
