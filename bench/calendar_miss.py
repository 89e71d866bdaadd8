"""The calendar read when its cache misses (the first read after any write): building a month's body.

In process, on SQLite: the time ``calendar.service.calendar_body`` takes for a month of ``--events`` events,
best of several repeats. With ``--against OTHER_SRC`` (another checkout's ``server/src``) it runs itself
alternately with this tree's code and with that one, and reports both and their ratio, median over rounds:

    python bench/calendar_miss.py [--events 25] [--rounds 5] [--cold] [--against /path/to/other/server/src]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import month_of_events

SERVER_SRC = Path(__file__).resolve().parents[1] / "server" / "src"


def body_microseconds(events: int, cold: bool) -> float:
    from starlette.testclient import TestClient

    from trainerday_server.accounts.service import create_athlete
    from trainerday_server.api_keys.service import create_key
    from trainerday_server.app import create_app
    from trainerday_server.auth.scopes import ALL_SCOPES
    from trainerday_server.calendar.service import calendar_body
    from trainerday_server.config import Settings
    from trainerday_server.db import session_scope
    from trainerday_server.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))  # a secret is made in the data directory
        upgrade(settings.resolved_database_url)
        app = create_app(settings)
        with session_scope(app.state.write_sessions) as session:
            athlete_id = create_athlete(session, "bench@example.com", "bench password", name="B", ftp=250).id
            key = create_key(session, settings.resolved_secret_key, athlete_id, name="b", scopes=ALL_SCOPES)
        with TestClient(app) as client:
            for body in month_of_events(events):
                headers = {"Authorization": f"Bearer {key.plaintext}"}
                client.post("/api/v1/calendar/events", json=body, headers=headers).raise_for_status()

        # This tree remembers metrics by workout content; --cold makes it forget them, as after an FTP change
        # or a restart (the usual miss, after one write, recomputes one workout at most).
        forget = lambda: None  # noqa: E731
        if cold:  # a tree from before the workout library remembers nothing anyway
            with contextlib.suppress(ImportError):
                from trainerday_server.workouts.service import forget_metrics as forget

        def build() -> bytes:
            forget()
            with session_scope(app.state.read_sessions) as session:
                return calendar_body(session, athlete_id, dt.date(2026, 1, 1), dt.date(2026, 1, 31))

        assert len(json.loads(build())["data"]) == events
        timer = timeit.Timer(build)
        number, _ = timer.autorange()
        return min(timer.repeat(repeat=5, number=number)) / number * 1e6


def run_with(src: Path, events: int, cold: bool) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    argv = [sys.executable, __file__, "--events", str(events), "--one", *(["--cold"] if cold else [])]
    return float(subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--against", type=Path, help="another checkout's server/src, measured alternately")
    parser.add_argument("--cold", action="store_true", help="forget remembered metrics before each build")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # one measurement, printed bare
    args = parser.parse_args()
    if args.one:
        print(body_microseconds(args.events, args.cold))
        return
    if args.against is None:
        print(f"calendar body, {args.events} events: {body_microseconds(args.events, args.cold):.0f} µs")
        return
    rounds = []
    for _ in range(args.rounds):
        ours, theirs = (
            run_with(SERVER_SRC, args.events, args.cold),
            run_with(args.against, args.events, args.cold),
        )
        rounds.append((ours, theirs))
        print(f"  this tree {ours:7.0f} µs   other {theirs:7.0f} µs   ratio {ours / theirs:.2f}", flush=True)
    result = {
        "benchmark": "calendar_miss",
        "events": args.events,
        "cold": args.cold,
        "this_tree_us": round(statistics.median(o for o, _ in rounds)),
        "other_us": round(statistics.median(t for _, t in rounds)),
        "ratio_median": round(statistics.median(o / t for o, t in rounds), 2),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
