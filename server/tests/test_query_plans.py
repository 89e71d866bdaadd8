"""The hot reads stay flat as the database grows because every query they run finds its rows through an
index: each SELECT the month calendar read and the activity list send is captured from a real request and
explained on the real backend (SQLite's EXPLAIN QUERY PLAN; PostgreSQL's EXPLAIN with sequential scans
priced out, since on a near-empty table a scan is cheaper and would hide whether an index can be used)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.conftest import Caller, Database

# Tables whose size grows with the whole service (every athlete's rows): never scanned.
BIG_TABLES = ("calendar_events", "activities", "workouts", "api_keys", "oauth_tokens", "athletes")


@contextmanager
def captured_selects(db: Database) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def remember(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", remember)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", remember)


def full_scans(db: Database, statement: str, parameters: Any) -> list[str]:
    """The big tables this statement reads without an index, per the backend's own planner."""
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        cursor = raw.cursor()  # type: ignore[union-attr]
        try:
            if db.backend == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                plan = [row[-1] for row in cursor.fetchall()]
                return [t for t in BIG_TABLES for line in plan if line.startswith(f"SCAN {t}")]
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("EXPLAIN " + statement, parameters)
            plan = [row[0] for row in cursor.fetchall()]
            return [t for t in BIG_TABLES for line in plan if f"Seq Scan on {t}" in line]
        finally:
            cursor.close()
            raw.rollback()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/calendar?startDate=2026-01-01&endDate=2026-01-31",
        "/api/v1/activities",
        "/api/v1/activities?startDate=2026-01-01&endDate=2026-01-31",
    ],
)
def test_hot_reads_use_indexes(client: TestClient, me: Caller, db: Database, path: str) -> None:
    for day in (5, 6):
        client.post(
            "/api/v1/calendar/events",
            json={
                "calendarDate": f"2026-01-0{day}",
                "embedWorkout": {"title": "x", "segments": [[10, 50, 60]]},
            },
            headers=me.headers,
        ).raise_for_status()
    with captured_selects(db) as statements:
        assert client.get(path, headers=me.headers).status_code == 200
    assert statements, "the request ran no query through the engine"
    for statement, parameters in statements:
        assert full_scans(db, statement, parameters) == [], statement


def test_token_lookups_use_indexes(client: TestClient, db: Database) -> None:
    """Every API request's token lookup (not sent through the engine, so not captured above), as one key
    and, on PostgreSQL, as the batch of keys asked for together."""
    resolvers = client.app.state.authenticator._resolvers  # type: ignore[attr-defined]
    assert {resolver.prefix for resolver in resolvers} == {"td_", "tdo_"}
    for resolver in resolvers:
        statements = resolver._lookup.statements("0" * 64)
        assert len(statements) == (1 if db.backend == "sqlite" else 2)
        for statement, parameters in statements:
            assert full_scans(db, statement, parameters) == [], statement


def test_the_check_sees_a_full_scan(db: Database) -> None:
    """The detector itself: a filter on an unindexed column is reported (else the test above proves
    nothing)."""
    if db.backend == "sqlite":
        statement, parameters = "SELECT id FROM activities WHERE name = ?", ("x",)
    else:
        statement, parameters = "SELECT id FROM activities WHERE name = %(name)s", {"name": "x"}
    assert full_scans(db, statement, parameters) == ["activities"]
