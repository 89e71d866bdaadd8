"""Webhooks: deliveries per second to a loopback receiver, and what webhooks add to the write causing them.

1. Throughput: ``--events`` events (10,000) are queued for ``--athletes`` athletes, each with a subscription,
   then the delivery worker (the one ``serve`` runs) sends them, signed, to a receiver process on 127.0.0.1
   (HTTP/1.1, keep-alive). Deliveries of one athlete go out in order, one at a time; athletes in parallel.
2. Write latency: ``POST /api/v1/calendar/events`` in process, alternating short rounds of writes by an
   athlete without a subscription (emit is then one indexed query, nothing written) and by an athlete with
   one (the event is inserted in the transaction; the worker writes its delivery); once with no worker
   running (the cost of the emit alone); then with the worker delivering alongside, in the same process, as
   inside ``serve``: with writes back to back (a saturated server: every delivery's CPU falls on the writes)
   and with writes ``--pace-ms`` apart (a server with room: the worker delivers between writes). Each round's
   ratio of median write times; the figure is the median of those ratios (and the same for process CPU time
   per write). Target: ≤ 1.05. On SQLite, or PostgreSQL with --postgres.

    python bench/webhooks.py [--events 10000] [--athletes 1,20] [--writes 20] [--rounds 15] [--pace-ms 150]
                             [--postgres URL]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

RECEIVER = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def start_receiver() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}/hook"


def setup(tmp: Path, athletes: int, url: str, database_url: str | None = None):  # type: ignore[no-untyped-def]
    from trainerday_server.accounts.service import create_athlete
    from trainerday_server.api_keys.service import create_key
    from trainerday_server.app import create_app
    from trainerday_server.auth.scopes import ALL_SCOPES
    from trainerday_server.config import Settings
    from trainerday_server.db import session_scope
    from trainerday_server.migrate import upgrade
    from trainerday_server.webhooks.service import Owner, SecretBox, create_subscription

    settings = Settings(
        data_dir=tmp,
        database_url=database_url,
        webhooks_worker=False,
        webhooks_allow_http=True,
        log_level="warning",
        rate_limit="off",  # hundreds of writes a round would be refused at 600/minute
        access_log=False,
    )
    upgrade(settings.resolved_database_url)
    app = create_app(settings)
    secret = settings.resolved_secret_key
    keys: list[tuple[int, str]] = []
    with session_scope(app.state.write_sessions) as session:
        for i in range(athletes + 1):  # the last one never subscribes
            athlete = create_athlete(session, f"bench{i}@example.com", "bench password", name="B", ftp=250)
            key = create_key(session, secret, athlete.id, name="b", scopes=ALL_SCOPES)
            keys.append((athlete.id, key.plaintext))
            if i < athletes:
                owner = Owner(athlete_id=athlete.id, api_key_id=key.key.id, scopes=ALL_SCOPES)
                create_subscription(session, SecretBox(secret), owner, url, None)
    return settings, app, keys


def make_worker(app, settings):  # type: ignore[no-untyped-def]
    from trainerday_server.webhooks.worker import worker_from_settings

    return worker_from_settings(app.state.engine, settings)


def throughput(events: int, athletes: int) -> dict[str, float]:
    from trainerday_server.db import session_scope
    from trainerday_server.models import WebhookDelivery
    from trainerday_server.webhooks import outbox

    receiver, url = start_receiver()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings, app, keys = setup(Path(tmp), athletes, url)
            started = time.perf_counter()
            with session_scope(app.state.write_sessions) as session:
                for n in range(events):
                    athlete_id = keys[n % athletes][0]
                    outbox.emit(session, athlete_id, "workout.created", {"id": n, "title": f"workout {n}"})
            queued = time.perf_counter() - started
            worker = make_worker(app, settings)
            started = time.perf_counter()
            worker.start()
            done = 0
            with app.state.engine.connect() as conn:
                while done < events:
                    time.sleep(0.1)
                    done = (
                        conn.scalar(
                            sa.select(sa.func.count()).where(WebhookDelivery.status == outbox.DELIVERED)
                        )
                        or 0
                    )
                    conn.rollback()
                    if time.perf_counter() - started > 600:
                        raise SystemExit(f"only {done} of {events} delivered in 10 minutes")
            elapsed = time.perf_counter() - started
            worker.stop()
            app.state.engine.dispose()
    finally:
        receiver.terminate()
        receiver.wait()
    return {
        "athletes": athletes,
        "events": events,
        "emit_us_each": round(queued / events * 1e6, 1),
        "delivery_seconds": round(elapsed, 2),
        "deliveries_per_second": round(events / elapsed),
    }


def write_latency(
    writes: int,
    rounds: int,
    *,
    deliver: bool = True,
    database_url: str | None = None,
    pace_seconds: float = 0.0,
) -> dict[str, Any]:
    """Rounds of ``writes`` writes without and ``writes`` with a subscription; per round, the median wall
    time and process CPU time of a write on each side. The figures are the medians over rounds of each
    round's ratio. With ``pace_seconds``, writes alternate one by one that far apart, as a server that is not
    saturated sees them, and the worker delivers in between (its CPU then shows in the CPU ratio, not in
    the write's time); without, they come back to back."""
    from starlette.testclient import TestClient

    receiver, url = start_receiver()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings, app, keys = setup(Path(tmp), 1, url, database_url)
            subscribed, unsubscribed = keys[0][1], keys[1][1]
            worker = make_worker(app, settings)
            if deliver:
                worker.start()
            body = {
                "calendarDate": "2026-01-15",
                "embedWorkout": {"title": "Easy", "segments": [[10, 50, 50]]},
            }
            wall: dict[str, list[float]] = {"off": [], "on": []}
            cpu: dict[str, list[float]] = {"off": [], "on": []}
            with TestClient(app) as client:
                tokens = {"off": unsubscribed, "on": subscribed}

                def write(side: str) -> tuple[float, float]:
                    headers = {"Authorization": f"Bearer {tokens[side]}"}
                    cpu_started, started = time.process_time(), time.perf_counter()
                    client.post("/api/v1/calendar/events", json=body, headers=headers).raise_for_status()
                    return time.perf_counter() - started, time.process_time() - cpu_started

                def one_round() -> None:
                    # The emit alone: writes alternate one by one (which side goes first swaps each pair),
                    # so whatever else the machine does falls on both sides alike. With the worker
                    # delivering, in blocks: its work follows the subscribed writes, as in a process where
                    # every write has a subscriber against one where none has.
                    timings: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
                    pair = ("off", "on") if len(wall["off"]) % 2 == 0 else ("on", "off")  # swapped each round
                    if deliver and not pace_seconds:
                        order = [pair[0]] * writes + [pair[1]] * writes
                    else:
                        order = [side for n in range(writes) for side in (pair if n % 2 else pair[::-1])]
                    for side in order:
                        timings[side].append(write(side))
                        if pace_seconds:
                            time.sleep(pace_seconds)
                    for side, measured in timings.items():
                        wall[side].append(statistics.median(t for t, _ in measured) * 1e6)
                        cpu[side].append(statistics.median(c for _, c in measured) * 1e6)

                for _ in range(2):  # warm up: caches, statements, the worker
                    one_round()
                for side in wall:
                    wall[side].clear()
                    cpu[side].clear()
                for n in range(rounds):
                    one_round()
                    print(
                        f"  round {n + 1:2d}: a write without a subscription {wall['off'][-1]:6.0f} µs, "
                        f"with one {wall['on'][-1]:6.0f} µs "
                        f"(CPU {cpu['off'][-1]:5.0f} / {cpu['on'][-1]:5.0f})",
                        flush=True,
                    )
            worker.stop()
            app.state.engine.dispose()
    finally:
        receiver.terminate()
        receiver.wait()

    def ratio(figures: dict[str, list[float]]) -> float:
        return round(statistics.median(o / f for o, f in zip(figures["on"], figures["off"], strict=True)), 3)

    return {
        "database": "postgresql" if database_url else "sqlite",
        "worker_delivering": deliver,
        "pace_ms": round(pace_seconds * 1000),
        "writes_per_round": writes,
        "rounds": rounds,
        "without_subscription_us": round(statistics.median(wall["off"])),
        "with_subscription_us": round(statistics.median(wall["on"])),
        "ratio": ratio(wall),
        "cpu_ratio": ratio(cpu),
    }


@contextlib.contextmanager
def scratch_postgres(admin_url: str | None) -> Iterator[str | None]:
    """A database of its own on the PostgreSQL server of ``admin_url``, dropped afterwards (None: SQLite)."""
    if admin_url is None:
        yield None
        return
    url = sa.make_url(admin_url).set(drivername="postgresql+psycopg")
    name = f"td_bench_webhooks_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument(
        "--athletes", default="1,20", help="comma-separated: one throughput run for each ('' for none)"
    )
    parser.add_argument("--writes", type=int, default=20, help="writes per round and side")
    parser.add_argument("--rounds", type=int, default=15, help="0: throughput only")
    parser.add_argument(
        "--pace-ms", type=float, default=150.0, help="time between paced writes (the third measurement)"
    )
    parser.add_argument(
        "--postgres", metavar="URL", help="measure the writes on PostgreSQL (a scratch database)"
    )
    args = parser.parse_args()
    results: dict[str, Any] = {"benchmark": "webhooks", "throughput": [], "write_latency": []}
    for athletes in (int(a) for a in args.athletes.split(",") if a):
        result = throughput(args.events, athletes)
        print(f"  {result}", flush=True)
        results["throughput"].append(result)
    # Events queued but not sent (the emit alone), then sent by the worker alongside, as inside `serve`.
    # And writes paced as a server that is not saturated sees them, the worker delivering between them.
    cases = [(False, 0.0), (True, 0.0), (True, args.pace_ms / 1000)]
    for deliver, pace in cases if args.rounds > 0 else ():
        with scratch_postgres(args.postgres) as database_url:
            result = write_latency(
                args.writes, args.rounds, deliver=deliver, database_url=database_url, pace_seconds=pace
            )
        how = f"delivering, writes {pace * 1000:g} ms apart" if pace else "delivering, back to back"
        print(
            f"  {result['database']}, worker {how if deliver else 'off'}: "
            f"a write with a subscription / without = {result['ratio']:.3f} "
            f"(median of {args.rounds} alternating rounds; "
            f"CPU time {result['cpu_ratio']:.3f}); target <= 1.05",
            flush=True,
        )
        results["write_latency"].append(result)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
