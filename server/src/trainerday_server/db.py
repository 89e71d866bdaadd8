"""Database engine and sessions, identical in use on SQLite and PostgreSQL.

SQLite gets WAL (readers never wait for the writer), foreign keys and a busy timeout. Sessions made for
writing (``writer=True``) begin IMMEDIATE on SQLite, so concurrent writers queue on the busy timeout instead
of failing halfway when a read lock cannot be upgraded; read sessions stay DEFERRED and never wait.
Only the request boundary commits (``session_scope``); services just add and flush.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import psycopg.conninfo
import sqlalchemy as sa
from sqlalchemy import event, orm
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000


def create_db_engine(url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, **kwargs: Any) -> Engine:
    """An engine configured for our use of the backend the URL names. On SQLite a writer waits up to
    ``busy_timeout_ms`` for the write lock; past that the request answers 503 (see ``problems``)."""
    url_obj = sa.make_url(url)
    if url_obj.get_backend_name() == "postgresql":
        if url_obj.drivername == "postgresql":
            url_obj = url_obj.set(drivername="postgresql+psycopg")
        if "poolclass" not in kwargs:
            kwargs.setdefault("pool_size", 10)
            kwargs.setdefault("max_overflow", 20)
            kwargs.setdefault("pool_pre_ping", True)
        return sa.create_engine(url_obj, **kwargs)
    if url_obj.get_backend_name() != "sqlite":
        raise ValueError(f"unsupported database {url_obj.get_backend_name()!r}: use sqlite or postgresql")
    if url_obj.database and url_obj.database != ":memory:":
        Path(url_obj.database).parent.mkdir(parents=True, exist_ok=True)
    kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": busy_timeout_ms / 1000})
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 20)
    engine = sa.create_engine(url_obj, **kwargs)
    event.listen(engine, "connect", lambda dbapi, record: _sqlite_on_connect(dbapi, record, busy_timeout_ms))
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any, busy_timeout_ms: int) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see _sqlite_on_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(connection: sa.Connection) -> None:
    mode = "IMMEDIATE" if connection.get_execution_options().get("writer") else "DEFERRED"
    connection.exec_driver_sql(f"BEGIN {mode}")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_session_factory(engine: Engine, *, writer: bool) -> sessionmaker[Session]:
    """Sessions for reading, or for writing (which on SQLite take the write lock when they begin)."""
    bind = engine.execution_options(writer=True) if writer else engine
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=True)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit if the block succeeds, roll everything back if it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class RawQuery:
    """A Core SELECT compiled once and run straight on a driver connection, for the per-request hot path
    (the token lookup every API request makes).

    Measured on this machine: SQLAlchemy Core costs ~30 µs per execution, the raw DBAPI cursor ~10 µs with a
    pool checkout and ~4 µs on a connection kept open. On SQLite each thread therefore keeps its own
    connection, detached from the pool (an in-process file handle; autocommit, so no snapshot is held between
    queries), and the query runs inline: cheaper than any hop off the event loop.

    On PostgreSQL the query runs on the event loop over psycopg's asyncio connections (a few per loop,
    autocommit, see ``_AsyncLookups``): one round trip, no thread. The pooled synchronous path it replaced
    made three round trips (pre-ping, query, rollback) and queued every lookup behind the GIL in the thread
    pool: the month calendar read ran at 1,250 requests/s against 5,700 on SQLite (bench/throughput.py).
    No result processing happens: use it only for columns whose raw values agree across drivers (ints,
    strings, NULL tests).
    """

    def __init__(self, engine: Engine, statement: sa.Select[*tuple[Any, ...]]) -> None:
        self._engine = engine
        compiled = statement.compile(dialect=engine.dialect)
        self._sql = str(compiled)
        self._positional = engine.dialect.paramstyle in ("qmark", "format", "numeric")
        self._order = list(compiled.positiontup or []) if self._positional else []
        self._sqlite = is_sqlite(engine)
        self._local = threading.local()

    @property
    def sql(self) -> str:
        return self._sql

    def arguments(self, **params: Any) -> Any:
        """The driver's arguments for these parameters (a list where the driver's placeholders are
        positional)."""
        return [params[name] for name in self._order] if self._positional else params

    async def first(self, **params: Any) -> tuple[Any, ...] | None:
        args = self.arguments(**params)
        if not self._sqlite:
            return await _AsyncLookups.of(self._engine).first(self._sql, args)
        connection = getattr(self._local, "connection", None)
        if connection is None:
            pooled = self._engine.raw_connection()
            pooled.detach()
            self._local.pooled = pooled  # owns the connection: closes it when the thread's locals go
            connection = self._local.connection = pooled.dbapi_connection
            assert connection is not None
        # sqlite3's own execute: SQLAlchemy's connection wrapper would add a cursor proxy per query.
        row = connection.execute(self._sql, args).fetchone()
        return tuple(row) if row is not None else None


_Waiters = dict[Any, list["asyncio.Future[tuple[Any, ...] | None]"]]


class _LoopQueue:
    """One event loop's lookups: those asked and not yet sent, and how many batches are on their way."""

    __slots__ = ("in_flight", "scheduled", "waiting")

    def __init__(self) -> None:
        self.waiting: _Waiters = {}
        self.in_flight = 0
        self.scheduled = False


class KeyLookup:
    """The row a SELECT finds for one value of a unique key column (a token hash): the lookup every API
    request makes.

    On SQLite it is a ``RawQuery`` (an in-process call). On PostgreSQL, lookups go to the database in
    batches, one query each (``key = ANY(...)``): those asked within one turn of the event loop go together
    at its end, and while ``MAX_IN_FLIGHT`` batches are on their way, those asked meanwhile wait for one to
    come back and then go together. Under load, one round trip answers many requests instead of one; a
    round trip (the send, the wake-up of a backend, the wait) is what a lookup costs there, measured at more
    than the rest of the month calendar read. When the server is idle a lookup goes at once, alone.

    No answer is older than its question: a batch's query starts after each of its lookups was asked, so a
    write committed before a request arrived is seen, as with one query per request.
    """

    MAX_BATCH = 256
    MAX_IN_FLIGHT = 2  # per event loop; more batches at once would each be smaller

    def __init__(
        self, engine: Engine, statement: sa.Select[*tuple[Any, ...]], key: orm.InstrumentedAttribute[Any]
    ) -> None:
        self._engine = engine
        self._one = RawQuery(engine, statement.where(key == sa.bindparam("key")))
        self._batched = not is_sqlite(engine)
        if self._batched:
            keys = sa.bindparam("keys", type_=sa.ARRAY(key.type))
            many = statement.add_columns(key).where(key == sa.any_(keys))
            self._many_sql = str(many.compile(dialect=engine.dialect))
        self._queues: dict[asyncio.AbstractEventLoop, _LoopQueue] = {}

    def statements(self, key: Any) -> list[tuple[str, Any]]:
        """The SQL this lookup sends, with parameters to find ``key`` (for tests of the query plans)."""
        statements: list[tuple[str, Any]] = [(self._one.sql, self._one.arguments(key=key))]
        if self._batched:
            statements.append((self._many_sql, {"keys": [key, key + "x"]}))
        return statements

    async def first(self, key: Any) -> tuple[Any, ...] | None:
        if not self._batched:
            return await self._one.first(key=key)
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _LoopQueue()
        answer: asyncio.Future[tuple[Any, ...] | None] = loop.create_future()
        queue.waiting.setdefault(key, []).append(answer)
        if not queue.scheduled and queue.in_flight < self.MAX_IN_FLIGHT:
            queue.scheduled = True
            loop.call_soon(self._send, loop, queue)
        return await answer

    def _send(self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue) -> None:
        queue.scheduled = False
        while queue.waiting and queue.in_flight < self.MAX_IN_FLIGHT:
            batch = {
                key: queue.waiting.pop(key) for key in list(itertools.islice(queue.waiting, self.MAX_BATCH))
            }
            queue.in_flight += 1
            loop.create_task(self._answer(loop, queue, batch))

    async def _answer(self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue, batch: _Waiters) -> None:
        try:
            rows = await _AsyncLookups.of(self._engine).fetch(self._many_sql, {"keys": list(batch)})
        except BaseException as exc:  # the database's error is every waiter's (a 503 for each)
            for waiters in batch.values():
                for waiter in waiters:
                    if waiter.done():
                        continue
                    if isinstance(exc, Exception):
                        waiter.set_exception(exc)
                    else:  # cancelled (its loop is closing): so are the lookups waiting for it
                        waiter.cancel()
            if not isinstance(exc, Exception):
                raise
        else:
            found = {row[-1]: row[:-1] for row in rows}
            for key, waiters in batch.items():
                for waiter in waiters:
                    if not waiter.done():  # its request may have been cancelled meanwhile
                        waiter.set_result(found.get(key))
        finally:
            queue.in_flight -= 1
            if queue.waiting:
                self._send(loop, queue)  # those asked while this batch was on its way go now, together
            elif not queue.in_flight and self._queues.get(loop) is queue:
                del self._queues[loop]  # nothing left: a loop that ends leaves nothing behind


class _AsyncLookups:
    """Up to ``SIZE`` asyncio PostgreSQL connections per event loop (a connection belongs to the loop it was
    opened in), opened on first use, autocommit. A lookup waits for a free one rather than opening more.

    A connection found broken means the server restarted or an operator killed its backends: the others are
    most likely dead too, so every idle one is dropped and the lookup retried once, on a new connection (what
    pool pre-ping was for). Connections are closed when the engine is disposed (those in use when their
    lookup ends) and when their event loop is collected, never left open to the garbage collector.
    """

    SIZE = 8
    CONNECT_TIMEOUT_SECONDS = 5  # unless the URL sets connect_timeout
    STATEMENT_TIMEOUT_MS = 5_000  # answered 503 database-busy past it

    def __init__(self, conninfo: str) -> None:
        if "connect_timeout" not in conninfo:
            # A server that accepts and never answers must not hold a slot (and every request) forever.
            conninfo = psycopg.conninfo.make_conninfo(conninfo, connect_timeout=self.CONNECT_TIMEOUT_SECONDS)
        self._conninfo = conninfo
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._slots = asyncio.Semaphore(self.SIZE)
        self._epoch = 0  # bumped by close(): connections opened before it are not kept

    @classmethod
    def of(cls, engine: Engine) -> _AsyncLookups:
        by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _AsyncLookups] | None = getattr(
            engine, "_trainerday_async_lookups", None
        )
        if by_loop is None:
            by_loop = weakref.WeakKeyDictionary()
            engine._trainerday_async_lookups = by_loop  # type: ignore[attr-defined]
            event.listen(engine, "engine_disposed", lambda _engine: _close_all(by_loop))
        loop = asyncio.get_running_loop()
        lookups = by_loop.get(loop)
        if lookups is None:
            url = engine.url.set(drivername="postgresql")
            lookups = by_loop[loop] = cls(url.render_as_string(hide_password=False))
            # A loop that ends (each TestClient, each ``asyncio.run``) takes its connections with it.
            weakref.finalize(loop, lookups.close)
        return lookups

    async def first(self, sql: str, args: Any) -> tuple[Any, ...] | None:
        rows = await self.fetch(sql, args, many=False)
        return rows[0] if rows else None

    async def fetch(self, sql: str, args: Any, *, many: bool = True) -> list[tuple[Any, ...]]:
        """The query's rows (only the first unless ``many``)."""
        async with self._slots:
            epoch = self._epoch
            connection = self._idle.pop() if self._idle else await self._connect()
            for attempt in (1, 2):
                try:
                    async with connection.cursor() as cursor:
                        await cursor.execute(sql, args)
                        if many:
                            rows = await cursor.fetchall()
                        else:
                            row = await cursor.fetchone()
                            rows = [row] if row is not None else []
                except psycopg.OperationalError:
                    if not connection.broken or attempt == 2:
                        self._keep_or_close(connection, epoch)
                        raise
                    connection.pgconn.finish()
                    self.close()  # its siblings went the same way, most likely
                    epoch = self._epoch
                    connection = await self._connect()
                    continue
                except BaseException:  # cancelled mid-query, or an error in the query itself
                    self._keep_or_close(connection, epoch)
                    raise
                self._keep_or_close(connection, epoch)
                return [tuple(row) for row in rows]
        raise AssertionError("unreachable")

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        connection = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        try:
            # A lookup is an index probe of a millisecond; one that waits on a lock (a migration's ALTER
            # TABLE) must give its slot back rather than stall every request behind it.
            await connection.execute(f"SET statement_timeout = {int(self.STATEMENT_TIMEOUT_MS)}")
        except BaseException:
            connection.pgconn.finish()
            raise
        return connection

    def _keep_or_close(self, connection: psycopg.AsyncConnection[Any], epoch: int) -> None:
        """Keep a connection that is idle and well, else close it now (without waiting on the loop)."""
        if (
            epoch == self._epoch
            and connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            and not connection.broken
        ):
            self._idle.append(connection)
        else:
            connection.pgconn.finish()

    def close(self) -> None:
        self._epoch += 1
        while self._idle:
            connection = self._idle.pop()  # held: dropped before finish(), it would be collected open
            connection.pgconn.finish()


def _close_all(by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _AsyncLookups]) -> None:
    for lookups in list(by_loop.values()):
        lookups.close()
