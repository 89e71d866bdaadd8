"""The training calendar: planned workouts and notes by day. No HTTP here.

Every change bumps the athlete's data revision in the same transaction, which is what keeps cached
calendar reads exact (see ``trainerday_server.cache``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from trainerday_server.activities.compliance import compliance
from trainerday_server.activities.linking import keep_completion_true
from trainerday_server.athlete.service import bump_data_revision, current_ftp
from trainerday_server.errors import NotFound, ValidationFailed
from trainerday_server.models import Activity, CalendarEvent
from trainerday_server.schemas import wire_timestamp
from trainerday_server.workouts import service as workouts
from trainerday_server.workouts.service import WorkoutDraft
from trainerday_server.workouts.structure import Workout, stored_workout

MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class EventDraft:
    calendar_date: dt.date
    type: str | None
    title: str | None
    notes: str | None
    workout: WorkoutDraft | None
    workout_id: int | None = None  # a library workout to copy, or the source of ``workout``


def check_range(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise ValidationFailed.single("endDate", f"{end} is before startDate {start}")
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        raise ValidationFailed.single(
            "endDate", f"the range spans {days} days; at most {MAX_RANGE_DAYS} are allowed"
        )


def _planned_workout(session: Session, athlete_id: int, draft: EventDraft) -> dict[str, Any]:
    """The workout an event plans: the one sent, else a copy of the library workout (see docs/api.md)."""
    source = None
    if draft.workout_id is not None:
        source = workouts.find_workout(session, athlete_id, draft.workout_id)
        if source is None:
            raise ValidationFailed.single(
                "workoutId", f"no workout with id {draft.workout_id} in your library"
            )
    if draft.workout is not None:
        return workouts.planned_json(*draft.workout.parse("embedWorkout"))
    if source is None:
        raise ValidationFailed.single("embedWorkout", "a workout event needs embedWorkout or workoutId")
    return workouts.planned_json(workouts.as_workout(source), source.duration_minutes)


def _event_fields(session: Session, athlete_id: int, draft: EventDraft) -> dict[str, Any]:
    """Validate a draft and resolve its defaults into column values."""
    carries_workout = draft.workout is not None or draft.workout_id is not None
    kind = draft.type or ("workout" if carries_workout else "note")
    if kind == "workout":
        workout = _planned_workout(session, athlete_id, draft)
        title = draft.title or workout["title"]
    else:
        if carries_workout:
            field = "embedWorkout" if draft.workout is not None else "workoutId"
            raise ValidationFailed.single(field, "a note cannot carry a workout; use type workout")
        if not (draft.title or draft.notes):
            raise ValidationFailed.single("title", "a note needs a title or notes")
        workout, title = None, draft.title
    return {
        "calendar_date": draft.calendar_date,
        "type": kind,
        "title": title,
        "notes": draft.notes,
        "workout": workout,
        "workout_id": draft.workout_id,
    }


def create_event(session: Session, athlete_id: int, draft: EventDraft) -> CalendarEvent:
    event = CalendarEvent(athlete_id=athlete_id, **_event_fields(session, athlete_id, draft))
    session.add(event)
    bump_data_revision(session, athlete_id)
    session.flush()
    keep_completion_true(session, event)
    return event


def get_event(session: Session, athlete_id: int, event_id: int) -> CalendarEvent:
    """The athlete's event; another athlete's id is as absent as a missing one."""
    event = session.scalar(
        sa.select(CalendarEvent).where(CalendarEvent.id == event_id, CalendarEvent.athlete_id == athlete_id)
    )
    if event is None:
        raise NotFound(f"no calendar event with id {event_id}")
    return event


def replace_event(session: Session, athlete_id: int, event_id: int, draft: EventDraft) -> CalendarEvent:
    event = get_event(session, athlete_id, event_id)
    for column, value in _event_fields(session, athlete_id, draft).items():
        setattr(event, column, value)
    bump_data_revision(session, athlete_id)
    session.flush()
    keep_completion_true(session, event)
    return event


def move_event(session: Session, athlete_id: int, event_id: int, day: dt.date) -> CalendarEvent:
    """Only the date changes: a planned workout keeps its own copy, even if the library's has changed."""
    event = get_event(session, athlete_id, event_id)
    event.calendar_date = day
    bump_data_revision(session, athlete_id)
    session.flush()
    keep_completion_true(session, event)
    return event


def delete_event(session: Session, athlete_id: int, event_id: int) -> None:
    session.delete(get_event(session, athlete_id, event_id))
    bump_data_revision(session, athlete_id)
    session.flush()


def event_json(event: CalendarEvent, ftp: int, completed: dict[str, Any] | None = None) -> dict[str, Any]:
    """An event as the API shows it, with its workout's planned metrics at ``ftp``; ``completed`` is the
    linked activity's ``_completed_json``."""
    workout = event.workout
    planned = None if workout is None else workouts.planned_for(workout["segments"], ftp)
    return {
        "id": event.id,
        "calendarDate": event.calendar_date.isoformat(),
        "type": event.type,
        "title": event.title,
        "notes": event.notes,
        "embedWorkout": workout,
        "workoutId": event.workout_id,
        "metrics": None if planned is None else planned[1],
        "createdAt": wire_timestamp(event.created_at),
        "updatedAt": wire_timestamp(event.updated_at),
        "completedActivity": completed,
        "compliance": None
        if planned is None or completed is None
        else compliance(
            planned[0].duration_seconds, planned[0].tss, completed["durationSeconds"], completed["tss"]
        ),
    }


def _completed_json(activity_id: int, name: str, duration_seconds: int, tss: float | None) -> dict[str, Any]:
    return {"id": activity_id, "name": name, "durationSeconds": duration_seconds, "tss": tss}


def one_event_json(session: Session, athlete_id: int, event: CalendarEvent) -> dict[str, Any]:
    """One event exactly as the calendar read shows it, the ride that completed it included."""
    done = session.execute(
        sa.select(Activity.id, Activity.name, Activity.timer_seconds, Activity.tss).where(
            Activity.calendar_event_id == event.id
        )
    ).first()
    completed = None if done is None else _completed_json(*done)
    return event_json(event, current_ftp(session, athlete_id), completed)


def calendar_body(session: Session, athlete_id: int, start: dt.date, end: dt.date) -> bytes:
    """The serialized ``{"data": [...]}`` for a date range, ordered by date then creation: planned metrics
    at the athlete's current FTP and, for a planned workout that a ride completed, that ride and the
    compliance."""
    ftp = current_ftp(session, athlete_id)
    rows = session.execute(
        sa.select(CalendarEvent, Activity.id, Activity.name, Activity.timer_seconds, Activity.tss)
        .outerjoin(Activity, Activity.calendar_event_id == CalendarEvent.id)
        .where(
            CalendarEvent.athlete_id == athlete_id,
            CalendarEvent.calendar_date >= start,
            CalendarEvent.calendar_date <= end,
        )
        .order_by(CalendarEvent.calendar_date, CalendarEvent.id)
    )
    return orjson.dumps(
        {
            "data": [
                event_json(event, ftp, None if done is None else _completed_json(done, name, seconds, tss))
                for event, done, name, seconds, tss in rows
            ]
        }
    )


def event_workout(session: Session, athlete_id: int, event_id: int) -> Workout:
    """The workout an event plans, for export and charts; a note has none."""
    event = get_event(session, athlete_id, event_id)
    if event.workout is None:
        raise NotFound(f"calendar event {event_id} is a note: it plans no workout")
    return stored_workout(event.workout)
