"""A busy database is a 503 with Retry-After, never a 500; nothing is half-written; the write lock is taken
only after the request is validated and measured (problems.py, the workouts and calendar routes)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.conftest import Caller, Database
from trainerday_server.app import create_app
from trainerday_server.config import Settings
from trainerday_server.db import create_db_engine
from trainerday_server.models import CalendarEvent, IdempotencyRecord, LibraryWorkout

pytestmark = pytest.mark.sqlite  # SQLite's single writer lock

BUSY_MS = 200
WORKOUT = {"title": "Tempo", "segments": [[20, 85, 85]]}
EVENT = {"calendarDate": "2026-03-01", "embedWorkout": WORKOUT}


@pytest.fixture
def impatient(settings: Settings, db: Database) -> Iterator[TestClient]:
    """The app on an engine that gives up on SQLite's write lock after BUSY_MS."""
    engine = create_db_engine(db.url, busy_timeout_ms=BUSY_MS)
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as client:
        yield client
    engine.dispose()


@pytest.fixture
def write_lock_held(db: Database) -> Iterator[None]:
    """Another process's writer holding SQLite's write lock (as a long transaction would)."""
    path = sa.make_url(db.url).database
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def count(db: Database, table: type) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


@pytest.mark.parametrize(
    ("path", "body"),
    [("/api/v1/workouts", WORKOUT), ("/api/v1/calendar/events", EVENT)],
)
def test_a_locked_database_is_503_with_retry_after(
    impatient: TestClient, me: Caller, db: Database, write_lock_held: None, path: str, body: dict
):
    response = impatient.post(path, json=body, headers={**me.headers, "Idempotency-Key": "busy-1"})
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"].endswith("/database-busy")


def test_after_a_503_the_retry_succeeds_once(impatient: TestClient, me: Caller, db: Database):
    headers = {**me.headers, "Idempotency-Key": "busy-2"}
    path = sa.make_url(db.url).database
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    refused = impatient.post("/api/v1/workouts", json=WORKOUT, headers=headers)
    holder.execute("ROLLBACK")
    holder.close()
    assert refused.status_code == 503
    assert count(db, LibraryWorkout) == 0 and count(db, IdempotencyRecord) == 0  # nothing half-written
    first = impatient.post("/api/v1/workouts", json=WORKOUT, headers=headers)
    again = impatient.post("/api/v1/workouts", json=WORKOUT, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert count(db, LibraryWorkout) == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/workouts", {"title": "Bad", "segments": [[20, 85, 2000]]}, "segments[0][2]"),
        (
            "/api/v1/calendar/events",
            {"calendarDate": "2026-03-01", "embedWorkout": {"title": "Bad", "segments": [[20, -5, 85]]}},
            "embedWorkout.segments[0][1]",
        ),
    ],
)
def test_invalid_workouts_are_refused_without_waiting_for_the_write_lock(
    impatient: TestClient, me: Caller, write_lock_held: None, path: str, body: dict, field: str
):
    """Validation runs before the write transaction begins: with the lock held elsewhere, a bad workout is
    still a precise 400 (it was a 500 'database is locked' when it was parsed inside the transaction)."""
    response = impatient.post(path, json=body, headers=me.headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_concurrent_large_writes_queue_or_get_503_never_500(impatient: TestClient, me: Caller, db: Database):
    """Many writers of large workouts at once on a short busy timeout: each is created or refused with a
    503 to retry; none fails with a 500, and what was acknowledged is stored."""
    segments = [[0.5, 50 + i % 50, 60 + i % 50] for i in range(2000)]
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def write(i: int) -> None:
        start.wait()
        response = impatient.post(
            "/api/v1/workouts", json={"title": f"Big {i}", "segments": segments}, headers=me.headers
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) <= {201, 503}, statuses
    assert count(db, LibraryWorkout) == statuses.count(201)


def test_another_database_error_is_still_a_500_not_a_503(
    impatient: TestClient, me: Caller, db: Database, monkeypatch: pytest.MonkeyPatch
):
    from trainerday_server.workouts import service

    def broken(*_args: object, **_kwargs: object) -> None:
        raise sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("disk I/O error"))

    monkeypatch.setattr(service, "create_workout", broken)
    response = impatient.post("/api/v1/workouts", json=WORKOUT, headers=me.headers)
    assert response.status_code == 500
    assert count(db, CalendarEvent) == 0
