"""Authenticated month read of the calendar, against a bare Starlette app serving the same bytes.

Both servers run in their own uvicorn process (one worker, same options) on loopback; wrk loads them in
alternating rounds so that whatever else the machine does falls on both alike. The figure that matters is the
ratio of requests per second, median over rounds. Targets (issue 2): >= 0.25, 0.4 outstanding; issue 13:
>= 0.4 in the default configuration, the access log on.

    python bench/calendar_read.py [--rounds 5] [--seconds 5] [--connections 16] [--events 25]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, load, month_of_events, seed_athlete, start_process, stop_process, wait_ready

BARE_APP = """
import os
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

BODY = open(os.environ["BENCH_BODY"], "rb").read()

async def calendar(request):
    return Response(BODY, media_type="application/json")

app = Starlette(routes=[Route("/api/v1/calendar", calendar)])
"""


def plan_month(base_url: str, key: str, events: int) -> None:
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as api:
        for body in month_of_events(events):
            api.post("/api/v1/calendar/events", json=body).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--events", type=int, default=25)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINERDAY_")}
        # The default configuration (log level info, the JSON access log on, written to server.log), with the
        # rate limiter counting every request under a limit too high to refuse any.
        env |= {"TRAINERDAY_DATA_DIR": tmp, "TRAINERDAY_RATE_LIMIT": "1000000000/minute"}
        key = seed_athlete(env)
        port = free_port()
        server = start_process(
            [sys.executable, "-m", "trainerday_server.cli", "serve", "--port", str(port)],
            env,
            Path(tmp, "server.log"),
        )
        bare = None
        try:
            app_url = f"http://127.0.0.1:{port}"
            wait_ready(app_url + "/healthz")
            plan_month(app_url, key, args.events)
            path = "/api/v1/calendar?startDate=2026-01-01&endDate=2026-01-31"
            body = httpx.get(app_url + path, headers={"Authorization": f"Bearer {key}"}).content
            assert len(json.loads(body)["data"]) == args.events
            Path(tmp, "body.json").write_bytes(body)
            Path(tmp, "bare_app.py").write_text(BARE_APP)
            bare_port = free_port()
            bare = start_process(
                [sys.executable, "-m", "uvicorn", "--app-dir", tmp, "bare_app:app", "--port", str(bare_port),
                 "--log-level", "warning"],
                {**env, "BENCH_BODY": str(Path(tmp, "body.json"))},
                Path(tmp, "bare.log"),
            )  # fmt: skip
            bare_url = f"http://127.0.0.1:{bare_port}"
            wait_ready(bare_url + path)
            headers = {"Authorization": f"Bearer {key}"}
            rounds = []
            for _ in range(args.rounds):
                b = load(bare_url + path, headers, args.seconds, args.connections, bare.pid)
                a = load(app_url + path, headers, args.seconds, args.connections, server.pid)
                rounds.append((b, a))
                print(
                    f"  bare {b.rps:7.0f} req/s {b.cpu_us_per_request:6.0f} µs CPU/req   "
                    f"trainerday {a.rps:7.0f} req/s {a.cpu_us_per_request:6.0f} µs CPU/req   "
                    f"ratio {a.rps / b.rps:.3f} (rps) "
                    f"{b.cpu_us_per_request / a.cpu_us_per_request:.3f} (CPU)",
                    flush=True,
                )
        finally:
            stop_process(server)
            if bare is not None:
                stop_process(bare)

    rps_ratios = [a.rps / b.rps for b, a in rounds]
    cpu_ratios = [b.cpu_us_per_request / a.cpu_us_per_request for b, a in rounds]
    result = {
        "benchmark": "calendar_read",
        "events": args.events,
        "body_bytes": len(body),
        "bare_rps_median": round(statistics.median(b.rps for b, _ in rounds)),
        "trainerday_rps_median": round(statistics.median(a.rps for _, a in rounds)),
        "bare_cpu_us_per_request": round(statistics.median(b.cpu_us_per_request for b, _ in rounds), 1),
        "trainerday_cpu_us_per_request": round(statistics.median(a.cpu_us_per_request for _, a in rounds), 1),
        "ratio_rps_median": round(statistics.median(rps_ratios), 3),
        "ratio_rps_range": [round(min(rps_ratios), 3), round(max(rps_ratios), 3)],
        "ratio_cpu_median": round(statistics.median(cpu_ratios), 3),
        "ratio_cpu_range": [round(min(cpu_ratios), 3), round(max(cpu_ratios), 3)],
    }
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "calendar_read.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
