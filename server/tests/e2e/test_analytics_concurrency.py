"""Analytics under concurrent traffic on a real server process: reads, recomputes, uploads, deletes and FTP
changes at once never answer 500, and once the traffic stops every figure is what the test computes itself
from the rides that remain."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
from typing import Any

import httpx
import pytest

from tests.analytics.rides import ride_file
from tests.analytics.test_analytics_api import expected_curve, expected_fitness
from tests.conftest import bearer

START, END = dt.date(2025, 1, 1), dt.date(2025, 2, 28)
WINDOW = {"startDate": START.isoformat(), "endDate": END.isoformat()}


@pytest.mark.slow
def test_concurrent_reads_recomputes_uploads_and_deletes(live_server, factory):
    athlete = factory.athlete(ftp=220)
    headers = bearer(factory.key(athlete.id))

    def job(n: int) -> tuple[int, int, str]:
        with httpx.Client(base_url=live_server.base_url, headers=headers, timeout=120) as api:
            kind = n % 6
            if kind == 0:
                response = api.get("/api/v1/athlete/fitness", params=WINDOW)
            elif kind == 1:
                response = api.get("/api/v1/athlete/power-curve", params=WINDOW)
            elif kind == 2:
                response = api.get("/api/v1/athlete/summary", params={**WINDOW, "period": "week"})
            elif kind == 3:
                response = api.post("/api/v1/activities/recompute", params={"since": START.isoformat()})
            elif kind == 4:
                start = dt.datetime(2025, 1, 1 + n % 28, 7, tzinfo=dt.UTC)
                body = ride_file(start, minutes=25, seed=n, watts_scale=0.8 + n / 100)
                response = api.post("/api/v1/activities/upload", files={"file": ("ride.fit", body)})
                if response.status_code == 201 and n % 12 == 4:
                    response = api.delete(f"/api/v1/activities/{response.json()['id']}")
            else:
                response = api.patch("/api/v1/athlete", json={"ftp": 200 + n})
            return kind, response.status_code, response.text[:300]

    with concurrent.futures.ThreadPoolExecutor(max_workers=30) as pool:
        results = list(pool.map(job, range(60)))
    failures = [r for r in results if r[1] >= 500 or r[1] not in (200, 201, 204, 409)]
    assert failures == []

    with httpx.Client(base_url=live_server.base_url, headers=headers, timeout=120) as api:
        # Once the traffic stops, a recompute puts every ride at the FTP now (all changes were today, so it
        # is in force for every earlier ride); the figures then follow the rides that remain.
        assert (
            api.post("/api/v1/activities/recompute", params={"since": START.isoformat()}).status_code == 200
        )
        page = api.get("/api/v1/activities", params={"pageSize": 100}).json()
        rides: list[dict[str, Any]] = [api.get(f"/api/v1/activities/{a['id']}").json() for a in page["data"]]
        assert len(rides) >= 5
        assert {r["ftp"] for r in rides} == {api.get("/api/v1/athlete").json()["ftp"]}
        days = api.get("/api/v1/athlete/fitness", params=WINDOW).json()["days"]
        for got, want in zip(days, expected_fitness(rides, START, END), strict=True):
            assert got["date"] == want["date"] and got["tss"] == want["tss"]
            for name in ("ctl", "atl", "tsb", "rampRate"):
                assert got[name] == pytest.approx(want[name], abs=0.006), (got["date"], name)
        points = api.get("/api/v1/athlete/power-curve", params=WINDOW).json()["points"]
        assert [(p["seconds"], p["watts"], p["activityId"]) for p in points] == expected_curve(rides)
        weeks = api.get("/api/v1/athlete/summary", params={**WINDOW, "period": "week"}).json()["periods"]
        assert sum(w["done"]["rides"] for w in weeks) == len(rides)
        assert sum(w["done"]["tss"] for w in weeks) == pytest.approx(sum(r["tss"] for r in rides), abs=0.5)
