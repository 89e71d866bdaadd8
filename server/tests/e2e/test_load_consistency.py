"""Nothing lost, nothing duplicated, under concurrent load and a crash (slow: ``make test-slow``).

- Two server processes on one PostgreSQL database, 50 concurrent clients creating 5,000 calendar events with
  Idempotency-Keys, retrying at random (repeats, to either process, and after giving up on a slow answer):
  exactly 5,000 events, each once. The same ride uploaded by 20 clients at once: exactly one activity.
- A server process on SQLite killed with SIGKILL in the middle of a load of event creations and uploads,
  then restarted: every write acknowledged with a 2xx is there, the database passes ``PRAGMA
  integrity_check``, and every activity row has its file.

Each test prints its figures (requests, retries, rates) for the closing report; run with ``-s`` to see them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import (
    POSTGRES_URL,
    TEST_SECRET,
    Factory,
    _postgres_database,
    bearer,
    free_port,
    run_async,
    server_env,
)
from trainerday_server.activities.fitexport import recording_to_fit
from trainerday_server.activities.synthetic import synthetic_ride
from trainerday_server.db import create_db_engine
from trainerday_server.migrate import upgrade
from trainerday_server.models import Activity, CalendarEvent

pytestmark = pytest.mark.slow

EVENTS = "/api/v1/calendar/events"
UPLOAD = "/api/v1/activities/upload"


class Server:
    """``trainerday-server serve`` in a process of its own, which the test may kill and restart."""

    def __init__(self, url: str, data_dir: Path, log: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = server_env(url, data_dir, self.base_url)
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "trainerday_server.cli", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@dataclass
class Tally:
    requests: int = 0
    retries: int = 0
    gave_up: int = 0  # client-side timeouts: the answer was abandoned, the request maybe done
    busy: int = 0  # 503s
    refused: int = 0  # transport errors (a server down, or its connection dropped)
    acknowledged: dict[str, int] = field(default_factory=dict)  # idempotency key -> id in the 201


def event_body(n: int) -> dict[str, object]:
    day = dt.date(2026, 1, 1) + dt.timedelta(days=n % 365)
    return {"calendarDate": day.isoformat(), "title": f"event {n}", "notes": f"load test {n}"}


async def create_until_acknowledged(
    clients: list[httpx.AsyncClient], n: int, tally: Tally, rng: random.Random, *, extra_retry: float
) -> None:
    """POST event ``n`` with its key until a 201 comes back; sometimes repeat it even after a 201, or give up
    on an answer early (and retry), as a flaky network would make a client do."""
    key = f"event-{n}"
    body = event_body(n)
    attempts = 0
    while True:
        client = rng.choice(clients)
        timeout = 0.05 if rng.random() < 0.05 else 30.0  # now and then a client that gives up early
        attempts += 1
        tally.requests += 1
        try:
            response = await client.post(EVENTS, json=body, headers={"Idempotency-Key": key}, timeout=timeout)
        except httpx.TimeoutException:
            tally.gave_up += 1
            continue
        except httpx.TransportError:
            tally.refused += 1
            await asyncio.sleep(0.2)
            continue
        if response.status_code == 503:
            tally.busy += 1
            await asyncio.sleep(float(response.headers.get("retry-after", "1")) * rng.random())
            continue
        assert response.status_code == 201, response.text
        ident = response.json()["id"]
        previous = tally.acknowledged.setdefault(key, ident)
        assert previous == ident, f"{key} acknowledged as {previous} and as {ident}"
        if rng.random() < extra_retry:  # a retry of an answered request: must get the same answer
            continue
        tally.retries += attempts - 1
        return


async def run_clients(
    base_urls: list[str], token: str, numbers: list[int], concurrency: int, seed: int
) -> Tally:
    tally = Tally()
    rng = random.Random(seed)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in numbers:
        queue.put_nowait(n)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    clients = [httpx.AsyncClient(base_url=u, headers=bearer(token), limits=limits) for u in base_urls]

    async def worker() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            await create_until_acknowledged(clients, n, tally, rng, extra_retry=0.2)

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        for client in clients:
            await client.aclose()
    return tally


def event_titles(engine: sa.Engine, athlete_id: int) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(CalendarEvent.title).where(CalendarEvent.athlete_id == athlete_id))
        return [row[0] for row in rows]


def distinct_ride(n: int) -> bytes:
    """A short synthetic ride starting n hours after the first: each a different ride, not a duplicate."""
    recording = synthetic_ride(0.1, seed=n, pauses=0)
    start = recording.start_time + dt.timedelta(hours=n)
    return recording_to_fit(dataclasses.replace(recording, start_time=start), ftp=250)


# --- two processes on PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("set TRAINERDAY_TEST_POSTGRES_URL: this test runs two server processes on PostgreSQL")
    generator = _postgres_database()
    url = next(generator)
    upgrade(url)
    yield url
    generator.close()


@pytest.fixture
def two_servers(postgres_url: str, tmp_path: Path) -> Iterator[tuple[list[Server], sa.Engine]]:
    data_dir = tmp_path / "data"  # shared: both processes keep files in one place, as on one machine
    servers = [Server(postgres_url, data_dir, tmp_path / f"server{i}.log").start() for i in range(2)]
    engine = create_db_engine(postgres_url)
    try:
        yield servers, engine
    finally:
        for server in servers:
            server.stop()
        engine.dispose()


def test_5000_events_from_50_clients_on_two_processes_exactly_once(two_servers):
    servers, engine = two_servers
    factory = Factory(_Db(engine), TEST_SECRET.encode())  # type: ignore[arg-type]
    athlete = factory.athlete()
    token = factory.key(athlete.id)
    started = time.monotonic()
    tally = run_async(run_clients([s.base_url for s in servers], token, list(range(5000)), 50, seed=14))
    elapsed = time.monotonic() - started
    titles = event_titles(engine, athlete.id)
    print(
        f"\n5,000 events, 50 clients, 2 processes on PostgreSQL: {tally.requests} requests "
        f"({tally.requests - 5000} repeats, {tally.gave_up} abandoned early, {tally.busy} busy, "
        f"{tally.refused} refused) in {elapsed:.1f} s = {tally.requests / elapsed:.0f} requests/s; "
        f"{len(titles)} stored, {len(set(titles))} distinct"
    )
    assert len(tally.acknowledged) == 5000
    assert len(titles) == 5000 and len(set(titles)) == 5000
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.select(CalendarEvent.title, CalendarEvent.id)).all())
    for key, ident in tally.acknowledged.items():
        assert stored[f"event {key.removeprefix('event-')}"] == ident


def test_one_ride_uploaded_20_times_at_once_is_stored_once(two_servers):
    servers, engine = two_servers
    factory = Factory(_Db(engine), TEST_SECRET.encode())  # type: ignore[arg-type]
    athlete = factory.athlete()
    token = factory.key(athlete.id)
    ride = distinct_ride(1)

    async def upload_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(headers=bearer(token), timeout=120) as client:
            return await asyncio.gather(
                *(
                    client.post(servers[i % 2].base_url + UPLOAD, files={"file": ("ride.fit", ride)})
                    for i in range(20)
                )
            )

    statuses = sorted(r.status_code for r in run_async(upload_all()))
    print(f"\n20 concurrent uploads of one ride on 2 processes: {statuses}")
    assert statuses == [201] + [409] * 19
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).where(Activity.athlete_id == athlete.id)).scalar_one()
    assert count == 1


@dataclass
class _Db:  # what Factory needs of the conftest Database
    engine: sa.Engine


# --- a crash on SQLite ------------------------------------------------------------------------------------


def test_a_killed_server_loses_no_acknowledged_write(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    upgrade(url)
    engine = create_db_engine(url)
    factory = Factory(_Db(engine), TEST_SECRET.encode())  # type: ignore[arg-type]
    athlete = factory.athlete()
    token = factory.key(athlete.id)
    data_dir = tmp_path / "data"
    server = Server(url, data_dir, tmp_path / "server.log").start()
    rides = [distinct_ride(n) for n in range(30)]
    acknowledged_uploads: dict[int, int] = {}
    tally = Tally()
    killed_after: list[int] = []

    async def events(chunk: list[int]) -> None:
        rng = random.Random(chunk[0])
        async with httpx.AsyncClient(base_url=server.base_url, headers=bearer(token)) as client:
            for n in chunk:
                await create_until_acknowledged([client], n, tally, rng, extra_retry=0.0)

    async def uploads() -> None:
        async with httpx.AsyncClient(base_url=server.base_url, headers=bearer(token), timeout=60) as client:
            for n, ride in enumerate(rides):
                while True:
                    try:
                        response = await client.post(
                            UPLOAD,
                            files={"file": (f"ride{n}.fit", ride)},
                            headers={"Idempotency-Key": f"ride-{n}"},
                        )
                    except httpx.TransportError:
                        await asyncio.sleep(0.2)
                        continue
                    if response.status_code != 503:
                        break
                assert response.status_code == 201, response.text
                acknowledged_uploads[n] = response.json()["id"]

    async def crash_midway() -> None:
        for _ in range(2400):  # well into the load (400 events acknowledged), or after 2 minutes at most
            if len(tally.acknowledged) >= 400:
                break
            await asyncio.sleep(0.05)
        killed_after.extend([len(tally.acknowledged), len(acknowledged_uploads)])
        await asyncio.to_thread(server.kill)
        await asyncio.to_thread(server.start)  # same port: the clients' retries reach the new process

    async def everything() -> None:
        numbers = list(range(2000))
        await asyncio.gather(*(events(numbers[i::20]) for i in range(20)), uploads(), crash_midway())

    try:
        started = time.monotonic()
        run_async(everything())
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    with engine.connect() as conn:
        stored_events = dict(conn.execute(sa.select(CalendarEvent.title, CalendarEvent.id)).all())
        activities = conn.execute(sa.select(Activity.id, Activity.file_key)).all()
    engine.dispose()
    print(
        f"\ncrash: SIGKILL after {killed_after[0]} events and {killed_after[1]} uploads acknowledged; "
        f"{tally.requests} event requests ({tally.refused} refused while down, {tally.gave_up} abandoned), "
        f"{len(acknowledged_uploads)} uploads, {elapsed:.1f} s"
    )
    assert 0 < killed_after[0] < 2000, "the kill must land in the middle of the load"
    for key, ident in tally.acknowledged.items():
        assert stored_events.get(f"event {key.removeprefix('event-')}") == ident, key
    assert len(stored_events) == 2000
    assert {a.id for a in activities} == set(acknowledged_uploads.values())
    for ident, file_key in activities:
        assert (data_dir / "files" / file_key).is_file(), f"activity {ident} has no file {file_key}"
    with sqlite3.connect(tmp_path / "crash.db") as check:
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert check.execute("PRAGMA foreign_key_check").fetchall() == []
