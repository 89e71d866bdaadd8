"""Database engine and sessions, identical in use on SQLite and PostgreSQL.

SQLite gets WAL (readers never wait for the writer), foreign keys and a busy timeout. Sessions made for
writing (``writer=True``) begin IMMEDIATE on SQLite, so concurrent writers queue on the busy timeout instead
of failing halfway when a read lock cannot be upgraded; read sessions stay DEFERRED and never wait.
Only the request boundary commits (``session_scope``); services just add and flush.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
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
    """A Core SELECT compiled once and run straight on the DBAPI connection, for the per-request hot path.

    Measured on this machine: SQLAlchemy Core costs ~30 µs per execution, the raw DBAPI cursor ~10 µs with a
    pool checkout and ~4 µs on a connection kept open. On SQLite each thread therefore keeps its own
    connection, detached from the pool (an in-process file handle; autocommit, so no snapshot is held between
    queries). On PostgreSQL connections are a server resource and come from the pool each time. No result
    processing happens: use it only for columns whose raw values agree across drivers (ints, strings, NULL
    tests).
    """

    def __init__(self, engine: Engine, statement: sa.Select[*tuple[Any, ...]]) -> None:
        self._engine = engine
        compiled = statement.compile(dialect=engine.dialect)
        self._sql = str(compiled)
        self._positional = engine.dialect.paramstyle in ("qmark", "format", "numeric")
        self._order = list(compiled.positiontup or []) if self._positional else []
        self._keep_connection = is_sqlite(engine)
        self._local = threading.local()

    def first(self, **params: Any) -> tuple[Any, ...] | None:
        args: Any = tuple(params[name] for name in self._order) if self._positional else params
        if self._keep_connection:
            connection = getattr(self._local, "connection", None)
            if connection is None:
                connection = self._engine.raw_connection()
                connection.detach()
                self._local.connection = connection
            return self._fetch_first(connection, args)
        connection = self._engine.raw_connection()
        try:
            return self._fetch_first(connection, args)
        finally:
            connection.close()  # back to the pool, which rolls back the implicit read transaction

    def _fetch_first(self, connection: Any, args: Any) -> tuple[Any, ...] | None:
        cursor = connection.cursor()
        try:
            cursor.execute(self._sql, args)
            row = cursor.fetchone()
        finally:
            cursor.close()
        return tuple(row) if row is not None else None
