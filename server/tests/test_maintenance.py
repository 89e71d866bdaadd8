"""The clean-up: exactly what no request can need any more is deleted, everything else is kept."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from tests.conftest import IN_REPO_SAMPLES, TEST_SECRET, Database, Factory, run_async
from trainerday_server.activities.storage import LocalFileStorage
from trainerday_server.auth.scopes import ALL_SCOPES
from trainerday_server.db import make_session_factory, session_scope
from trainerday_server.maintenance import Report, periodic, run_maintenance
from trainerday_server.models import (
    Activity,
    IdempotencyRecord,
    LoginAttempt,
    OAuthAuthorizationCode,
    OAuthToken,
    WebSession,
)
from trainerday_server.models.base import utcnow
from trainerday_server.oauth2.service import create_client

NOW = utcnow().replace(microsecond=0)
HOUR = dt.timedelta(hours=1)


def _code(session, client_pk: int, athlete_id: int, name: str, *, expired: bool, used: bool) -> int:  # type: ignore[no-untyped-def]
    row = OAuthAuthorizationCode(
        code_hash=name.ljust(64, "0"),
        client_pk=client_pk,
        athlete_id=athlete_id,
        redirect_uri="https://app.example/cb",
        scope="athlete:read",
        expires_at=NOW - HOUR if expired else NOW + HOUR,
        used_at=NOW - 2 * HOUR if used else None,
    )
    session.add(row)
    session.flush()
    return row.id


def _token(session, code_id: int, client_pk: int, athlete_id: int, name: str, **kw: object) -> int:  # type: ignore[no-untyped-def]
    now_s = int(NOW.timestamp())
    row = OAuthToken(
        authorization_code_id=code_id,
        client_pk=client_pk,
        athlete_id=athlete_id,
        scope="athlete:read",
        access_token_hash=("a" + name).ljust(64, "0"),
        refresh_token_hash=("r" + name).ljust(64, "0"),
        issued_at=now_s - 7200,
        expires_at=now_s - 3600,
        refresh_expires_at=kw.pop("refresh_expires_at", now_s + 86400),  # type: ignore[arg-type]
        **kw,
    )
    session.add(row)
    session.flush()
    return row.id


def test_maintenance_deletes_exactly_the_dead_rows_and_orphan_files(
    db: Database, factory: Factory, tmp_path: Path
) -> None:
    sessions = make_session_factory(db.engine, writer=True)
    athlete = factory.athlete()
    now_s = int(NOW.timestamp())
    with session_scope(sessions) as s:
        client = create_client(
            s, TEST_SECRET.encode(), name="App", redirect_uris=["https://app.example/cb"],
            scopes=ALL_SCOPES, public=False,
        ).client  # fmt: skip
        cp, aid = client.id, athlete.id
        unused_expired = _code(s, cp, aid, "c1", expired=True, used=False)
        unused_live = _code(s, cp, aid, "c2", expired=False, used=False)
        used_with_live_token = _code(s, cp, aid, "c3", expired=True, used=True)
        used_all_dead = _code(s, cp, aid, "c4", expired=True, used=True)
        live = _token(s, used_with_live_token, cp, aid, "t1")
        rotated_live = _token(s, used_with_live_token, cp, aid, "t2", refresh_used_at=NOW - HOUR)
        expired = _token(s, used_all_dead, cp, aid, "t3", refresh_expires_at=now_s - 1)
        revoked_long_ago = _token(s, used_with_live_token, cp, aid, "t4", revoked_at=NOW - 48 * HOUR)
        revoked_recently = _token(s, used_with_live_token, cp, aid, "t5", revoked_at=NOW - HOUR)
        s.add_all(
            [
                WebSession(token_hash="s1".ljust(64, "0"), athlete_id=aid, expires_at=NOW - HOUR),
                WebSession(token_hash="s2".ljust(64, "0"), athlete_id=aid, expires_at=NOW + HOUR),
                IdempotencyRecord(athlete_id=aid, key="old", request_hash="h", status_code=201, body=b"{}",
                                  created_at=NOW - 25 * HOUR),
                IdempotencyRecord(athlete_id=aid, key="new", request_hash="h", status_code=201, body=b"{}",
                                  created_at=NOW - 23 * HOUR),
                LoginAttempt(email_hash="e", address="203.0.113.9", attempted_at=NOW - 25 * HOUR),
                LoginAttempt(email_hash="e", address="203.0.113.9", attempted_at=NOW - HOUR),
            ]
        )  # fmt: skip

    storage = LocalFileStorage(tmp_path / "files")
    old = time.time() - 2 * 3600
    for key in ("activities/1/orphan.fit", "activities/1/young-orphan.fit"):
        storage.store(key, b"bytes")
    (storage.root / "activities/1/.incoming-x").write_bytes(b"half")  # as a crash mid-upload leaves it
    for key in ("activities/1/orphan.fit", "activities/1/.incoming-x"):
        os.utime(storage.root / key, (old, old))
    referenced = _store_activity_file(db, factory, storage, athlete.id, old)

    report = run_maintenance(sessions, storage, NOW)

    assert report.deleted == {
        "oauth_tokens": 2,  # expired, revoked long ago
        "oauth_codes": 2,  # unused and expired; used with no token left
        "web_sessions": 1,
        "idempotency_records": 1,
        "login_attempts": 1,
        "orphan_files": 2,  # the old orphan and the abandoned temporary file
    }
    with session_scope(sessions) as s:
        codes = set(s.scalars(sa.select(OAuthAuthorizationCode.id)))
        tokens = set(s.scalars(sa.select(OAuthToken.id)))
        assert s.scalar(sa.select(IdempotencyRecord.key)) == "new"
        assert s.scalar(sa.select(sa.func.count()).select_from(WebSession)) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 1
    assert codes == {unused_live, used_with_live_token}
    assert tokens == {live, rotated_live, revoked_recently}
    assert expired not in tokens and revoked_long_ago not in tokens and unused_expired not in codes
    assert used_all_dead not in codes
    remaining = {p.relative_to(storage.root).as_posix() for p in storage.root.rglob("*") if p.is_file()}
    assert remaining == {"activities/1/young-orphan.fit", referenced}
    # Idempotent: a second run finds nothing more.
    assert set(run_maintenance(sessions, storage, NOW).deleted.values()) == {0}


def _store_activity_file(db: Database, factory: Factory, storage: LocalFileStorage, athlete_id: int,
                         mtime: float) -> str:  # fmt: skip
    """An activity row through the real upload service, whose file must survive the clean-up."""
    from trainerday_server.activities import service

    fit = IN_REPO_SAMPLES / "fit" / "2020-06-01-16-52-40.fit"
    sessions = make_session_factory(db.engine, writer=True)
    readers = make_session_factory(db.engine, writer=False)
    service.upload_activity(
        readers, sessions, storage, athlete_id, fit.read_bytes(),
        service.UploadInfo(None, None, None, fit.name), 50 * 1024 * 1024,
    )  # fmt: skip
    with session_scope(readers) as s:
        key = s.scalar(sa.select(Activity.file_key).where(Activity.athlete_id == athlete_id))
    assert key is not None
    os.utime(storage.root / key, (mtime, mtime))
    return key


def test_the_periodic_timer_runs_the_work_and_survives_a_failure() -> None:
    calls: list[int] = []

    def work() -> Report:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database briefly away")
        return Report({"oauth_tokens": 1})

    async def main() -> None:
        task = asyncio.create_task(periodic(0.01, work, first_delay=0))
        await asyncio.sleep(0.5)
        task.cancel()

    run_async(asyncio.wait_for(main(), timeout=30))
    assert len(calls) >= 3


def test_the_maintenance_command(db: Database, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINERDAY_")}
    env |= {
        "TRAINERDAY_DATABASE_URL": db.url,
        "TRAINERDAY_DATA_DIR": str(tmp_path),
        "TRAINERDAY_SECRET_KEY": TEST_SECRET,
    }
    result = subprocess.run(
        [sys.executable, "-m", "trainerday_server.cli", "maintenance"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert set(json.loads(result.stdout)) == {
        "oauth_tokens", "oauth_codes", "web_sessions", "idempotency_records", "login_attempts", "orphan_files"
    }  # fmt: skip


def test_each_server_process_cleans_up_on_its_own_timer(settings, db: Database, factory: Factory) -> None:  # type: ignore[no-untyped-def]
    from starlette.testclient import TestClient

    from trainerday_server.app import create_app

    athlete = factory.athlete()
    sessions = make_session_factory(db.engine, writer=True)
    with session_scope(sessions) as s:
        s.add(WebSession(token_hash="gone".ljust(64, "0"), athlete_id=athlete.id, expires_at=NOW - HOUR))

    def left() -> int:
        with session_scope(sessions) as s:
            return s.scalar(sa.select(sa.func.count()).select_from(WebSession)) or 0

    app = create_app(settings.model_copy(update={"maintenance_interval_seconds": 1}), engine=db.engine)
    with TestClient(app):
        deadline = time.monotonic() + 20
        while left() and time.monotonic() < deadline:
            time.sleep(0.1)
    assert left() == 0
