"""Many writers of large workouts at once on one SQLite file: every answer a 201 or a 503 to retry, never a
500, and how long a writer waits.

A real server process on loopback; ``--clients`` threads each POST ``--each`` workouts of 2,000 segments
(the largest allowed) to /api/v1/workouts. Reported: the statuses, and latency percentiles of the 201s.
Run it on this tree, or on another checkout's ``server/src`` with ``--src`` to compare (the issue measured
20 writers getting 500 ``database is locked``, p50 9.3 s, before the write lock was kept short).

    python bench/heavy_writes.py [--clients 20] [--each 3] [--src /path/to/server/src]
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, start_process, stop_process, wait_ready

SECRET = "h" * 40
SEGMENTS = [[0.5, 50 + i % 60, 55 + i % 60, 85, 95, "active", "steady"] for i in range(2000)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--each", type=int, default=3)
    parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "server" / "src")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PYTHONPATH": str(args.src),
            "TRAINERDAY_DATA_DIR": tmp,
            "TRAINERDAY_SECRET_KEY": SECRET,
            "TRAINERDAY_LOG_LEVEL": "error",
        }
        cli = [sys.executable, "-m", "trainerday_server.cli"]
        subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
        subprocess.run(
            [*cli, "users", "create", "w@example.com", "--password", "heavy writes 1"],
            env=env,
            check=True,
            capture_output=True,
        )
        key = subprocess.run(
            [*cli, "keys", "create", "w@example.com"], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()
        port = free_port()
        process = start_process([*cli, "serve", "--port", str(port)], env, Path(tmp) / "server.log")
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base + "/healthz")
            statuses: collections.Counter[int] = collections.Counter()
            latencies: list[float] = []
            lock = threading.Lock()
            start = threading.Barrier(args.clients)

            def writer(number: int) -> None:
                with httpx.Client(
                    base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120
                ) as client:
                    start.wait()
                    for i in range(args.each):
                        body = {"title": f"Big {number}-{i}", "segments": SEGMENTS}
                        began = time.monotonic()
                        response = client.post("/api/v1/workouts", json=body)
                        with lock:
                            statuses[response.status_code] += 1
                            if response.status_code == 201:
                                latencies.append(time.monotonic() - began)

            threads = [threading.Thread(target=writer, args=(n,)) for n in range(args.clients)]
            began = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - began
        finally:
            stop_process(process)
    print(f"{args.clients} writers x {args.each} workouts of 2,000 segments on SQLite, {elapsed:.1f} s:")
    print(f"  statuses {dict(sorted(statuses.items()))}")
    if latencies:
        ordered = sorted(latencies)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        print(
            f"  201 latency p50 {statistics.median(ordered):.2f} s, p95 {p95:.2f} s, max {ordered[-1]:.2f} s"
        )
    if statuses.get(500):
        sys.exit("500s: a busy database must be a 503")


if __name__ == "__main__":
    main()
