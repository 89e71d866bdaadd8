"""The export archive, written as it is sent: JSON per resource, then every original activity file.

Nothing is built whole in memory: ``zipfile`` writes to a sink that the generator empties after every
entry and every megabyte, so the memory held is one batch of rows or one original file, whatever the
archive's size. Each section reads in its own short read transaction (a slow download never holds a
database connection between chunks).

Layout::

    athlete.json        the profile with zones, and the FTP history
    calendar.json       every event, as the calendar read shows it
    workouts.json       the workout library
    activities.json     every ride with all its metrics (as GET /activities/{id})
    api_keys.json       the personal API keys (names, hints and scopes; never the keys)
    connections.json    the OAuth apps that can act for the athlete
    files/<activity id>.<format>[.gz]   each ride's original upload, byte for byte
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zipfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from trainerday_server.activities.service import activity_json
from trainerday_server.activities.storage import FileStorage
from trainerday_server.athlete.schemas import AthleteOut
from trainerday_server.athlete.service import current_ftp, ftp_history, get_athlete, profile
from trainerday_server.calendar.service import one_event_json
from trainerday_server.db import session_scope
from trainerday_server.models import Activity, ApiKey, CalendarEvent, LibraryWorkout
from trainerday_server.oauth2.service import connections
from trainerday_server.workouts.service import workout_json

CHUNK_BYTES = 1024 * 1024
BATCH = 200


class _Sink:
    """A write-only file for ``zipfile`` (which then streams, with data descriptors): collects what is
    written until ``take`` hands it on."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return data


def _stamp(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _athlete(session: Session, athlete_id: int) -> Any:
    body = AthleteOut.model_validate(profile(get_athlete(session, athlete_id))).model_dump(
        mode="json", by_alias=True
    )
    body["ftpHistory"] = [
        {"effectiveDate": h.effective_date.isoformat(), "ftp": h.ftp}
        for h in ftp_history(session, athlete_id)
    ]
    return body


def _batched_ids(sessions: sessionmaker[Session], id_column: Any, condition: Any) -> Iterator[list[int]]:
    last = 0
    while True:
        with session_scope(sessions) as session:
            ids = list(
                session.scalars(
                    sa.select(id_column).where(condition, id_column > last).order_by(id_column).limit(BATCH)
                )
            )
        if not ids:
            return
        yield ids
        last = ids[-1]


def export_archive(
    read_sessions: sessionmaker[Session], storage: FileStorage, athlete_id: int, now: dt.datetime
) -> Iterator[bytes]:
    """The zip, chunk by chunk (see the module docstring)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:

        def write_json(name: str, value: Any) -> bytes:
            archive.writestr(name, orjson.dumps(value, option=orjson.OPT_INDENT_2))
            return sink.take()

        def write_list(
            name: str, id_column: Any, condition: Any, render: Callable[[Session, list[int]], Iterable[Any]]
        ) -> Iterator[bytes]:
            with archive.open(name, "w") as entry:
                entry.write(b"[")
                first = True
                for ids in _batched_ids(read_sessions, id_column, condition):
                    with session_scope(read_sessions) as session:
                        for item in render(session, ids):
                            entry.write((b"\n" if first else b",\n") + orjson.dumps(item))
                            first = False
                    if sink.size >= CHUNK_BYTES:
                        yield sink.take()
                entry.write(b"\n]\n")
            yield sink.take()

        with session_scope(read_sessions) as session:
            athlete = _athlete(session, athlete_id)
            keys = [
                {
                    "id": k.id,
                    "name": k.name,
                    "hint": k.hint,
                    "scopes": k.scopes.split(),
                    "createdAt": _stamp(k.created_at),
                    "lastUsedAt": _stamp(k.last_used_at),
                    "revokedAt": _stamp(k.revoked_at),
                }
                for k in session.scalars(
                    sa.select(ApiKey).where(ApiKey.athlete_id == athlete_id).order_by(ApiKey.id)
                )
            ]
            apps = [
                {
                    **{k: v for k, v in dataclasses.asdict(c).items() if not isinstance(v, dt.datetime)},
                    "connectedAt": _stamp(c.connected_at),
                    "lastUsedAt": _stamp(c.last_used_at),
                }
                for c in connections(session, athlete_id, now)
            ]
            ftp = current_ftp(session, athlete_id)
        yield write_json("athlete.json", athlete)

        def events(session: Session, ids: list[int]) -> Iterator[Any]:
            rows = session.scalars(
                sa.select(CalendarEvent).where(CalendarEvent.id.in_(ids)).order_by(CalendarEvent.id)
            )
            for event in rows:
                yield one_event_json(session, athlete_id, event)

        yield from write_list(
            "calendar.json", CalendarEvent.id, CalendarEvent.athlete_id == athlete_id, events
        )

        def library(session: Session, ids: list[int]) -> Iterator[Any]:
            rows = session.scalars(
                sa.select(LibraryWorkout).where(LibraryWorkout.id.in_(ids)).order_by(LibraryWorkout.id)
            )
            for row in rows:
                yield workout_json(row, ftp)

        yield from write_list(
            "workouts.json", LibraryWorkout.id, LibraryWorkout.athlete_id == athlete_id, library
        )

        def rides(session: Session, ids: list[int]) -> Iterator[Any]:
            for activity in session.scalars(
                sa.select(Activity).where(Activity.id.in_(ids)).order_by(Activity.id)
            ):
                yield activity_json(activity, detail=True)

        yield from write_list("activities.json", Activity.id, Activity.athlete_id == athlete_id, rides)
        yield write_json("api_keys.json", keys)
        yield write_json("connections.json", apps)
        yield from _original_files(archive, sink, read_sessions, storage, athlete_id)
    yield sink.take()  # the central directory


def _original_files(
    archive: zipfile.ZipFile,
    sink: _Sink,
    read_sessions: sessionmaker[Session],
    storage: FileStorage,
    athlete_id: int,
) -> Iterator[bytes]:
    for ids in _batched_ids(read_sessions, Activity.id, Activity.athlete_id == athlete_id):
        with session_scope(read_sessions) as session:
            files = session.execute(
                sa.select(Activity.id, Activity.file_key, Activity.file_format, Activity.file_gzipped)
                .where(Activity.id.in_(ids))
                .order_by(Activity.id)
            ).all()
        for activity_id, key, file_format, gzipped in files:
            try:
                data = storage.read(key)
            except FileNotFoundError:
                continue  # deleted since the list was read
            name = f"files/{activity_id}.{file_format}{'.gz' if gzipped else ''}"
            # Stored, not deflated: the originals are compressed already or small, and this keeps CPU low.
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            with archive.open(info, "w", force_zip64=len(data) > 2**31 - 1) as entry:
                for start in range(0, len(data), CHUNK_BYTES):
                    entry.write(data[start : start + CHUNK_BYTES])
                    yield sink.take()
            del data
