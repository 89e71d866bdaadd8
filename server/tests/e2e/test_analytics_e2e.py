"""The analytics over the shared real rides, against a real server process over HTTP: fitness and the season
curve checked against values computed here from each activity's own figures."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import httpx
import pytest

from tests.analytics.test_analytics_api import LADDER, expected_curve, expected_fitness
from tests.conftest import bearer


def test_fitness_and_season_curve_of_the_shared_rides(live_server, factory, samples):
    athlete = factory.athlete(ftp=230)
    with httpx.Client(
        base_url=live_server.base_url, headers=bearer(factory.key(athlete.id)), timeout=60
    ) as api:
        rides: list[dict[str, Any]] = []
        # The repository's recordings, and the copyleft ones where the shared collection is at hand.
        for path in sorted(p for p in (samples / "fit").iterdir() if p.is_file()):
            response = api.post("/api/v1/activities/upload", files={"file": (path.name, path.read_bytes())})
            assert response.status_code in (201, 400), (path.name, response.text)
            if response.status_code == 201:
                rides.append(response.json())
        with_power = [r for r in rides if r["powerCurve"]]
        assert len(rides) >= 8 and len(with_power) >= 5

        last = max(dt.date.fromisoformat(r["startTimeLocal"][:10]) for r in rides)
        end = last + dt.timedelta(days=14)
        start = end - dt.timedelta(days=3652)  # ten years: the limit
        fitness = api.get("/api/v1/athlete/fitness", params={"startDate": start, "endDate": end})
        assert fitness.status_code == 200, fitness.text
        expected = expected_fitness(rides, start, end)
        days = fitness.json()["days"]
        assert [d["date"] for d in days] == [e["date"] for e in expected]
        for got, want in zip(days, expected, strict=True):
            assert got["tss"] == want["tss"]
            for name in ("ctl", "atl", "tsb", "rampRate"):
                assert got[name] == pytest.approx(want[name], abs=0.006), (got["date"], name)
        assert max(d["ctl"] for d in days) > 1  # the rides' load shows

        curve = api.get("/api/v1/athlete/power-curve", params={"startDate": start, "endDate": last})
        assert curve.status_code == 200, curve.text
        in_range = [r for r in with_power if r["startTimeLocal"][:10] >= start.isoformat()]
        got = [(p["seconds"], p["watts"], p["activityId"]) for p in curve.json()["points"]]
        assert len(in_range) >= 3 and len(got) > 100
        assert got == expected_curve(in_range)
        assert [s for s, _, _ in got] == LADDER[: len(got)]
        assert all(a >= b for (_, a, _), (_, b, _) in itertools.pairwise(got))  # never rises
