"""A serving process while PostgreSQL kills every connection it has (what a restart or an operator does):
requests keep being answered, on the fast lane and off it, and the process's connections stay bounded."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import Caller, Database, LiveServer, bearer, run_async

MONTH = "/api/v1/calendar?startDate=2026-01-01&endDate=2026-01-31"
PATHS = (MONTH, "/api/v1/athlete")  # the fast lane's token lookup, and the pooled synchronous path
CONCURRENCY = 100


def _admin(db: Database) -> sa.Engine:
    return sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)


def _connections(db: Database) -> int:
    engine = _admin(db)
    try:
        with engine.connect() as conn:
            return int(
                conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _kill_all(db: Database) -> int:
    """Only this test session's own database (created for it by conftest)."""
    engine = _admin(db)
    try:
        with engine.connect() as conn:
            return len(
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).all()
            )
    finally:
        engine.dispose()


async def _burst(base_url: str, headers: dict[str, str], n: int) -> Counter[int]:
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        answers = await asyncio.gather(*(client.get(PATHS[i % 2], headers=headers) for i in range(n)))
    return Counter(answer.status_code for answer in answers)


@pytest.mark.postgres
def test_requests_are_answered_while_postgresql_kills_its_connections(
    database: Database, live_server: LiveServer, me: Caller
) -> None:
    if database.backend != "postgres":
        pytest.skip("PostgreSQL only")
    headers = bearer(me.key)
    assert run_async(_burst(live_server.base_url, headers, 200)) == Counter({200: 200})
    assert _kill_all(database) > 0
    # One at a time first: each lookup meets the dead connections the burst left idle.
    with httpx.Client(base_url=live_server.base_url, timeout=30) as client:
        assert [client.get(PATHS[i % 2], headers=headers).status_code for i in range(6)] == [200] * 6

    async def killed_midway() -> Counter[int]:
        load = asyncio.ensure_future(_burst(live_server.base_url, headers, 300))
        await asyncio.sleep(0.05)
        await asyncio.to_thread(_kill_all, database)
        return await load

    assert run_async(killed_midway()) == Counter({200: 300})
    assert run_async(_burst(live_server.base_url, headers, 200)) == Counter({200: 200})
    # One process: its pool (10 + 20 overflow) and its event loop's lookups (8), whatever the load.
    assert _connections(database) <= 38
