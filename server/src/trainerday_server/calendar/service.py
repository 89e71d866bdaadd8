"""The training calendar: planned workouts and notes by day. No HTTP here.

Every change bumps the athlete's data revision in the same transaction, which is what keeps cached
calendar reads exact (see ``trainerday_server.cache``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from trainerday_server.activities.compliance import compliance
from trainerday_server.athlete.service import bump_data_revision
from trainerday_server.errors import NotFound, ValidationFailed
from trainerday_server.models import Activity, CalendarEvent
from trainerday_server.workouts.metrics import planned_metrics
from trainerday_server.workouts.structure import check_duration, parse_segments

MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class WorkoutDraft:
    title: str
    duration_minutes: float | None
    segments: list[Any]  # wire form, validated by workouts.structure


@dataclass(frozen=True)
class EventDraft:
    calendar_date: dt.date
    type: str | None
    title: str | None
    notes: str | None
    workout: WorkoutDraft | None


def check_range(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise ValidationFailed.single("endDate", f"{end} is before startDate {start}")
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        raise ValidationFailed.single(
            "endDate", f"the range spans {days} days; at most {MAX_RANGE_DAYS} are allowed"
        )


def _workout_json(draft: WorkoutDraft) -> dict[str, Any]:
    segments = parse_segments(draft.segments, "embedWorkout.segments")
    duration = check_duration(draft.duration_minutes, segments, "embedWorkout")
    return {"title": draft.title, "durationMinutes": duration, "segments": [s.to_json() for s in segments]}


def _event_fields(draft: EventDraft) -> dict[str, Any]:
    """Validate a draft and resolve its defaults into column values."""
    kind = draft.type or ("workout" if draft.workout is not None else "note")
    if kind == "workout":
        if draft.workout is None:
            raise ValidationFailed.single("embedWorkout", "is required for a workout event")
        workout = _workout_json(draft.workout)
        title = draft.title or workout["title"]
    else:
        if draft.workout is not None:
            raise ValidationFailed.single("embedWorkout", "a note cannot carry a workout; use type workout")
        if not (draft.title or draft.notes):
            raise ValidationFailed.single("title", "a note needs a title or notes")
        workout, title = None, draft.title
    return {
        "calendar_date": draft.calendar_date,
        "type": kind,
        "title": title,
        "notes": draft.notes,
        "workout": workout,
    }


def create_event(session: Session, athlete_id: int, draft: EventDraft) -> CalendarEvent:
    event = CalendarEvent(athlete_id=athlete_id, **_event_fields(draft))
    session.add(event)
    bump_data_revision(session, athlete_id)
    session.flush()
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
    for column, value in _event_fields(draft).items():
        setattr(event, column, value)
    bump_data_revision(session, athlete_id)
    session.flush()
    return event


def delete_event(session: Session, athlete_id: int, event_id: int) -> None:
    session.delete(get_event(session, athlete_id, event_id))
    bump_data_revision(session, athlete_id)
    session.flush()


def _timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_json(event: CalendarEvent, completed: dict[str, Any] | None = None) -> dict[str, Any]:
    """An event as the API shows it; ``completed`` is the linked activity's ``_completed_json``."""
    return {
        "id": event.id,
        "calendarDate": event.calendar_date.isoformat(),
        "type": event.type,
        "title": event.title,
        "notes": event.notes,
        "embedWorkout": event.workout,
        "workoutId": None,
        "createdAt": _timestamp(event.created_at),
        "updatedAt": _timestamp(event.updated_at),
        "completedActivity": completed,
        "compliance": _compliance(event, completed) if completed else None,
    }


def _completed_json(activity_id: int, name: str, duration_seconds: int, tss: float | None) -> dict[str, Any]:
    return {"id": activity_id, "name": name, "durationSeconds": duration_seconds, "tss": tss}


def _compliance(event: CalendarEvent, completed: dict[str, Any]) -> dict[str, Any] | None:
    """Planned (the embedded workout's duration and TSS) against done (timer time and TSS)."""
    workout = event.workout
    if workout is None:
        return None
    planned_tss = _planned_tss(orjson.dumps(workout["segments"]))
    return compliance(
        float(workout["durationMinutes"]) * 60, planned_tss, completed["durationSeconds"], completed["tss"]
    )


@lru_cache(maxsize=4096)
def _planned_tss(segments: bytes) -> float:
    """A plan's TSS from its segments (JSON), remembered: it costs ~200 us, the calendar read ~5 us per event.

    Segments are percentages of FTP, so the TSS does not depend on which FTP they are applied to.
    """
    return planned_metrics(parse_segments(orjson.loads(segments), "embedWorkout.segments"), ftp=100).tss


def calendar_body(session: Session, athlete_id: int, start: dt.date, end: dt.date) -> bytes:
    """The serialized ``{"data": [...]}`` for a date range, ordered by date then creation; a planned workout
    that a ride completed shows that activity and the compliance."""
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
                event_json(event, None if done is None else _completed_json(done, name, seconds, tss))
                for event, done, name, seconds, tss in rows
            ]
        }
    )
