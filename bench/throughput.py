"""Throughput of the authenticated month calendar read: one and two server processes, on SQLite and on
PostgreSQL, beside the bare Starlette app serving the same bytes (issue 13).

Every server runs in its own process(es) on loopback, in the default configuration (access log on, the rate
limiter counting under a limit too high to refuse); wrk loads them in alternating rounds so that whatever
else the machine does falls on all alike. Figures: requests per second (median over rounds) and the ratios
two/one and one/bare, two/bare. PostgreSQL is skipped when it does not answer at
TRAINERDAY_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres); a throw-away database
is created there and dropped afterwards.

    python bench/throughput.py [--rounds 3] [--seconds 4] [--connections 32] [--events 25]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calendar_read import BARE_APP, plan_month
from common import free_port, load, seed_athlete, start_process, stop_process, wait_ready

PATH = "/api/v1/calendar?startDate=2026-01-01&endDate=2026-01-31"
POSTGRES_URL = os.environ.get(
    "TRAINERDAY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def postgres_database() -> Iterator[str | None]:
    admin_url = sa.make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    name = f"td_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError:
        admin.dispose()
        yield None
        return
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def measure(backend: str, database_url: str | None, args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINERDAY_")}
        env |= {"TRAINERDAY_DATA_DIR": tmp, "TRAINERDAY_RATE_LIMIT": "1000000000/minute"}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        if database_url:
            env["TRAINERDAY_DATABASE_URL"] = database_url
        key = seed_athlete(env)
        headers = {"Authorization": f"Bearer {key}"}
        processes = {}
        try:
            for workers in (1, 2):
                port = free_port()
                processes[workers] = (
                    start_process(
                        [sys.executable, "-m", "trainerday_server.cli", "serve", "--port", str(port),
                         "--workers", str(workers)],
                        env,
                        Path(tmp, f"server{workers}.log"),
                    ),
                    f"http://127.0.0.1:{port}",
                )  # fmt: skip
                wait_ready(processes[workers][1] + "/readyz", timeout=180)  # a busy machine starts slowly
            plan_month(processes[1][1], key, args.events)
            body = httpx.get(processes[1][1] + PATH, headers=headers).content
            assert len(json.loads(body)["data"]) == args.events
            Path(tmp, "body.json").write_bytes(body)
            Path(tmp, "bare_app.py").write_text(BARE_APP)
            bare_port = free_port()
            bare = start_process(
                [sys.executable, "-m", "uvicorn", "--app-dir", tmp, "bare_app:app", "--port", str(bare_port),
                 "--log-level", "warning"],
                {**env, "BENCH_BODY": str(Path(tmp, "body.json"))},
                Path(tmp, "bare.log"),
            )  # fmt: skip
            processes[0] = (bare, f"http://127.0.0.1:{bare_port}")
            wait_ready(processes[0][1] + PATH, timeout=180)
            for workers in (1, 2):  # every worker warm (the first reads fill its cache)
                for _ in range(20):
                    httpx.get(processes[workers][1] + PATH, headers=headers).raise_for_status()
            rates: dict[int, list[float]] = {0: [], 1: [], 2: []}
            for _ in range(args.rounds):
                for which in (0, 1, 2):
                    process, url = processes[which]
                    result = load(url + PATH, headers, args.seconds, args.connections, process.pid)
                    rates[which].append(result.rps)
                print(
                    f"  {backend}: bare {rates[0][-1]:7.0f}  one process {rates[1][-1]:7.0f}  "
                    f"two processes {rates[2][-1]:7.0f} req/s",
                    flush=True,
                )
        finally:
            for process, _ in processes.values():
                stop_process(process)
    bare_rps, one, two = (statistics.median(rates[i]) for i in (0, 1, 2))
    return {
        "backend": backend,
        "bare_rps": round(bare_rps),
        "one_process_rps": round(one),
        "two_processes_rps": round(two),
        "two_over_one": round(two / one, 3),
        "one_over_bare": round(one / bare_rps, 3),
        "two_over_bare": round(two / bare_rps, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--events", type=int, default=25)
    args = parser.parse_args()
    results = [measure("sqlite", None, args)]
    with postgres_database() as url:
        if url is None:
            print(f"  PostgreSQL does not answer at {POSTGRES_URL}: skipped", flush=True)
        else:
            results.append(measure("postgresql", url, args))
    result = {"benchmark": "throughput", "cores": os.cpu_count(), "results": results}
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "throughput.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
