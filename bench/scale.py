"""Scale: the month calendar read and the activity list stay flat as the database grows (issue 13).

One measured athlete keeps the same 25 events (January 2026) and one ride; around them the database grows to
10,000 athletes, then 1,000 → 10,000 → 100,000 → 1,000,000 calendar events (many on the same January days,
the worst case for the index) and 100,000 activities. At each size the two reads are timed in-process on the
real app (ASGI calls, the response cache off so every read queries the database), median of many (CPU time
on SQLite, wall time on PostgreSQL, whose work happens in its own processes); the figure
is the ratio of the largest size's time to the smallest's (target: within 1.5). On SQLite, and on PostgreSQL
when it answers at TRAINERDAY_BENCH_POSTGRES_URL (a throw-away database, dropped afterwards).

    python bench/scale.py [--reads 200] [--max-events 1000000] [--activities 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import month_of_events
from throughput import postgres_database

from trainerday_server.accounts.service import create_athlete
from trainerday_server.api_keys.service import create_key
from trainerday_server.app import create_app
from trainerday_server.auth.scopes import ALL_SCOPES
from trainerday_server.config import Settings
from trainerday_server.db import create_db_engine, make_session_factory, session_scope
from trainerday_server.migrate import upgrade

SECRET = "scale-bench-secret-0123456789abcdefghijkl"  # noqa: S105 - a throw-away database's
ATHLETES = 10_000
SAMPLE = Path(__file__).resolve().parents[1] / "server" / "tests" / "data" / "samples"  # in-repo recordings


def numbers(count: int, start: int = 0) -> str:
    """A row source of ``n`` from start+1 to start+count, on SQLite and PostgreSQL alike."""
    last = start + count
    return f"WITH RECURSIVE seq(n) AS (SELECT {start + 1} UNION ALL SELECT n + 1 FROM seq WHERE n < {last}) "  # noqa: S608


def copy_rows(
    conn: sa.Connection, table: str, source_id: int, count: int, start: int, replace: dict[str, str]
) -> None:
    """Insert ``count`` copies of one row, with some columns computed from ``n``."""
    columns = [c["name"] for c in sa.inspect(conn).get_columns(table) if c["name"] != "id"]
    values = ", ".join(replace.get(c, c) for c in columns)
    names = ", ".join(columns)
    sql = f"INSERT INTO {table} ({names}) SELECT {values} FROM seq, {table} WHERE {table}.id = {source_id}"  # noqa: S608 - our own names
    statement = numbers(count, start) + sql
    if conn.dialect.name == "postgresql":  # psycopg reads % as a placeholder even without parameters
        statement = statement.replace("%", "%%")
    conn.exec_driver_sql(statement)
    if conn.dialect.name == "postgresql":
        # As after any bulk load: fresh statistics, else the planner prices the table at its old size
        # until autovacuum gets to it (SQLite's planner needs none to prefer the index).
        conn.exec_driver_sql(f"ANALYZE {table}")


def time_reads(app: Any, key: str, path: str, query: bytes, reads: int) -> float:
    # CPU time where the database runs in this process (SQLite): steadier than wall time on a shared
    # machine. PostgreSQL works in its own processes, so there it has to be wall time.
    clock = time.process_time if app.state.engine.dialect.name == "sqlite" else time.perf_counter
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {key}".encode())]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {},
    }  # fmt: skip

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def run() -> list[float]:
        times = []
        statuses: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        for _ in range(reads):
            started = clock()
            await app(dict(scope), receive, send)
            times.append(clock() - started)
        assert set(statuses) == {200}, set(statuses)
        return times

    asyncio.run(run())  # warm: connections opened, code paths and caches filled
    return statistics.median(asyncio.run(run()))


def measure(backend: str, url: str, args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    upgrade(url)
    engine = create_db_engine(url)
    writer = make_session_factory(engine, writer=True)
    with session_scope(writer) as s:
        me = create_athlete(s, "measured@example.com", "bench password", ftp=250)
        key = create_key(s, SECRET.encode(), me.id, name="bench", scopes=ALL_SCOPES).plaintext
    settings = Settings(data_dir=data_dir, database_url=url, secret_key=SECRET, response_cache_bytes=0,
                        rate_limit="off", access_log=False)  # fmt: skip
    app = create_app(settings, engine=engine)
    from starlette.testclient import TestClient

    with TestClient(app) as client:
        for body in month_of_events(25):
            client.post(
                "/api/v1/calendar/events", json=body, headers={"Authorization": f"Bearer {key}"}
            ).raise_for_status()
        ride = next((SAMPLE / "fit").glob("*.fit"))
        client.post("/api/v1/activities/upload", files={"file": (ride.name, ride.read_bytes())},
                    headers={"Authorization": f"Bearer {key}"}).raise_for_status()  # fmt: skip
    with engine.begin() as conn:
        copy_rows(conn, "athletes", me.id, ATHLETES - 1, 0,
                  {"email": "'a' || n || '@scale.example'"})  # fmt: skip
        first_other = conn.scalar(sa.text("SELECT min(id) FROM athletes WHERE id <> :me"), {"me": me.id})
        source_event = conn.scalar(
            sa.text("SELECT min(id) FROM calendar_events WHERE athlete_id = :me"), {"me": me.id}
        )
        source_ride = conn.scalar(
            sa.text("SELECT min(id) FROM activities WHERE athlete_id = :me"), {"me": me.id}
        )
    other = f"({first_other} + n % {ATHLETES - 1})"
    calendar_query = b"startDate=2026-01-01&endDate=2026-01-31"
    sizes, calendar_times, list_times = [], [], []
    total_events = 25
    target = 1_000
    while target <= args.max_events:
        with engine.begin() as conn:
            copy_rows(conn, "calendar_events", source_event, target - total_events, total_events,
                      {"athlete_id": other, "workout_id": "NULL"})  # fmt: skip
        total_events = target
        sizes.append(target)
        calendar_times.append(time_reads(app, key, "/api/v1/calendar", calendar_query, args.reads))
        print(
            f"  {backend}: {target:>9,} events   calendar read {calendar_times[-1] * 1e3:6.2f} ms", flush=True
        )
        target *= 10
    activity_sizes = [1, args.activities]
    list_times.append(time_reads(app, key, "/api/v1/activities", b"", args.reads))
    with engine.begin() as conn:
        copy = {
            "athlete_id": other,
            "file_sha256": "'s' || n",
            "external_id": "NULL",
            "calendar_event_id": "NULL",
            "file_key": "'scale/' || n",
            # The samples blob is not read by the list: a few bytes, not 100,000 copies of a real ride's.
            "streams": "zeroblob(16)" if conn.dialect.name == "sqlite" else "'\\x00'::bytea",
        }
        copy_rows(conn, "activities", source_ride, args.activities - 1, 0, copy)
    list_times.append(time_reads(app, key, "/api/v1/activities", b"", args.reads))
    print(
        f"  {backend}: activities 1 → {args.activities:,}: "
        f"list {list_times[0] * 1e3:.2f} → {list_times[1] * 1e3:.2f} ms",
        flush=True,
    )
    engine.dispose()
    return {
        "backend": backend,
        "events": sizes,
        "calendar_read_ms": [round(t * 1e3, 3) for t in calendar_times],
        "calendar_ratio_largest_to_smallest": round(calendar_times[-1] / calendar_times[0], 3),
        "activities": activity_sizes,
        "activity_list_ms": [round(t * 1e3, 3) for t in list_times],
        "activity_list_ratio": round(list_times[-1] / list_times[0], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--max-events", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    args = parser.parse_args()
    results = []
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in backends:
            results.append(measure("sqlite", f"sqlite:///{tmp}/scale.db", args, Path(tmp)))
        with postgres_database() if "postgresql" in backends else nullcontext("skip") as url:
            if url == "skip":
                pass
            elif url is None:
                print("  PostgreSQL does not answer: skipped", flush=True)
            else:
                results.append(measure("postgresql", url, args, Path(tmp)))
    result = {"benchmark": "scale", "results": results}
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "scale.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
