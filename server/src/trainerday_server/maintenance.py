"""Periodic clean-up: what no request will ever need again, deleted in bounded batches.

Run by ``trainerday-server maintenance`` (for cron) and by a timer in each server process
(``TRAINERDAY_MAINTENANCE_INTERVAL_SECONDS``, default hourly; every step is idempotent, so processes running
it at once only repeat each other's work). Each step is its own short transaction, so a long clean-up never
holds SQLite's write lock for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from trainerday_server.activities.storage import FileStorage, LocalFileStorage
from trainerday_server.db import session_scope
from trainerday_server.models import (
    Activity,
    IdempotencyRecord,
    LoginAttempt,
    OAuthAuthorizationCode,
    OAuthToken,
    WebSession,
)

log = logging.getLogger(__name__)

# Retries of an Idempotency-Key are answered from its record for a day (as payment APIs do).
IDEMPOTENCY_RETENTION = dt.timedelta(hours=24)
# Log-in throttling looks back 15 minutes; a day keeps the evidence of an attack for an operator.
LOGIN_ATTEMPT_RETENTION = dt.timedelta(days=1)
# A revoked token's row is only needed to answer "revoked" to a replay for a while.
REVOKED_TOKEN_RETENTION = dt.timedelta(days=1)
# An upload writes its file before its row commits: only files older than any upload are orphans.
ORPHAN_FILE_MIN_AGE = dt.timedelta(hours=1)
BATCH = 1000


@dataclass
class Report:
    """Rows and files deleted, by kind."""

    deleted: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int) -> None:
        self.deleted[kind] = self.deleted.get(kind, 0) + count


def _delete_in_batches(
    sessions: sessionmaker[Session], model: type[Any], condition: sa.ColumnElement[bool]
) -> int:
    total = 0
    while True:
        with session_scope(sessions) as session:
            ids = session.scalars(sa.select(model.id).where(condition).limit(BATCH)).all()
            if ids:
                session.execute(
                    sa.delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False)
                )
        total += len(ids)
        if len(ids) < BATCH:
            return total


def purge_database(sessions: sessionmaker[Session], now: dt.datetime) -> Report:
    """Delete expired and used credentials, old idempotency records and old log-in attempts."""
    report = Report()
    now_seconds = int(now.timestamp())
    # Tokens first: a code is kept while any token of its family may still be presented.
    report.add(
        "oauth_tokens",
        _delete_in_batches(
            sessions,
            OAuthToken,
            sa.or_(
                OAuthToken.refresh_expires_at < now_seconds,
                OAuthToken.revoked_at < now - REVOKED_TOKEN_RETENTION,
            ),
        ),
    )
    live_tokens = sa.select(OAuthToken.id).where(
        OAuthToken.authorization_code_id == OAuthAuthorizationCode.id
    )
    report.add(
        "oauth_codes",
        _delete_in_batches(
            sessions,
            OAuthAuthorizationCode,
            sa.and_(
                OAuthAuthorizationCode.expires_at < now,
                # unused and expired, or used and with no token left to protect from replay
                sa.or_(OAuthAuthorizationCode.used_at.is_(None), ~sa.exists(live_tokens)),
            ),
        ),
    )
    report.add("web_sessions", _delete_in_batches(sessions, WebSession, WebSession.expires_at < now))
    report.add(
        "idempotency_records",
        _delete_in_batches(
            sessions, IdempotencyRecord, IdempotencyRecord.created_at < now - IDEMPOTENCY_RETENTION
        ),
    )
    report.add(
        "login_attempts",
        _delete_in_batches(sessions, LoginAttempt, LoginAttempt.attempted_at < now - LOGIN_ATTEMPT_RETENTION),
    )
    return report


def _stored_files(root: Path, older_than: float) -> Iterator[tuple[str, Path]]:
    base = root / "activities"
    if not base.is_dir():
        return
    for path in base.rglob("*"):
        if path.is_file() and not path.name.startswith(".incoming-"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < older_than:
                    yield path.relative_to(root).as_posix(), path


def purge_orphan_files(sessions: sessionmaker[Session], storage: FileStorage, now: dt.datetime) -> int:
    """Delete stored activity files that no activity names (left by a crash between file and row).

    Only for the local directory storage, which can be listed; an object store has its own lifecycle rules.
    Abandoned temporary files (``.incoming-*``) past the same age are removed too.
    """
    if not isinstance(storage, LocalFileStorage):
        return 0
    cutoff = (now - ORPHAN_FILE_MIN_AGE).timestamp()
    deleted = 0
    candidates = list(_stored_files(storage.root, cutoff))
    for start in range(0, len(candidates), BATCH):
        chunk = dict(candidates[start : start + BATCH])
        with session_scope(sessions) as session:
            known = set(session.scalars(sa.select(Activity.file_key).where(Activity.file_key.in_(chunk))))
        for key, path in chunk.items():
            if key not in known:
                path.unlink(missing_ok=True)
                deleted += 1
    base = storage.root / "activities"
    if base.is_dir():
        for temporary in base.rglob(".incoming-*"):
            with contextlib.suppress(FileNotFoundError):
                if temporary.stat().st_mtime < cutoff:
                    temporary.unlink()
                    deleted += 1
    return deleted


def run_maintenance(write_sessions: sessionmaker[Session], storage: FileStorage, now: dt.datetime) -> Report:
    report = purge_database(write_sessions, now)
    report.add("orphan_files", purge_orphan_files(write_sessions, storage, now))
    return report


async def periodic(
    interval_seconds: float, work: Callable[[], Report], *, first_delay: float | None = None
) -> None:
    """Run ``work`` off the event loop every ``interval_seconds`` until cancelled; failures are logged."""
    await asyncio.sleep(interval_seconds if first_delay is None else first_delay)
    while True:
        started = time.monotonic()
        try:
            report = await run_in_threadpool(work)
            if any(report.deleted.values()):
                log.info("maintenance deleted %s", report.deleted)
        except Exception:
            log.exception("maintenance failed; will try again in %s s", interval_seconds)
        await asyncio.sleep(max(min(1.0, interval_seconds), interval_seconds - (time.monotonic() - started)))
