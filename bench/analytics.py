"""The analytics reads on a long history, in process on SQLite through the whole app (token lookup, cache,
query, computation, JSON), cold (the first read after a write) and cached; CPU time, median of repeats.

An athlete with a ride every day for five years (1,826 rides, each with its season-curve row): fitness over
the five years, and the season power curve over the last 1,000 rides and over all of them. Cold reads follow
a change of the athlete's data revision, as after an upload; cached reads repeat one request. Targets
(issue 12): under 50 ms cold and under 5 ms cached, reported as ratios to the target, and beside the profile
read (GET /api/v1/athlete), the cheapest authenticated read, measured in the same run:

    python bench/analytics.py [--years 5] [--repeat 15]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

COLD_TARGET_MS = 50.0
CACHED_TARGET_MS = 5.0


def seed_history(app, athlete_id: int, years: int) -> tuple[dt.date, dt.date]:
    """A ride a day with plausible figures and a power curve, inserted directly (uploads take minutes)."""
    import sqlalchemy as sa

    from trainerday_server.activities.metrics import power_curve
    from trainerday_server.analytics.curves import encode_curve
    from trainerday_server.db import session_scope
    from trainerday_server.models import Activity, ActivityPowerCurve

    rng = np.random.default_rng(12)
    end = dt.date(2026, 11, 30)
    start = end - dt.timedelta(days=round(365.25 * years))
    watts = 190 + 40 * rng.standard_normal(4 * 3600)
    curves = [power_curve(np.clip(watts[: rng.integers(1800, 4 * 3600)] * s, 0, None)) for s in (0.9, 1, 1.1)]
    now = dt.datetime.now(dt.UTC)
    rides, rows = [], []
    day, number = start, 0
    while day <= end:
        number += 1
        curve = curves[number % 3].to_json()
        moment = dt.datetime(day.year, day.month, day.day, 7, tzinfo=dt.UTC)
        metrics = {
            "startTimeLocal": moment.isoformat(),
            "distanceMeters": 40000.0,
            "workKj": 800.0,
            "elevationGainMeters": 300.0,
            "timeInPowerZones": [600, 1200, 900, 300, 100, 0, 0],
            "timeInHeartRateZones": None,
            "tss": 60.0 + number % 50,
        }
        rides.append(
            {
                "id": number,
                "athlete_id": athlete_id,
                "name": "Ride",
                "start_time": moment,
                "local_date": day,
                "elapsed_seconds": 3600,
                "timer_seconds": 3500,
                "tss": metrics["tss"],
                "ftp": 250,
                "metrics": metrics,
                "power_curve": curve,
                "file_key": f"k{number}",
                "file_format": "fit",
                "file_gzipped": False,
                "file_size": 1,
                "file_sha256": f"{number:064d}",
                "streams": b"",
                "created_at": now,
                "updated_at": now,
            }
        )
        rows.append(
            {"activity_id": number, "athlete_id": athlete_id, "local_date": day, "watts": encode_curve(curve)}
        )
        day += dt.timedelta(days=1)
    with session_scope(app.state.write_sessions) as session:
        session.execute(sa.insert(Activity), rides)
        session.execute(sa.insert(ActivityPowerCurve), rows)
    return start, end


def cpu_ms(call: Callable[[], object], repeat: int) -> float:
    """Median process CPU time of ``call`` (every thread: the test client's and the app's). CPU rather than
    wall time, so that other work on a shared machine inflates the figures less."""
    samples = []
    for _ in range(repeat):
        began = time.process_time()
        call()
        samples.append((time.process_time() - began) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    from starlette.testclient import TestClient

    from trainerday_server.accounts.service import create_athlete
    from trainerday_server.api_keys.service import create_key
    from trainerday_server.app import create_app
    from trainerday_server.athlete.service import bump_data_revision
    from trainerday_server.auth.scopes import ALL_SCOPES
    from trainerday_server.config import Settings
    from trainerday_server.db import session_scope
    from trainerday_server.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        upgrade(settings.resolved_database_url)
        app = create_app(settings)
        with session_scope(app.state.write_sessions) as session:
            athlete_id = create_athlete(session, "bench@example.com", "bench password", name="B", ftp=250).id
            key = create_key(session, settings.resolved_secret_key, athlete_id, name="b", scopes=ALL_SCOPES)
        start, end = seed_history(app, athlete_id, args.years)
        headers = {"Authorization": f"Bearer {key.plaintext}"}
        thousand = end - dt.timedelta(days=999)

        def bump() -> None:
            with session_scope(app.state.write_sessions) as session:
                bump_data_revision(session, athlete_id)

        with TestClient(app) as client:

            def get(path: str, **params: object) -> Callable[[], object]:
                def call() -> object:
                    response = client.get(path, headers=headers, params=params)
                    assert response.status_code == 200, response.text
                    return response

                return call

            reads = {
                f"fitness, {args.years} years of daily rides": get(
                    "/api/v1/athlete/fitness", startDate=start, endDate=end
                ),
                "season curve, last 1,000 rides": get(
                    "/api/v1/athlete/power-curve", startDate=thousand, endDate=end
                ),
                f"season curve, all {(end - start).days + 1:,} rides": get(
                    "/api/v1/athlete/power-curve", startDate=start, endDate=end
                ),
            }
            profile = get("/api/v1/athlete")
            profile()
            results = []
            baselines = []
            for name, read in reads.items():
                read()  # warm the code paths (imports, statement caches)

                def cold(read: Callable[[], object] = read) -> None:
                    bump()
                    read()

                # Side by side: the write that makes the next read cold is measured and taken off.
                cold_ms = cpu_ms(cold, args.repeat) - cpu_ms(bump, args.repeat)
                cached_ms = cpu_ms(read, args.repeat * 4)
                baseline = cpu_ms(profile, args.repeat * 4)
                baselines.append(baseline)
                results.append(
                    {
                        "read": name,
                        "cold_ms": round(cold_ms, 2),
                        "cached_ms": round(cached_ms, 2),
                        "cold_vs_target": round(cold_ms / COLD_TARGET_MS, 2),
                        "cached_vs_target": round(cached_ms / CACHED_TARGET_MS, 2),
                        "cached_vs_profile_read": round(cached_ms / baseline, 2),
                    }
                )
                print(
                    f"{name:40} cold {cold_ms:6.1f} ms ({cold_ms / COLD_TARGET_MS:.2f} of target)   "
                    f"cached {cached_ms:5.2f} ms ({cached_ms / CACHED_TARGET_MS:.2f} of target, "
                    f"{cached_ms / baseline:.2f}x the profile read)",
                    flush=True,
                )
    print(
        json.dumps(
            {"benchmark": "analytics", "profile_read_ms": round(baseline, 2), "reads": results}, indent=2
        )
    )
    if any(r["cold_vs_target"] > 1 or r["cached_vs_target"] > 1 for r in results):
        raise SystemExit("an analytics read missed its target")


if __name__ == "__main__":
    main()
