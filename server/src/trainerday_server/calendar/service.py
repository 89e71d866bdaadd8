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
from trainerday_server.webhooks import outbox
from trainerday_server.workouts import service as workouts
from trainerday_server.workouts.service import PreparedWorkout, WorkoutDraft
from trainerday_server.workouts.structure import Workout, stored_workout

MAX_RANGE_DAYS = 366
# What one range read may weigh, serialised. With every workout's segments a year of 2,000-segment workouts
# would be 40 MB; such a read is refused (400) and asked for a shorter range or for summaries
# (``segments=false``), which stay a few hundred bytes an event.
MAX_READ_BYTES = 4 * 1024 * 1024
_ROWS_PER_BATCH = 64  # events loaded at once while a range is read: bounds the memory a read holds


@dataclass(frozen=True)
class EventDraft:
    calendar_date: dt.date
    type: str | None
    title: str | None
    notes: str | None
    workout: WorkoutDraft | PreparedWorkout | None  # prepared: validated and measured before the transaction
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
    if isinstance(draft.workout, PreparedWorkout):
        return workouts.planned_json(draft.workout.workout, draft.workout.duration_minutes)
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
    return create_event_with_json(session, athlete_id, draft)[0]


def create_event_with_json(
    session: Session, athlete_id: int, draft: EventDraft
) -> tuple[CalendarEvent, outbox.Payload]:
    """``create_event``, and the event's JSON as the API shows it: built once, for the answer and for the
    webhook event alike."""
    event = CalendarEvent(athlete_id=athlete_id, **_event_fields(session, athlete_id, draft))
    session.add(event)
    bump_data_revision(session, athlete_id)
    session.flush()
    keep_completion_true(session, event)
    payload = outbox.Payload(lambda: one_event_json(session, athlete_id, event))
    outbox.emit(session, athlete_id, "calendar_event.created", payload)
    return event, payload


def get_event(session: Session, athlete_id: int, event_id: int) -> CalendarEvent:
    """The athlete's event; another athlete's id is as absent as a missing one."""
    event = session.scalar(
        sa.select(CalendarEvent).where(CalendarEvent.id == event_id, CalendarEvent.athlete_id == athlete_id)
    )
    if event is None:
        raise NotFound(f"no calendar event with id {event_id}")
    return event


def replace_event(session: Session, athlete_id: int, event_id: int, draft: EventDraft) -> CalendarEvent:
    return replace_event_with_json(session, athlete_id, event_id, draft)[0]


def replace_event_with_json(
    session: Session, athlete_id: int, event_id: int, draft: EventDraft
) -> tuple[CalendarEvent, outbox.Payload]:
    """``replace_event``, and the event's JSON, built once for the answer and the webhook event."""
    event = get_event(session, athlete_id, event_id)
    for column, value in _event_fields(session, athlete_id, draft).items():
        setattr(event, column, value)
    bump_data_revision(session, athlete_id)
    session.flush()
    keep_completion_true(session, event)
    payload = outbox.Payload(lambda: one_event_json(session, athlete_id, event))
    outbox.emit(session, athlete_id, "calendar_event.updated", payload)
    return event, payload


def move_event(session: Session, athlete_id: int, event_id: int, day: dt.date) -> CalendarEvent:
    """Only the date changes: a planned workout keeps its own copy, even if the library's has changed."""
    event = get_event(session, athlete_id, event_id)
    event.calendar_date = day
    bump_data_revision(session, athlete_id)
    session.flush()
    keep_completion_true(session, event)
    outbox.emit(
        session, athlete_id, "calendar_event.updated", lambda: one_event_json(session, athlete_id, event)
    )
    return event


def delete_event(session: Session, athlete_id: int, event_id: int) -> None:
    session.delete(get_event(session, athlete_id, event_id))
    bump_data_revision(session, athlete_id)
    session.flush()
    outbox.emit(session, athlete_id, "calendar_event.deleted", {"id": event_id})


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


def summarised(event: dict[str, Any]) -> dict[str, Any]:
    """An event's JSON with its workout summarised: ``segmentCount`` in place of ``segments``."""
    workout = event["embedWorkout"]
    if workout is None:
        return event
    summary = {k: v for k, v in workout.items() if k != "segments"}
    summary["segmentCount"] = len(workout["segments"])
    return {**event, "embedWorkout": summary}


def calendar_body(
    session: Session, athlete_id: int, start: dt.date, end: dt.date, *, segments: bool = True
) -> bytes:
    """The serialized ``{"data": [...]}`` for a date range, ordered by date then creation: planned metrics
    at the athlete's current FTP and, for a planned workout that a ride completed, that ride and the
    compliance. ``segments=False`` summarises each workout (``summarised``).

    Rows are loaded a batch at a time and each event serialised as it comes, so a read holds one batch and
    the body; a body past ``MAX_READ_BYTES`` is refused with a 400 naming the range."""
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
        .execution_options(yield_per=_ROWS_PER_BATCH)
    )
    parts: list[bytes] = []
    size = 0
    for event, done, name, seconds, tss in rows:
        body = event_json(event, ftp, None if done is None else _completed_json(done, name, seconds, tss))
        part = orjson.dumps(body if segments else summarised(body))
        size += len(part) + 1
        if size > MAX_READ_BYTES:
            rows.close()
            hint = "ask for a shorter range" + (", or for summaries with segments=false" if segments else "")
            raise ValidationFailed.single(
                "endDate",
                f"the events from {start} to {end} weigh more than the {MAX_READ_BYTES:,} bytes one read may "
                f"return; {hint}",
            )
        parts.append(part)
        session.expunge(event)  # its segments are not needed again: let them go with the batch
    return b'{"data":[' + b",".join(parts) + b"]}"


def event_workout(session: Session, athlete_id: int, event_id: int) -> Workout:
    """The workout an event plans, for export and charts; a note has none."""
    event = get_event(session, athlete_id, event_id)
    if event.workout is None:
        raise NotFound(f"calendar event {event_id} is a note: it plans no workout")
    return stored_workout(event.workout)
