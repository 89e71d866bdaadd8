"""``/calendar``: the month grid (planned workouts with their mini power profile, notes, rides and their
compliance, weekly totals), adding, moving and deleting events; and the secret iCal feed."""

from __future__ import annotations

import calendar as monthcal
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import icalendar
import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from trainerday_server.athlete.service import get_athlete, today_for
from trainerday_server.calendar import feed
from trainerday_server.calendar import service as calendar
from trainerday_server.deps import SessionDep
from trainerday_server.errors import NotFound, TrainerDayError, ValidationFailed
from trainerday_server.models import Activity, LibraryWorkout
from trainerday_server.schemas import IdPath
from trainerday_server.web.charts import mini_profile
from trainerday_server.web.common import AthletePage, AthletePageDep, error_message
from trainerday_server.web.common import field as form_field
from trainerday_server.web.forms import FormDep, text
from trainerday_server.web.routes import expired_form, redirect
from trainerday_server.web.templates import render
from trainerday_server.workouts.structure import stored_segments

router = APIRouter(include_in_schema=False)

FEED_DAYS_BACK = 90
FEED_DAYS_AHEAD = 366


@dataclass
class Day:
    date: dt.date
    in_month: bool
    events: list[dict[str, Any]] = field(default_factory=list)
    rides: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Week:
    days: list[Day]
    planned_tss: float = 0.0
    planned_seconds: float = 0.0
    done_tss: float = 0.0
    done_seconds: float = 0.0


def parse_month(value: str | None, today: dt.date) -> dt.date:
    if not value:
        return today.replace(day=1)
    try:
        year, month = value.split("-")
        first = dt.date(int(year), int(month), 1)
    except ValueError:
        raise ValidationFailed.single("month", f"{value[:20]!r} is not a month: use YYYY-MM") from None
    if not 1900 <= first.year <= 2200:
        raise ValidationFailed.single("month", "must be between 1900 and 2200")
    return first


def month_grid(session: Session, athlete_id: int, first: dt.date) -> list[Week]:
    """The weeks (Monday first) covering the month, with every event and ride of those days."""
    last = first.replace(day=monthcal.monthrange(first.year, first.month)[1])
    start = first - dt.timedelta(days=first.weekday())
    end = last + dt.timedelta(days=6 - last.weekday())
    events = orjson.loads(calendar.calendar_body(session, athlete_id, start, end))["data"]
    rides = session.execute(
        sa.select(Activity.id, Activity.name, Activity.local_date, Activity.timer_seconds, Activity.tss)
        .where(
            Activity.athlete_id == athlete_id,
            Activity.local_date >= start,
            Activity.local_date <= end,
            Activity.calendar_event_id.is_(None),
        )
        .order_by(Activity.start_time)
    ).all()
    days = {
        start + dt.timedelta(days=i): Day(start + dt.timedelta(days=i), False)
        for i in range((end - start).days + 1)
    }
    for day in days.values():
        day.in_month = day.date.month == first.month
    for event in events:
        workout = event["embedWorkout"]
        event["profile"] = None if workout is None else mini_profile(stored_segments(workout["segments"]))
        days[dt.date.fromisoformat(event["calendarDate"])].events.append(event)
    for ride in rides:
        days[ride.local_date].rides.append(
            {"id": ride.id, "name": ride.name, "seconds": ride.timer_seconds, "tss": ride.tss}
        )
    weeks = []
    ordered = list(days.values())
    for i in range(0, len(ordered), 7):
        week = Week(ordered[i : i + 7])
        for day in week.days:
            for event in day.events:
                if event["metrics"]:
                    week.planned_tss += event["metrics"]["tss"]
                    week.planned_seconds += event["metrics"]["durationSeconds"]
                done = event["completedActivity"]
                if done:
                    week.done_tss += done["tss"] or 0
                    week.done_seconds += done["durationSeconds"]
            for free_ride in day.rides:
                week.done_tss += free_ride["tss"] or 0
                week.done_seconds += free_ride["seconds"]
        weeks.append(week)
    return weeks


def _calendar_page(
    request: Request,
    session: Session,
    page: AthletePage,
    first: dt.date,
    *,
    status: int = 200,
    error: str | None = None,
) -> Response:
    athlete = get_athlete(session, page.athlete_id)
    library = session.execute(
        sa.select(LibraryWorkout.id, LibraryWorkout.title, LibraryWorkout.duration_seconds)
        .where(LibraryWorkout.athlete_id == page.athlete_id)
        .order_by(LibraryWorkout.title)
        .limit(500)
    ).all()
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return render(
        request,
        "calendar.html",
        page.visitor,
        status=status,
        error=error,
        month=first,
        month_name=first.strftime("%B %Y"),
        previous=previous.strftime("%Y-%m"),
        following=following.strftime("%Y-%m"),
        weeks=month_grid(session, page.athlete_id, first),
        today=today_for(athlete),
        library=library,
        weekday_names=["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    )


@router.get("/calendar")
def calendar_page(request: Request, page: AthletePageDep, session: SessionDep) -> Response:
    today = today_for(get_athlete(session, page.athlete_id))
    try:
        first = parse_month(request.query_params.get("month"), today)
    except ValidationFailed as exc:
        return _calendar_page(
            request, session, page, today.replace(day=1), status=400, error=error_message(exc)
        )
    return _calendar_page(request, session, page, first)


def _back_to(form: Any, fallback: dt.date) -> str:
    month = text(form, "month")
    try:
        parse_month(month, fallback)
    except ValidationFailed:
        month = fallback.strftime("%Y-%m")
    return f"/calendar?month={month}"


def _date(form: Any, name: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(form_field(form, name, max_length=10))
    except ValueError:
        raise ValidationFailed.single(name, "must be a date, YYYY-MM-DD") from None
    if not 1900 <= day.year <= 2200:  # the months this page can show
        raise ValidationFailed.single(name, "must be between 1900 and 2200")
    return day


@router.post("/calendar/events")
def add_event(request: Request, form: FormDep, page: AthletePageDep, session: SessionDep) -> Response:
    """A note, or a copy of a library workout, on a day."""
    if not page.visitor.check_csrf(request.app.state.secret_key, text(form, "csrf_token")):
        return expired_form(request, page.visitor)
    today = today_for(get_athlete(session, page.athlete_id))
    try:
        day = _date(form, "date")
        kind = form_field(form, "kind", max_length=10)
        title = form_field(form, "title", max_length=200).strip() or None
        notes = form_field(form, "notes", max_length=10_000).strip() or None
        if kind == "workout":
            raw_id = form_field(form, "workout_id", max_length=20)
            if not raw_id.isdigit():
                raise ValidationFailed.single("workout_id", "choose a workout from your library")
            draft = calendar.EventDraft(day, "workout", title, notes, None, int(raw_id))
        elif kind == "note":
            draft = calendar.EventDraft(day, "note", title, notes, None)
        else:
            raise ValidationFailed.single("kind", "must be note or workout")
        calendar.create_event(session, page.athlete_id, draft)
    except TrainerDayError as exc:
        session.rollback()
        return _calendar_page(
            request, session, page, today.replace(day=1), status=400, error=error_message(exc)
        )
    return redirect(f"/calendar?month={day.strftime('%Y-%m')}")


@router.post("/calendar/events/{event_id}/move")
def move_event(
    event_id: IdPath, request: Request, form: FormDep, page: AthletePageDep, session: SessionDep
) -> Response:
    if not page.visitor.check_csrf(request.app.state.secret_key, text(form, "csrf_token")):
        return expired_form(request, page.visitor)
    event = calendar.get_event(session, page.athlete_id, event_id)  # another athlete's: 404
    try:
        day = _date(form, "date")
    except ValidationFailed as exc:
        return _calendar_page(
            request, session, page, event.calendar_date.replace(day=1), status=400, error=error_message(exc)
        )
    calendar.move_event(session, page.athlete_id, event_id, day)
    return redirect(f"/calendar?month={day.strftime('%Y-%m')}")


@router.post("/calendar/events/{event_id}/delete")
def delete_event(
    event_id: IdPath, request: Request, form: FormDep, page: AthletePageDep, session: SessionDep
) -> Response:
    if not page.visitor.check_csrf(request.app.state.secret_key, text(form, "csrf_token")):
        return expired_form(request, page.visitor)
    event = calendar.get_event(session, page.athlete_id, event_id)
    back = _back_to(form, event.calendar_date)
    calendar.delete_event(session, page.athlete_id, event_id)
    return redirect(back)


# --- the iCal feed ---------------------------------------------------------------------------------------


def ical_body(session: Session, athlete_id: int, host: str, today: dt.date) -> bytes:
    """RFC 5545: one all-day VEVENT per event from 90 days back to a year ahead."""
    start, end = today - dt.timedelta(days=FEED_DAYS_BACK), today + dt.timedelta(days=FEED_DAYS_AHEAD)
    events = orjson.loads(calendar.calendar_body(session, athlete_id, start, end))["data"]
    cal = icalendar.Calendar()
    cal.add("prodid", "-//TrainerDay//Training calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "TrainerDay training plan")
    for event in events:
        day = dt.date.fromisoformat(event["calendarDate"])
        item = icalendar.Event()
        item.add("uid", f"event-{event['id']}@{host}")
        item.add("dtstamp", dt.datetime.fromisoformat(event["updatedAt"].replace("Z", "+00:00")))
        item.add("dtstart", day)
        item.add("dtend", day + dt.timedelta(days=1))
        item.add("summary", event["title"] or ("Workout" if event["type"] == "workout" else "Note"))
        lines = []
        if event["metrics"]:
            m = event["metrics"]
            lines.append(
                f"{m['durationSeconds'] // 60} min, TSS {m['tss']:.0f}, IF {m['intensityFactor']:.2f}"
            )
        if event["completedActivity"]:
            done = event["completedActivity"]
            lines.append(f"Done: {done['name']}")
        if event["notes"]:
            lines.append(event["notes"])
        if lines:
            item.add("description", "\n".join(lines))
        item.add("transp", "TRANSPARENT")
        cal.add_component(item)
    return cal.to_ical()


@router.get("/calendar/{token}.ics")
def ical_feed(token: str, request: Request, session: SessionDep) -> Response:
    """No log-in: the secret in the URL is the credential (calendar apps cannot log in)."""
    athlete_id = feed.athlete_for_token(session, request.app.state.secret_key, token)
    if athlete_id is None:
        raise NotFound("no calendar feed at this address (it may have been replaced on /settings)")
    athlete = get_athlete(session, athlete_id)
    host = urlsplit(request.app.state.settings.base_url).hostname or "trainerday"
    return Response(
        ical_body(session, athlete_id, host, today_for(athlete)),
        media_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": "private, max-age=300",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )
