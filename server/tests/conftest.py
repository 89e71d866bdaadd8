"""Fixtures shared by every test package.

Database tests run against real SQLite always and against real PostgreSQL as well when
``TRAINERDAY_TEST_POSTGRES_URL`` is set: every fixture that touches the database is parametrised by backend.
Each backend gets a freshly migrated database per test session (PostgreSQL: a new database created on that
server and dropped at the end), and every table is emptied after each test.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from trainerday_server.accounts.service import create_athlete
from trainerday_server.api_keys.service import create_key
from trainerday_server.app import create_app
from trainerday_server.auth.scopes import ALL_SCOPES, parse_scopes
from trainerday_server.config import Settings
from trainerday_server.db import create_db_engine, make_session_factory, session_scope
from trainerday_server.migrate import upgrade
from trainerday_server.models import Athlete, Base
from trainerday_server.models.base import utcnow

REPO_ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("TRAINERDAY_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]
TEST_SECRET = "test-secret-key-not-for-production-0123456789"
PASSWORD = "correct horse battery"
TEST_RATE_LIMIT = "100000/minute"

# Property tests judge results, not speed: on a shared, loaded machine a deadline only adds flakes.
hypothesis_settings.register_profile("trainerday", deadline=None)
hypothesis_settings.load_profile("trainerday")


def run_async(coroutine: Any) -> Any:
    """Run a coroutine on a fresh event loop in its own thread: the browser tests' Playwright may hold a
    running loop on this test process's thread, where ``asyncio.run`` refuses."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """Bytes parameters are named by their length: their content may differ between test processes (a
    gzip header's time, random bytes), and pytest-xdist needs every worker to collect the same test ids."""
    if isinstance(val, bytes | bytearray):
        return f"{len(val)}-bytes"
    return None


IN_REPO_SAMPLES = Path(__file__).resolve().parent / "data" / "samples"
# Recordings from copyleft repositories (GPL-2.0 GoldenCheetah, AGPL-3.0 sports-lib) stay out of this
# repository (data/samples/SOURCES.md); their tests run only where the team's shared collection is beside
# the checkout.
COPYLEFT_SAMPLES = frozenset(
    {
        "bad/MetadataOnly.gpx",
        "fit/14582164182.fit.gz",
        "fit/20130717_143733.fit",
        "fit/Garmin830_with_Stages.fit",
        "fit/Karoo-Botley_BW_Swanmore_Wickham-2025-05-09-1238.fit",
        "gpx/6909869014.gpx",
        "tcx/2010-04-05-21-45-04.tcx",
        "tcx/2020-02-05_17-25-14_Training-with-Notes.tcx",
    }
)


def shared_samples_dir() -> Path:
    """The team's shared collection (../shared/samples beside the checkout), overridable with
    TRAINERDAY_SAMPLES_DIR; only the copyleft recordings are read from there."""
    return Path(os.environ.get("TRAINERDAY_SAMPLES_DIR", REPO_ROOT.parent / "shared" / "samples"))


def sample_names(folder: str) -> list[str]:
    """The names of the collection's recordings in one folder (fit, tcx, gpx, damaged, bad), copyleft ones
    included: for parametrising at collection time; each test then reads its file through ``samples``."""
    names = {p.name for p in (IN_REPO_SAMPLES / folder).glob("*") if p.is_file()}
    names |= {n.rsplit("/", 1)[1] for n in COPYLEFT_SAMPLES if n.rsplit("/", 1)[0] == folder}
    return sorted(names)


def sample_at_hand(relative: str) -> bool:
    """Whether a recording can be read here (a copyleft one only where the shared collection is)."""
    return (IN_REPO_SAMPLES / relative).is_file() or (
        relative in COPYLEFT_SAMPLES and (shared_samples_dir() / relative).is_file()
    )


class Samples:
    """The sample recordings as one tree: ``samples / "fit" / "x.fit"`` is the in-repository copy, or for a
    copyleft recording the shared one; a copyleft recording that is not at hand skips the test that asked for
    it, with the reason. Any other missing file fails: the repository must carry every permissive
    recording."""

    def __init__(self, relative: str = "") -> None:
        self.relative = relative

    def __truediv__(self, part: str) -> Samples | Path:
        relative = f"{self.relative}/{part}".strip("/")
        if (IN_REPO_SAMPLES / relative).is_dir() or (shared_samples_dir() / relative).is_dir():
            return Samples(relative)
        if (IN_REPO_SAMPLES / relative).is_file():
            return IN_REPO_SAMPLES / relative
        if relative in COPYLEFT_SAMPLES:
            shared = shared_samples_dir() / relative
            if shared.is_file():
                return shared
            pytest.skip(
                f"{relative} is a copyleft recording kept out of the repository; it runs where "
                f"../shared/samples is beside the checkout"
            )
        pytest.fail(f"sample recording {relative} is missing from {IN_REPO_SAMPLES}")

    def iterdir(self) -> Iterator[Path]:
        """Every recording of this folder in the collection, whether at hand or not: the repository's, and the
        copyleft ones where the shared collection has them (reading one that is not at hand is not a skip:
        ask ``samples / name`` for that)."""
        for name in sample_names(self.relative):
            in_repo = IN_REPO_SAMPLES / self.relative / name
            yield in_repo if in_repo.is_file() else shared_samples_dir() / self.relative / name

    def glob(self, pattern: str) -> Iterator[Path]:
        return (p for p in self.iterdir() if p.match(pattern))

    def __str__(self) -> str:
        return str(IN_REPO_SAMPLES / self.relative)


@pytest.fixture(scope="session")
def samples() -> Samples:
    return Samples()


# --- databases -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    backend: str
    url: str
    engine: Engine


def _postgres_database() -> Iterator[str]:
    assert POSTGRES_URL
    admin_url = sa.make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    name = f"td_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        pytest.fail(f"TRAINERDAY_TEST_POSTGRES_URL is set but PostgreSQL cannot be reached: {exc}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgres`` (or ``sqlite``) run only with that database: with the other they are
    deselected, not skipped (a skip would read as a test that did not run where it should have)."""
    chosen, deselected = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("database") if callspec is not None else None
        only = next((b for b in ("postgres", "sqlite") if item.get_closest_marker(b) is not None), None)
        if only is not None and backend != only:
            deselected.append(item)
        else:
            chosen.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = chosen


@pytest.fixture(scope="session", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    if request.param == "postgres":
        generator = _postgres_database()
        url = next(generator)
    else:
        generator = None
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    upgrade(url)
    engine = create_db_engine(url)
    yield Database(request.param, url, engine)
    engine.dispose()
    if generator is not None:
        generator.close()


def _empty_all_tables(db: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.backend == "postgres":
            conn.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            for table in tables:
                conn.exec_driver_sql(f"DELETE FROM {table}")  # noqa: S608 - our own table names


@pytest.fixture
def db(database: Database) -> Iterator[Database]:
    """The session's database for one test; emptied afterwards."""
    yield database
    _empty_all_tables(database)


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    # No webhook worker in the app under test: tests that want deliveries run one themselves. Tests send
    # many requests from one address with one key: limits high enough never to trip by accident (the
    # rate-limit tests set their own, low ones).
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db.url,
        secret_key=TEST_SECRET,
        webhooks_worker=False,
        rate_limit=TEST_RATE_LIMIT,
        login_rate_limit=TEST_RATE_LIMIT,
        upload_rate_limit=TEST_RATE_LIMIT,
    )


@pytest.fixture
def app(settings: Settings, db: Database) -> FastAPI:
    return create_app(settings, engine=db.engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def browser(app: FastAPI) -> Iterator[TestClient]:
    """A browser on the web pages (and an OAuth app's HTTP client): https, redirects not followed."""
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as test_client:
        yield test_client


class Clock:
    """Replaces the app's clock (``app.state.clock``) with a frozen one; ``advance`` moves it on for every
    expiry check. Frozen, so that "one second before expiry" is not undone by a real second passing."""

    def __init__(self, app: FastAPI) -> None:
        self.offset = dt.timedelta()
        start = utcnow()
        app.state.clock = lambda: start + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    return Clock(app)


# --- factories -------------------------------------------------------------------------------------------


class Factory:
    """Creates athletes and keys directly through the services, committed, as the CLI would."""

    def __init__(self, db: Database, secret: bytes) -> None:
        self._sessions = make_session_factory(db.engine, writer=True)
        self._secret = secret
        self._count = 0

    def athlete(self, email: str | None = None, *, ftp: int = 250, name: str | None = None) -> Athlete:
        self._count += 1
        email = email or f"athlete{self._count}-{uuid.uuid4().hex[:6]}@example.com"
        with session_scope(self._sessions) as session:
            return create_athlete(session, email, PASSWORD, name=name, ftp=ftp)

    def key(self, athlete_id: int, scopes: str | None = None) -> str:
        chosen = ALL_SCOPES if scopes is None else parse_scopes(scopes)
        with session_scope(self._sessions) as session:
            return create_key(session, self._secret, athlete_id, name="test", scopes=chosen).plaintext


@pytest.fixture
def factory(db: Database) -> Factory:
    return Factory(db, TEST_SECRET.encode())


def iter_routes(routes: list) -> Iterator:
    """Every route of an app, including those of included routers."""
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI keeps included routers nested
            yield from iter_routes(route.original_router.routes)
        else:
            yield route


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Caller:
    """An athlete with an all-scopes key, and the headers to call the API as them."""

    athlete: Athlete
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.key)


@pytest.fixture
def me(factory: Factory) -> Caller:
    athlete = factory.athlete(name="Test Rider", ftp=200)
    return Caller(athlete, factory.key(athlete.id))


# --- a real server process -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    env: dict[str, str]


def server_env(url: str, data_dir: Path, base_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "TRAINERDAY_DATABASE_URL": url,
        "TRAINERDAY_DATA_DIR": str(data_dir),
        "TRAINERDAY_SECRET_KEY": TEST_SECRET,
        "TRAINERDAY_BASE_URL": base_url,
        "TRAINERDAY_LOG_LEVEL": "warning",
        # The shared server must not deliver webhooks queued by in-process tests on the same database.
        "TRAINERDAY_WEBHOOKS_WORKER": "false",
        "TRAINERDAY_RATE_LIMIT": TEST_RATE_LIMIT,
        "TRAINERDAY_LOGIN_RATE_LIMIT": TEST_RATE_LIMIT,
        "TRAINERDAY_UPLOAD_RATE_LIMIT": TEST_RATE_LIMIT,
    }


@contextmanager
def serving(env: dict[str, str], base_url: str, log_path: Path) -> Iterator[LiveServer]:
    """``trainerday-server serve`` in its own process on ``base_url``'s port, once it answers /healthz;
    stopped on exit. Its output goes to ``log_path``, shown if it fails to start."""
    port = urlsplit(base_url).port
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "trainerday_server.cli", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90  # a busy shared machine starts a Python server slowly
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield LiveServer(base_url, env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def live_server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``trainerday-server serve`` in its own process, on the session's database."""
    base_url = f"http://127.0.0.1:{free_port()}"
    env = server_env(database.url, tmp_path_factory.mktemp("live-data"), base_url)
    with serving(env, base_url, tmp_path_factory.mktemp("live-log") / "server.log") as server:
        yield server
