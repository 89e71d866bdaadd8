"""What the request guards (trainerday_server.guards) cost on the hottest request, the cached calendar read.

In process, on SQLite, ASGI calls straight into the app (no HTTP server, no test client): CPU time per
request of the app as served, and of the same app with the guards' middleware left out, measured in
alternating rounds; the ratio is what to watch (1.00 = free).

    python bench/guards_overhead.py [--requests 3000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import month_of_events

SECRET = "b" * 40


def seeded(data_dir: Path, url: str) -> str:
    """A migrated database with one athlete, a month of 25 events, and that athlete's key."""
    from starlette.testclient import TestClient

    from trainerday_server.accounts.service import create_athlete
    from trainerday_server.api_keys.service import create_key
    from trainerday_server.auth.scopes import ALL_SCOPES
    from trainerday_server.db import make_session_factory, session_scope
    from trainerday_server.migrate import upgrade

    upgrade(url)
    app = build(True, data_dir, url)
    with session_scope(make_session_factory(app.state.engine, writer=True)) as session:
        athlete = create_athlete(session, "bench@example.com", "bench password 1", name="Bench", ftp=250)
        token = create_key(session, SECRET.encode(), athlete.id, name="bench", scopes=ALL_SCOPES).plaintext
    with TestClient(app) as client:
        for body in month_of_events(25):
            response = client.post(
                "/api/v1/calendar/events", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 201, response.text
    return token


def build(guarded: bool, data_dir: Path, url: str):
    from trainerday_server.app import create_app
    from trainerday_server.config import Settings

    app = create_app(Settings(data_dir=data_dir, database_url=url, secret_key=SECRET))
    if not guarded:
        app.user_middleware = [
            m for m in app.user_middleware if m.cls.__module__ != "trainerday_server.guards"
        ]
    return app


def scope_for(token: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/calendar",
        "raw_path": b"/api/v1/calendar",
        "root_path": "",
        "query_string": b"startDate=2026-01-01&endDate=2026-01-31",
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def cpu_per_request(app, token: str, requests: int) -> float:
    statuses = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(50):  # warm: caches, lazily built middleware stack
        await app(scope_for(token), receive, send)
    statuses.clear()
    started = time.process_time()
    for _ in range(requests):
        await app(scope_for(token), receive, send)
    elapsed = time.process_time() - started
    assert set(statuses) == {200}, set(statuses)
    return elapsed / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        url = f"sqlite:///{data_dir / 'bench.db'}"
        token = seeded(data_dir, url)
        apps = {"guarded": build(True, data_dir, url), "bare": build(False, data_dir, url)}
        results: dict[str, list[float]] = {"guarded": [], "bare": []}
        for _ in range(args.rounds):
            for name, app in apps.items():
                results[name].append(asyncio.run(cpu_per_request(app, token, args.requests)))
    guarded, bare = (statistics.median(results[n]) for n in ("guarded", "bare"))
    print(f"cached calendar read, CPU per request (median of {args.rounds} rounds of {args.requests}):")
    print(f"  without guards {bare:7.1f} µs")
    print(f"  with guards    {guarded:7.1f} µs   ratio {guarded / bare:.2f}")


if __name__ == "__main__":
    main()
