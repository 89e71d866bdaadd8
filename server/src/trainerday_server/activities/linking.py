"""Planned vs done: which ride completed which planned workout. No HTTP here.

A ride completes a workout planned on its local date. Links are kept true from both sides: an upload links
the ride to the best free plan of its day, and planning (or moving) a workout links the best free ride of its
day; an event moved to another day, or turned into a note, lets go of its ride. "Best" is the closest in
duration (by ratio), then the earliest. The unique constraint on ``activities.calendar_event_id`` makes a
double link impossible; callers hold the athlete's data-revision row lock, which orders them.
"""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from trainerday_server.models import Activity, CalendarEvent


def _mismatch(workout: dict[str, Any] | None, timer_seconds: int) -> float:
    planned = float((workout or {}).get("durationMinutes") or 0) * 60
    return abs(math.log(max(timer_seconds, 1) / planned)) if planned > 0 else math.inf


def plan_for_ride(session: Session, activity: Activity) -> int | None:
    """The id of the planned workout this ride completes, if one on its day is still free."""
    taken = sa.select(Activity.id).where(Activity.calendar_event_id == CalendarEvent.id).exists()
    candidates = session.execute(
        sa.select(CalendarEvent.id, CalendarEvent.workout)
        .where(
            CalendarEvent.athlete_id == activity.athlete_id,
            CalendarEvent.calendar_date == activity.local_date,
            CalendarEvent.type == "workout",
            ~taken,
        )
        .order_by(CalendarEvent.id)
    ).all()
    if not candidates:
        return None
    return int(min(candidates, key=lambda row: _mismatch(row.workout, activity.timer_seconds)).id)


def keep_completion_true(session: Session, event: CalendarEvent) -> None:
    """After an event was planned or changed: drop a link its day or type no longer supports, and link a
    free ride of its day if it is a workout without one."""
    linked = session.scalar(sa.select(Activity).where(Activity.calendar_event_id == event.id))
    if linked is not None:
        if event.type == "workout" and linked.local_date == event.calendar_date:
            return
        linked.calendar_event_id = None
        session.flush()
    if event.type != "workout":
        return
    rides = session.scalars(
        sa.select(Activity)
        .where(
            Activity.athlete_id == event.athlete_id,
            Activity.local_date == event.calendar_date,
            Activity.calendar_event_id.is_(None),
        )
        .order_by(Activity.id)
    ).all()
    if rides:
        best = min(rides, key=lambda ride: _mismatch(event.workout, ride.timer_seconds))
        best.calendar_event_id = event.id
        session.flush()
