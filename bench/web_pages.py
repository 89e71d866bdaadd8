"""Every web page's server time: a month with 40 events and a 4-hour ride (target: under 50 ms each).

In process (ASGI through Starlette's test client, so no network and no browser), on SQLite, logged in as
the athlete: the median wall time of ``--repeats`` requests per page after one warm-up, and the same for
``/healthz`` in the same run, so the figures can be read as a ratio to the cheapest request this app answers
on this machine at this moment (the machine may be shared and busy).

    python bench/web_pages.py [--events 40] [--hours 4] [--repeats 15]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import month_of_events

TARGET_MS = 50.0
PASSWORD = "bench password"  # noqa: S105 - a throw-away account in a temporary database


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    from starlette.testclient import TestClient

    from trainerday_server.accounts.service import create_athlete
    from trainerday_server.activities.synthetic import START, synthetic_ride_fit
    from trainerday_server.api_keys.service import create_key
    from trainerday_server.app import create_app
    from trainerday_server.auth.scopes import ALL_SCOPES
    from trainerday_server.config import Settings
    from trainerday_server.db import session_scope
    from trainerday_server.migrate import upgrade

    month = START.strftime("%Y-%m")  # the synthetic ride's month: the calendar shows it among the events
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), log_level="warning")
        upgrade(settings.resolved_database_url)
        app = create_app(settings)
        with session_scope(app.state.write_sessions) as session:
            athlete_id = create_athlete(session, "bench@example.com", PASSWORD, name="Bench", ftp=250).id
            key = create_key(session, settings.resolved_secret_key, athlete_id, name="b", scopes=ALL_SCOPES)
        api_headers = {"Authorization": f"Bearer {key.plaintext}"}
        with TestClient(app, follow_redirects=False) as client:
            for body in month_of_events(args.events):
                day = int(str(body["calendarDate"])[-2:])
                body["calendarDate"] = f"{month}-{min(day, 28):02d}"
                client.post("/api/v1/calendar/events", json=body, headers=api_headers).raise_for_status()
            workout = {"title": "Library", "segments": [[10, 50, 65], [20, 95, 95], [10, 55, 45]]}
            workout_id = client.post("/api/v1/workouts", json=workout, headers=api_headers).json()["id"]
            ride = synthetic_ride_fit(hours=args.hours, pauses=1)
            upload = client.post(
                "/api/v1/activities/upload", files={"file": ("ride.fit", ride)}, headers=api_headers
            )
            upload.raise_for_status()
            activity_id = upload.json()["id"]

            login = client.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
            logged = client.post(
                "/login",
                data={"csrf_token": csrf, "email": "bench@example.com", "password": PASSWORD, "next": "/"},
            )
            assert logged.status_code == 303, logged.text

            pages = [
                "/healthz",
                "/",
                "/developer",
                "/developer/apps",
                "/settings",
                f"/calendar?month={month}",
                "/workouts",
                f"/workouts/{workout_id}",
                "/activities",
                f"/activities/{activity_id}",
                "/fitness?days=365",
            ]
            timings: dict[str, float] = {}  # CPU time: what the page costs, whoever else uses the machine
            walls: dict[str, float] = {}
            for path in pages:
                first = client.get(path)
                assert first.status_code == 200, (path, first.status_code)
                samples, cpu = [], []
                for _ in range(args.repeats):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    client.get(path)
                    cpu.append((time.process_time() - start_cpu) * 1000)
                    samples.append((time.perf_counter() - start) * 1000)
                timings[path] = statistics.median(cpu)
                walls[path] = statistics.median(samples)

    baseline = timings.pop("/healthz")
    print(
        f"{args.events} events in {month}, a {args.hours:g}-hour ride; median of {args.repeats}, in process"
    )
    print(f"{'page':32} {'CPU ms':>8} {'wall ms':>8} {'x /healthz':>11}  target < {TARGET_MS:g} ms (CPU)")
    slow = []
    for path, ms in timings.items():
        verdict = "ok" if ms < TARGET_MS else "SLOW"
        if ms >= TARGET_MS:
            slow.append(path)
        print(f"{path:32} {ms:8.1f} {walls[path]:8.1f} {ms / baseline:11.1f}  {verdict}")
    print(f"{'/healthz (baseline)':32} {baseline:8.1f} {walls['/healthz']:8.1f}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
