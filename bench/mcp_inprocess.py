"""What an MCP call costs the app itself, beside the REST calendar read: in process, on SQLite, ASGI calls
straight into the app as served (no HTTP server, no client), CPU time per request, in alternating rounds.

    python bench/mcp_inprocess.py [--requests 2000] [--rounds 5]

The app is measured as served, access log included (its lines go to /dev/null while measuring).

Rows: the REST month read; ``get_calendar`` for the same month in each protocol era (2025-11-25 with the
version header, 2026-07-28 with its envelope and routing headers); ``ping`` (the floor: authentication and one
exchange through the SDK's kernel); ``tools/list``. ``bench/mcp_load.py`` measures the same over HTTP
under load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import guards_overhead

MONTH = {"startDate": "2026-01-01", "endDate": "2026-01-31"}
ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
}


def scope(method: str, path: str, token: str, headers: list[tuple[bytes, bytes]], query: bytes = b"") -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode()), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def cases(token: str) -> dict[str, tuple[dict, bytes]]:
    json_headers = [
        (b"accept", b"application/json, text/event-stream"),
        (b"content-type", b"application/json"),
    ]
    legacy = [*json_headers, (b"mcp-protocol-version", b"2025-11-25")]

    def modern(method: str, name: str | None = None) -> list[tuple[bytes, bytes]]:
        routing = [(b"mcp-protocol-version", b"2026-07-28"), (b"mcp-method", method.encode())]
        return [*json_headers, *routing, *([(b"mcp-name", name.encode())] if name else [])]

    def rpc(method: str, params: dict[str, Any] | None = None) -> bytes:
        return json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}).encode()

    call = {"name": "get_calendar", "arguments": MONTH}
    return {
        "REST GET /api/v1/calendar": (
            scope("GET", "/api/v1/calendar", token, [], b"startDate=2026-01-01&endDate=2026-01-31"),
            b"",
        ),
        "MCP get_calendar, 2025-11-25": (scope("POST", "/mcp", token, legacy), rpc("tools/call", call)),
        "MCP get_calendar, 2026-07-28": (
            scope("POST", "/mcp", token, modern("tools/call", "get_calendar")),
            rpc("tools/call", {**call, "_meta": ENVELOPE}),
        ),
        "MCP ping, 2025-11-25": (scope("POST", "/mcp", token, legacy), rpc("ping")),
        "MCP tools/list, 2026-07-28": (
            scope("POST", "/mcp", token, modern("tools/list")),
            rpc("tools/list", {"_meta": ENVELOPE}),
        ),
    }


async def call(app: Any, request_scope: dict, body: bytes) -> tuple[int, bytes]:
    status, chunks, sent = 0, [], False

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(dict(request_scope), receive, send)
    return status, b"".join(chunks)


async def measure(app: Any, token: str, requests: int, rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    async with app.router.lifespan_context(app):
        for name, (request_scope, body) in cases(token).items():
            for _ in range(50):  # warm: caches, the middleware stack
                status, answer = await call(app, request_scope, body)
            assert status == 200 and b'"isError":true' not in answer, (name, status, answer[:300])
            times[name] = []
        for _ in range(rounds):
            for name, (request_scope, body) in cases(token).items():
                started = time.process_time()
                for _ in range(requests):
                    await call(app, request_scope, body)
                times[name].append((time.process_time() - started) / requests * 1e6)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ["TRAINERDAY_RATE_LIMIT"] = "1000000000/minute"
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        url = f"sqlite:///{data_dir / 'bench.db'}"
        token = guards_overhead.seeded(data_dir, url)
        app = guards_overhead.build(True, data_dir, url)
        saved = os.dup(2)
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                times = asyncio.run(measure(app, token, args.requests, args.rounds))
            finally:
                os.dup2(saved, 2)
                os.close(saved)
    rest = statistics.median(next(iter(times.values())))
    print(f"CPU per request, in process (median of {args.rounds} rounds of {args.requests}):")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:30s} {median:7.1f} µs   x{median / rest:.2f} the REST read")


if __name__ == "__main__":
    main()
