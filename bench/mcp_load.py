"""The MCP endpoint under load: concurrent MCP sessions (the official SDK's client) calling the calendar tool,
against the REST calendar read of the same month, on the same server process.

One uvicorn worker on loopback. Each round first has every session call ``get_calendar`` (every answer
checked: no tool error, the month's events), then the same calls POSTed by a light client (as light as
the REST round's, which isolates the server's cost from the SDK client's pace), then the same number of REST
reads at the same concurrency (every answer checked), and measures the server process's CPU time per request
for each. The figure that matters is the ratio of CPU per request, MCP over REST, median over rounds.
Target (issue 16): within 2x.

    python bench/mcp_load.py [--sessions 50] [--calls 10] [--rounds 3] [--events 25]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import httpx
import httpx2
import orjson
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import (  # noqa: E402
    cpu_seconds,
    free_port,
    month_of_events,
    seed_athlete,
    start_process,
    stop_process,
    wait_ready,
)

MONTH = {"startDate": "2026-01-01", "endDate": "2026-01-31"}


def pool_limits(connections: int) -> httpx2.Limits:
    # Idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them: a request sent on a
    # connection the server is closing fails with ReadError, a race of the load generator's, not the server's.
    return httpx2.Limits(
        max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=2
    )


def plan_month(base_url: str, key: str, events: int) -> None:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as api:
        for body in month_of_events(events):
            api.post("/api/v1/calendar/events", json=body).raise_for_status()


async def mcp_round(url: str, key: str, sessions: int, calls: int, events: int, pid: int, mode: str) -> float:
    """Server CPU µs per tool call, with ``sessions`` SDK clients calling at once."""
    async with httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
        limits=pool_limits(sessions),
    ) as http:
        connected = 0
        all_connected, start = asyncio.Event(), asyncio.Event()

        async def session() -> None:
            nonlocal connected
            async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
                connected += 1  # the handshakes are not measured
                if connected == sessions:
                    all_connected.set()
                await start.wait()
                for _ in range(calls):
                    result = await client.call_tool("get_calendar", MONTH)
                    if result.is_error or result.structured_content is None:
                        raise RuntimeError(f"tool error under load: {result.content}")
                    if len(result.structured_content["data"]) != events:
                        raise RuntimeError("the calendar tool answered the wrong month")

        tasks = [asyncio.create_task(session()) for _ in range(sessions)]
        await all_connected.wait()
        before = cpu_seconds(pid)
        start.set()
        await asyncio.gather(*tasks)
        return (cpu_seconds(pid) - before) / (sessions * calls) * 1e6


ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
}


async def raw_round(url: str, key: str, sessions: int, calls: int, events: int, pid: int) -> float:
    """Server CPU µs per tool call, the same call POSTed by a client as light as the REST round's: the SDK's
    client is heavier (it validates every result against the output schema), so it sends its requests more
    slowly and the server wakes up once per request, which costs it CPU the REST round does not pay."""
    body = orjson.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "get_calendar", "arguments": MONTH, "_meta": ENVELOPE},
        }
    )
    headers = {
        "Authorization": f"Bearer {key}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "get_calendar",
    }
    async with httpx2.AsyncClient(headers=headers, timeout=60, limits=pool_limits(sessions)) as http:
        await http.post(url, content=body)
        before = cpu_seconds(pid)

        async def caller() -> None:
            for _ in range(calls):
                response = await http.post(url, content=body)
                answer = orjson.loads(response.content)
                if response.status_code != 200 or answer["result"]["isError"]:
                    raise RuntimeError(f"MCP error under load: {response.text[:200]}")
                if len(answer["result"]["structuredContent"]["data"]) != events:
                    raise RuntimeError("the calendar tool answered the wrong month")

        await asyncio.gather(*(caller() for _ in range(sessions)))
        return (cpu_seconds(pid) - before) / (sessions * calls) * 1e6


async def rest_round(base_url: str, key: str, sessions: int, calls: int, events: int, pid: int) -> float:
    """Server CPU µs per REST calendar read, ``sessions`` clients reading at once."""
    async with httpx2.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
        limits=pool_limits(sessions),
    ) as http:
        await http.get("/api/v1/calendar", params=MONTH)
        before = cpu_seconds(pid)

        async def reader() -> None:
            for _ in range(calls):
                response = await http.get("/api/v1/calendar", params=MONTH)
                if response.status_code != 200 or len(response.json()["data"]) != events:
                    raise RuntimeError(f"REST error under load: {response.status_code}")

        await asyncio.gather(*(reader() for _ in range(sessions)))
        return (cpu_seconds(pid) - before) / (sessions * calls) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=25)
    parser.add_argument(
        "--mode",
        default="auto",
        help="the SDK client's protocol mode: auto (its default: the stateless 2026-07-28 envelope when the "
        "server speaks it, as this one does) or legacy (the initialize handshake, 2025-11-25)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINERDAY_")}
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env |= {
            "TRAINERDAY_DATA_DIR": tmp,
            "TRAINERDAY_LOG_LEVEL": "warning",
            "TRAINERDAY_BASE_URL": base_url,
            # Limited as served (the limiter's cost counts), with a budget no round can exhaust.
            "TRAINERDAY_RATE_LIMIT": "1000000000/minute",
        }
        key = seed_athlete(env)
        server = start_process(
            [sys.executable, "-m", "trainerday_server.cli", "serve", "--port", str(port)],
            env,
            Path(tmp, "server.log"),
        )
        try:
            wait_ready(base_url + "/healthz")
            plan_month(base_url, key, args.events)
            rounds = []
            raws: list[float] = []
            for _ in range(args.rounds):
                mcp = asyncio.run(
                    mcp_round(
                        base_url + "/mcp", key, args.sessions, args.calls, args.events, server.pid, args.mode
                    )
                )
                raw = asyncio.run(
                    raw_round(base_url + "/mcp", key, args.sessions, args.calls, args.events, server.pid)
                )
                rest = asyncio.run(
                    rest_round(base_url, key, args.sessions, args.calls, args.events, server.pid)
                )
                rounds.append((mcp, rest))
                raws.append(raw)
                print(
                    f"  MCP get_calendar {mcp:7.0f} µs CPU/call (light client {raw:5.0f})   "
                    f"REST calendar {rest:7.0f} µs CPU/read   ratio {mcp / rest:.2f} (light client "
                    f"{raw / rest:.2f})",
                    flush=True,
                )
        except BaseException:
            print("server log:\n" + Path(tmp, "server.log").read_text()[-5000:], file=sys.stderr)
            raise
        finally:
            stop_process(server)

    ratios = [mcp / rest for mcp, rest in rounds]
    light_ratios = [raw / rest for raw, (_, rest) in zip(raws, rounds, strict=True)]
    result = {
        "benchmark": "mcp",
        "sessions": args.sessions,
        "calls_per_session": args.calls,
        "events": args.events,
        "mode": args.mode,
        "errors": 0,
        "mcp_cpu_us_per_call": round(statistics.median(m for m, _ in rounds), 1),
        "rest_cpu_us_per_read": round(statistics.median(r for _, r in rounds), 1),
        "ratio_median": round(statistics.median(ratios), 2),
        "ratio_range": [round(min(ratios), 2), round(max(ratios), 2)],
        "mcp_light_client_cpu_us_per_call": round(statistics.median(raws), 1),
        "ratio_light_client_median": round(statistics.median(light_ratios), 2),
        "target_ratio": 2.0,
    }
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "mcp.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
