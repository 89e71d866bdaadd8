"""The workout library: an athlete's own workouts, searchable, importable and exportable. No HTTP here.

Planned metrics are computed for every read at the athlete's current FTP (see ``planned_for``). Find's
filters use two metrics stored with each workout: its duration and its dominant zone. Neither depends on FTP
(zones are fractions of FTP, so every second keeps its zone whatever the FTP), which makes the stored values
exact for any FTP and the filters agree with the ``metrics`` each result shows.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from trainerday_server.athlete.service import bump_data_revision
from trainerday_server.errors import NotFound
from trainerday_server.models import LibraryWorkout
from trainerday_server.schemas import wire_timestamp
from trainerday_server.webhooks import outbox
from trainerday_server.workouts.formats import import_workout
from trainerday_server.workouts.metrics import PlannedMetrics, planned_metrics
from trainerday_server.workouts.structure import (
    Workout,
    check_duration,
    parse_workout,
    stored_segments,
)

# Metrics remembered per process, for the workouts read lately: about 250 bytes each.
_MEMO_ENTRIES = 4096
_metrics_memo: OrderedDict[tuple[bytes, int], tuple[PlannedMetrics, orjson.Fragment]] = OrderedDict()
_memo_lock = threading.Lock()


@dataclass(frozen=True)
class WorkoutDraft:
    """A workout as a client sent it (library body or calendar ``embedWorkout``), not yet validated."""

    title: str
    description: str | None
    tags: list[str] | None
    duration_minutes: float | None
    segments: list[Any]  # wire form

    def parse(self, path: str) -> tuple[Workout, float]:
        """The validated workout and its duration in minutes; error fields are named under ``path``."""
        raw = {
            "title": self.title,
            "description": self.description,
            "tags": self.tags,
            "segments": self.segments,
        }
        workout = parse_workout(raw, path)
        return workout, check_duration(self.duration_minutes, workout.segments, path)


@dataclass(frozen=True)
class PreparedWorkout:
    """A validated workout whose metrics are already computed (remembered by ``planned_for``): storing it
    is a few statements, so a write transaction holding SQLite's lock never waits on parsing or numpy."""

    workout: Workout
    duration_minutes: float


def prepare(draft: WorkoutDraft, ftp: int, path: str = "") -> PreparedWorkout:
    """Validate ``draft`` and compute its metrics at ``ftp``, before any transaction begins."""
    workout, minutes = draft.parse(path)
    planned_for([s.to_json() for s in workout.segments], ftp)
    return PreparedWorkout(workout, minutes)


def prepare_file(content: bytes, filename: str | None, ftp: int) -> PreparedWorkout:
    """Read a ZWO, ERG, MRC or FIT file (watts at ``ftp``) and compute its metrics, before any transaction."""
    workout = import_workout(content, filename, ftp)
    planned_for([s.to_json() for s in workout.segments], ftp)
    return PreparedWorkout(workout, workout.minutes)


def _prepared(draft: WorkoutDraft | PreparedWorkout) -> tuple[Workout, float]:
    if isinstance(draft, PreparedWorkout):
        return draft.workout, draft.duration_minutes
    return draft.parse("")


@dataclass(frozen=True)
class WorkoutFilter:
    """Find's criteria; None means any. Minutes bound the duration, both ends inclusive."""

    name: str | None = None
    dominant_zone: int | None = None
    from_minutes: float | None = None
    to_minutes: float | None = None


def planned_json(workout: Workout, duration_minutes: float) -> dict[str, Any]:
    """A workout as a calendar event plans it: the wire form of ``embedWorkout``."""
    return {
        "title": workout.title,
        "description": workout.description,
        "tags": list(workout.tags),
        "durationMinutes": duration_minutes,
        "segments": [s.to_json() for s in workout.segments],
    }


def planned_for(segments: Sequence[Sequence[Any]], ftp: int) -> tuple[PlannedMetrics, orjson.Fragment]:
    """Planned metrics for stored wire-form segments at ``ftp``, and the API's ``metrics`` serialised for
    orjson to embed.

    Remembered per process by content (a digest of the segments' JSON, and the FTP), so a calendar read after
    a write recomputes only the workout that changed rather than every one in the range; content-addressed
    entries can never be stale.
    """
    key = (hashlib.blake2b(orjson.dumps(segments), digest_size=16).digest(), ftp)
    with _memo_lock:
        hit = _metrics_memo.get(key)
        if hit is not None:
            _metrics_memo.move_to_end(key)
            return hit
    metrics = planned_metrics(stored_segments(segments), ftp)
    entry = (metrics, orjson.Fragment(orjson.dumps(metrics.to_json())))
    with _memo_lock:
        _metrics_memo[key] = entry
        if len(_metrics_memo) > _MEMO_ENTRIES:
            _metrics_memo.popitem(last=False)
    return entry


def forget_metrics() -> None:
    """Drop every remembered metric (as a restart or an FTP change would): for measuring cold reads."""
    with _memo_lock:
        _metrics_memo.clear()


def as_workout(row: LibraryWorkout) -> Workout:
    return Workout(
        title=row.title,
        description=row.description,
        tags=tuple(row.tags),
        segments=stored_segments(row.segments),
    )


def workout_json(row: LibraryWorkout, ftp: int) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "description": row.description,
        "tags": row.tags,
        "durationMinutes": row.duration_minutes,
        "segments": row.segments,
        "metrics": planned_for(row.segments, ftp)[1],
        "createdAt": wire_timestamp(row.created_at),
        "updatedAt": wire_timestamp(row.updated_at),
    }


def _store(row: LibraryWorkout, workout: Workout, duration_minutes: float, ftp: int) -> None:
    """Fill ``row``; its metrics at ``ftp`` are remembered for the response. (Duration and dominant zone, the
    stored filter columns, are the same at any FTP.)"""
    row.title = workout.title
    row.search_title = workout.title.casefold()
    row.description = workout.description
    row.tags = list(workout.tags)
    row.segments = [s.to_json() for s in workout.segments]
    row.duration_minutes = duration_minutes
    metrics = planned_for(row.segments, ftp)[0]
    row.duration_seconds = metrics.duration_seconds
    row.dominant_zone = metrics.dominant_zone


def _add(
    session: Session, athlete_id: int, workout: Workout, duration_minutes: float, ftp: int
) -> LibraryWorkout:
    row = LibraryWorkout(athlete_id=athlete_id)
    _store(row, workout, duration_minutes, ftp)
    session.add(row)
    session.flush()
    outbox.emit(session, athlete_id, "workout.created", lambda: workout_json(row, ftp))
    return row


def create_workout(
    session: Session, athlete_id: int, draft: WorkoutDraft | PreparedWorkout, ftp: int
) -> LibraryWorkout:
    """Add a workout; ``ftp``, the athlete's, is the one the response's metrics will be read at."""
    return _add(session, athlete_id, *_prepared(draft), ftp)


def import_workout_file(
    session: Session, athlete_id: int, content: bytes, filename: str | None, ftp: int
) -> LibraryWorkout:
    """Add the workout a ZWO, ERG, MRC or FIT file holds (watts in the file are read at ``ftp``)."""
    workout = import_workout(content, filename, ftp)
    return _add(session, athlete_id, workout, workout.minutes, ftp)


def find_workout(session: Session, athlete_id: int, workout_id: int) -> LibraryWorkout | None:
    return session.scalar(
        sa.select(LibraryWorkout).where(
            LibraryWorkout.id == workout_id, LibraryWorkout.athlete_id == athlete_id
        )
    )


def get_workout(session: Session, athlete_id: int, workout_id: int) -> LibraryWorkout:
    """The athlete's workout; another athlete's id is as absent as a missing one."""
    row = find_workout(session, athlete_id, workout_id)
    if row is None:
        raise NotFound(f"no workout with id {workout_id} in your library")
    return row


def replace_workout(
    session: Session, athlete_id: int, workout_id: int, draft: WorkoutDraft | PreparedWorkout, ftp: int
) -> LibraryWorkout:
    """Replace a library workout. Events planned from it keep their copies (see docs/api.md)."""
    row = get_workout(session, athlete_id, workout_id)
    _store(row, *_prepared(draft), ftp)
    session.flush()
    outbox.emit(session, athlete_id, "workout.updated", lambda: workout_json(row, ftp))
    return row


def delete_workout(session: Session, athlete_id: int, workout_id: int) -> None:
    """Delete a library workout; events planned from it keep their copies and lose their ``workoutId``."""
    session.delete(get_workout(session, athlete_id, workout_id))
    # The foreign key clears the events' workout_id, which the calendar read shows.
    bump_data_revision(session, athlete_id)
    session.flush()
    outbox.emit(session, athlete_id, "workout.deleted", {"id": workout_id})


def list_workouts(
    session: Session, athlete_id: int, criteria: WorkoutFilter, offset: int, limit: int
) -> tuple[list[LibraryWorkout], int]:
    """One page of the athlete's workouts matching ``criteria``, newest first, and how many match in all."""
    where = [LibraryWorkout.athlete_id == athlete_id]
    if criteria.name:
        where.append(LibraryWorkout.search_title.contains(criteria.name.casefold(), autoescape=True))
    if criteria.dominant_zone is not None:
        where.append(LibraryWorkout.dominant_zone == criteria.dominant_zone)
    if criteria.from_minutes is not None:
        where.append(LibraryWorkout.duration_seconds >= criteria.from_minutes * 60)
    if criteria.to_minutes is not None:
        where.append(LibraryWorkout.duration_seconds <= criteria.to_minutes * 60)
    total = session.scalar(sa.select(sa.func.count()).select_from(LibraryWorkout).where(*where)) or 0
    rows = session.scalars(
        sa.select(LibraryWorkout).where(*where).order_by(LibraryWorkout.id.desc()).offset(offset).limit(limit)
    )
    return list(rows), total
