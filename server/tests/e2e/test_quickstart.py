"""The public Quick Start against a real server process, over real HTTP."""

from __future__ import annotations

import httpx

from tests.conftest import bearer

SEED = (
    b'{"calendarDate":"2026-01-15","embedWorkout":{"title":"Easy Spin","durationMinutes":30,'
    b'"segments":[[10,50,50],[10,60,60],[10,45,45]]}}'
)


def test_quick_start(live_server, factory):
    athlete = factory.athlete(ftp=250)
    key = factory.key(athlete.id)
    with httpx.Client(base_url=live_server.base_url, headers=bearer(key)) as api:
        profile = api.get("/api/v1/athlete")
        assert profile.status_code == 200 and profile.json()["ftp"] == 250
        january = api.get("/api/v1/calendar", params={"startDate": "2026-01-01", "endDate": "2026-01-31"})
        assert january.status_code == 200 and january.json() == {"data": []}
        created = api.post(
            "/api/v1/calendar/events", content=SEED, headers={"Content-Type": "application/json"}
        )
        assert created.status_code == 201
        day = api.get("/api/v1/calendar", params={"startDate": "2026-01-15", "endDate": "2026-01-15"})
        assert [e["title"] for e in day.json()["data"]] == ["Easy Spin"]
        assert api.get(created.headers["location"]).json() == created.json()
