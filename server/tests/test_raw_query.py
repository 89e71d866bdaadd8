"""``db.RawQuery``, the token lookup every API request makes, under faults: PostgreSQL killing its
connections, cancellation mid-query, many lookups at once, the engine disposed. Real PostgreSQL (the test
session's own database, which these tests may disrupt); the SQLite path is the in-process one.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import time
import warnings
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.conftest import TEST_SECRET, Database, Factory, run_async
from trainerday_server.api_keys.resolver import ApiKeyResolver
from trainerday_server.app import create_app
from trainerday_server.auth.tokens import token_hash
from trainerday_server.config import Settings
from trainerday_server.db import KeyLookup, RawQuery, _AsyncLookups, create_db_engine
from trainerday_server.models import ApiKey
from trainerday_server.problems import is_database_busy, is_database_unreachable

PID_AND_SLEEP = sa.select(
    sa.literal_column("pg_backend_pid()"), sa.func.pg_sleep(sa.bindparam("seconds", type_=sa.Float))
)


@pytest.fixture
def pg(db: Database) -> Iterator[sa.Engine]:
    """A PostgreSQL engine of its own on the session's database (disposed afterwards)."""
    if db.backend != "postgres":
        pytest.skip("PostgreSQL only: on SQLite the lookup is an in-process call")
    engine = create_db_engine(db.url)
    yield engine
    engine.dispose()


def backends(engine: sa.Engine) -> int:
    """Connections to this database other than the one asking."""
    with engine.connect() as conn:
        return int(
            conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            ).scalar_one()
        )


def terminate_all(engine: sa.Engine) -> int:
    """What a PostgreSQL restart (or an operator) does to every connection of this database."""
    admin = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            return len(
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).all()
            )
    finally:
        admin.dispose()


@pytest.mark.postgres
def test_lookups_recover_when_postgresql_kills_every_connection(pg: sa.Engine) -> None:
    query = RawQuery(pg, PID_AND_SLEEP)

    async def scenario() -> tuple[set[int], list[Any]]:
        # Several lookups at once leave several idle connections behind.
        first = await asyncio.gather(*(query.first(seconds=0.05) for _ in range(4)))
        pids = {row[0] for row in first if row is not None}
        await asyncio.to_thread(terminate_all, pg)
        await asyncio.sleep(0.1)  # the kills have landed
        after = [await query.first(seconds=0) for _ in range(4)]
        return pids, after

    pids, after = run_async(scenario())
    assert len(pids) >= 2
    assert all(row is not None and row[0] not in pids for row in after)


@pytest.mark.postgres
def test_a_cancelled_lookup_leaves_no_connection_busy_or_open(pg: sa.Engine) -> None:
    query = RawQuery(pg, PID_AND_SLEEP)

    async def scenario() -> tuple[Any, int]:
        await query.first(seconds=0)
        lookup = asyncio.ensure_future(query.first(seconds=5))
        await asyncio.sleep(0.3)  # mid-query
        lookup.cancel()
        with pytest.raises(asyncio.CancelledError):
            await lookup
        row = await asyncio.wait_for(query.first(seconds=0), timeout=2)
        await asyncio.sleep(0.2)
        return row, await asyncio.to_thread(backends, pg)

    row, open_connections = run_async(scenario())
    assert row is not None
    assert open_connections <= 2  # the idle lookup connection (and the engine's pool), no stray query


@pytest.mark.postgres
def test_many_concurrent_lookups_stay_within_the_connection_bound(pg: sa.Engine) -> None:
    query = RawQuery(pg, PID_AND_SLEEP)

    async def scenario() -> tuple[int, int]:
        peak = 0

        async def watch() -> None:
            nonlocal peak
            while True:
                peak = max(peak, await asyncio.to_thread(backends, pg))
                await asyncio.sleep(0.02)

        watcher = asyncio.ensure_future(watch())
        rows = await asyncio.gather(*(query.first(seconds=0.01) for _ in range(300)))
        watcher.cancel()
        return sum(row is not None for row in rows), peak

    answered, peak = run_async(scenario())
    assert answered == 300
    assert peak <= 8 + 1  # the lookup connections, and the watcher's own pooled one


@pytest.mark.postgres
def test_disposing_the_engine_closes_lookup_connections_even_those_in_use(pg: sa.Engine) -> None:
    query = RawQuery(pg, PID_AND_SLEEP)

    async def scenario() -> Any:
        slow = asyncio.ensure_future(query.first(seconds=0.3))
        await asyncio.sleep(0.1)
        pg.dispose()  # while the slow lookup is running
        await slow
        await asyncio.sleep(0.1)
        return await asyncio.to_thread(backends, pg)

    assert run_async(scenario()) <= 1  # only the pool's connection asking
    # and lookups after a dispose still work, on new connections
    assert run_async(query.first(seconds=0)) is not None


@pytest.mark.postgres
def test_no_connection_is_left_for_the_garbage_collector(pg: sa.Engine) -> None:
    query = RawQuery(pg, PID_AND_SLEEP)
    gc.collect()  # what earlier tests left is not this test's to judge
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(3):  # each run is a new event loop, as each TestClient is
            run_async(query.first(seconds=0))
        pg.dispose()
        gc.collect()
    left_open = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert [message for message in left_open if "AsyncConnection" in message] == []


@pytest.mark.parametrize(
    "url",
    ["/api/v1/calendar?startDate=2026-01-01&endDate=2026-01-31", "/api/v1/athlete"],
    ids=["hot", "other"],
)
def test_an_unreachable_postgresql_is_a_503_problem_not_a_500(settings: Settings, url: str) -> None:
    nowhere = "postgresql://postgres@127.0.0.1:1/nothing"  # nothing listens on port 1
    engine = create_db_engine(nowhere)
    app = create_app(settings.model_copy(update={"database_url": nowhere}), engine=engine)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            answer = client.get(url, headers={"Authorization": "Bearer td_" + "a" * 40})
    finally:
        engine.dispose()
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["retry-after"] == "5"
    assert answer.json()["type"].endswith("/database-unavailable")


def test_a_server_that_never_answers_fails_the_lookup_in_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A PostgreSQL address that accepts connections and says nothing (a hung server, a black hole)."""
    monkeypatch.setattr(_AsyncLookups, "CONNECT_TIMEOUT_SECONDS", 1)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel completes the handshake; nobody ever answers
        port = silent.getsockname()[1]
        engine = create_db_engine(f"postgresql://postgres@127.0.0.1:{port}/nothing")
        query = RawQuery(engine, sa.select(sa.literal_column("1")))
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError) as failure:
            run_async(asyncio.wait_for(query.first(), timeout=10))
        engine.dispose()
    assert time.monotonic() - started < 5
    assert is_database_unreachable(failure.value)  # so the request is a 503


@pytest.mark.postgres
def test_a_lookup_waiting_on_a_lock_gives_up_as_database_busy(
    pg: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A migration holding an exclusive lock on the table must not stall every request behind it."""
    monkeypatch.setattr(_AsyncLookups, "STATEMENT_TIMEOUT_MS", 500)
    query = RawQuery(pg, sa.select(ApiKey.id).where(ApiKey.token_hash == sa.bindparam("token_hash")))
    with pg.connect() as locker:
        locker.exec_driver_sql("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError) as failure:
            run_async(asyncio.wait_for(query.first(token_hash="x"), timeout=10))
        waited = time.monotonic() - started
        locker.rollback()
    assert waited < 3
    assert is_database_busy(failure.value)  # a 503 database-busy, retried by the client
    assert run_async(query.first(token_hash="x")) is None  # the lock gone, lookups answer again


# --- KeyLookup: the lookups of one event-loop turn in one query ---------------------------------------------


def counting_fetches(
    monkeypatch: pytest.MonkeyPatch, hold: asyncio.Event | None = None, answered: asyncio.Event | None = None
) -> list[list[str]]:
    """The key lists each round trip carried; with ``hold``, each query's rows are handed back only once
    ``hold`` is set (``answered`` is set when the first query has run)."""
    sent: list[list[str]] = []
    fetch = _AsyncLookups.fetch

    async def counted(self: _AsyncLookups, sql: str, args: Any, *, many: bool = True) -> Any:
        sent.append(list(args["keys"]) if isinstance(args, dict) and "keys" in args else [])
        rows = await fetch(self, sql, args, many=many)
        if answered is not None:
            answered.set()
        if hold is not None:
            await hold.wait()
        return rows

    monkeypatch.setattr(_AsyncLookups, "fetch", counted)
    return sent


@pytest.mark.postgres
def test_lookups_asked_together_share_one_round_trip_and_each_gets_its_own_row(
    pg: sa.Engine, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = [factory.key(factory.athlete().id) for _ in range(3)]
    resolver = ApiKeyResolver(pg, TEST_SECRET.encode())
    sent = counting_fetches(monkeypatch)
    asked = [*keys, keys[0], "td_" + "n" * 43, keys[2], keys[1]]  # repeats and an unknown key

    async def scenario() -> list[Any]:
        return await asyncio.gather(*(resolver.resolve(key) for key in asked))

    together = run_async(scenario())
    assert len(sent) == 1 and len(sent[0]) == 4  # one query, each distinct key once
    # The same answers as asking one at a time, through the ORM (an independent path).
    with pg.connect() as conn:
        one_by_one = [
            conn.execute(
                sa.select(ApiKey.id).where(ApiKey.token_hash == token_hash(TEST_SECRET.encode(), key))
            ).scalar()
            for key in asked
        ]
    assert [p.credential_id if p else None for p in together] == one_by_one
    assert together[4] is None and len({p.athlete_id for p in together if p}) == 3


@pytest.mark.postgres
def test_a_lookup_never_joins_a_query_sent_before_it_was_asked(
    pg: sa.Engine, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read-after-write: a key revoked before a request arrives is refused, even while a lookup of the same
    key, sent before the revocation, is still on its way."""
    athlete = factory.athlete()
    key = factory.key(athlete.id)
    resolver = ApiKeyResolver(pg, TEST_SECRET.encode())

    async def scenario() -> tuple[Any, Any, int]:
        hold, answered = asyncio.Event(), asyncio.Event()
        sent = counting_fetches(monkeypatch, hold, answered)
        earlier = asyncio.ensure_future(resolver.resolve(key))
        await answered.wait()  # the earlier lookup's query ran; its answer is on its way back
        await asyncio.to_thread(revoke_all_keys, pg)
        later = asyncio.ensure_future(resolver.resolve(key))
        await asyncio.sleep(0.01)
        hold.set()
        return await earlier, await later, len(sent)

    earlier, later, round_trips = run_async(scenario())
    assert earlier is not None  # its query ran before the revocation
    assert later is None  # asked after it: must not be given the earlier, older answer
    assert round_trips == 2


@pytest.mark.postgres
def test_lookups_asked_while_batches_are_on_their_way_go_together_next(
    pg: sa.Engine, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = [factory.key(factory.athlete().id) for _ in range(6)]
    resolver = ApiKeyResolver(pg, TEST_SECRET.encode())

    async def scenario() -> tuple[list[Any], list[list[str]]]:
        hold = asyncio.Event()
        sent = counting_fetches(monkeypatch, hold)
        lookups = []
        for key in keys:  # each in its own turn of the loop
            lookups.append(asyncio.ensure_future(resolver.resolve(key)))
            await asyncio.sleep(0.005)
        assert len(sent) == KeyLookup.MAX_IN_FLIGHT  # the others wait for one of these to come back
        hold.set()
        return await asyncio.gather(*lookups), sent

    principals, sent = run_async(scenario())
    assert all(principals)
    assert len(sent) == KeyLookup.MAX_IN_FLIGHT + 1  # the four that waited went as one
    assert sorted(len(keys) for keys in sent) == [1, 1, 4]


def revoke_all_keys(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(ApiKey).values(revoked_at=sa.func.now()))


@pytest.mark.postgres
def test_a_cancelled_lookup_does_not_fail_the_others_of_its_batch(pg: sa.Engine, factory: Factory) -> None:
    key = factory.key(factory.athlete().id)
    resolver = ApiKeyResolver(pg, TEST_SECRET.encode())

    async def scenario() -> list[Any]:
        lookups = [asyncio.ensure_future(resolver.resolve(key)) for _ in range(5)]
        await asyncio.sleep(0)
        lookups[1].cancel()
        return await asyncio.gather(*lookups, return_exceptions=True)

    results = run_async(scenario())
    assert isinstance(results[1], asyncio.CancelledError)
    assert all(r is not None and not isinstance(r, BaseException) for i, r in enumerate(results) if i != 1)


def test_an_unreachable_database_fails_every_lookup_of_the_batch() -> None:
    engine = create_db_engine("postgresql://postgres@127.0.0.1:1/nothing")  # nothing listens on port 1
    resolver = ApiKeyResolver(engine, TEST_SECRET.encode())

    async def scenario() -> list[Any]:
        return await asyncio.gather(
            *(resolver.resolve(f"td_{i:043d}") for i in range(4)), return_exceptions=True
        )

    try:
        results = run_async(scenario())
    finally:
        engine.dispose()
    assert all(isinstance(r, psycopg.OperationalError) and is_database_unreachable(r) for r in results)
