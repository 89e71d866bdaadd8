"""Helpers shared by the benchmarks: processes on loopback and a load generator."""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import fitdecode
import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_process(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def month_of_events(events: int) -> list[dict[str, object]]:
    """Calendar event bodies for January 2026: structured workouts, and a rest note every fifth day."""
    bodies: list[dict[str, object]] = []
    for i in range(events):
        day = f"2026-01-{i % 31 + 1:02d}"
        if i % 5 == 4:
            bodies.append({"calendarDate": day, "title": "Rest", "notes": "Easy day, stretch."})
            continue
        hard, easy = 90 + i % 20, 50 + i % 7  # no two workouts alike, as planned metrics are remembered
        segments = [
            [10, 50, 65],
            [5, hard, hard],
            [3, easy, easy],
            [5, hard, hard],
            [3, easy, easy],
            [10, 60, 45],
        ]
        bodies.append(
            {"calendarDate": day, "embedWorkout": {"title": f"Intervals {i}", "segments": segments}}
        )
    return bodies


def ensure_wrk() -> str:
    """wrk, installed from Debian's packages if it is missing and we may."""
    path = shutil.which("wrk")
    if path is None and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True)
        path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is needed for the HTTP benchmarks: apt-get install wrk")
    return path


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Load:
    rps: float  # requests per second wrk sustained
    cpu_us_per_request: float  # server CPU time per request: steadier than rps on a busy machine


def load(url: str, headers: dict[str, str], seconds: int, connections: int, pid: int) -> Load:
    """Load ``url`` with wrk (one thread) and measure the server process ``pid``; non-2xx is an error."""
    argv = [ensure_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    cpu_before = cpu_seconds(pid)
    output = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - cpu_before
    if "Non-2xx" in output:
        raise RuntimeError(f"errors under load:\n{output}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    count = re.search(r"(\d+) requests in", output)
    if not rps or not count:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return Load(float(rps.group(1)), cpu / int(count.group(1)) * 1e6)


def seed_athlete(env: dict[str, str]) -> str:
    """Migrate the database ``env`` names and create one athlete (FTP 250) with an all-scopes key; the key."""
    cli = [sys.executable, "-m", "trainerday_server.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*cli, "users", "create", "bench@example.com", "--password", "bench password", "--ftp", "250"],
        env=env,
        check=True,
        capture_output=True,
    )
    return subprocess.run(
        [*cli, "keys", "create", "bench@example.com"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def bare_fitdecode(data: bytes) -> None:
    """The baseline the activity budgets are measured against: fitdecode iterating every frame with its
    default options (CRC checked); a damaged file is read up to its damage."""
    with fitdecode.FitReader(data) as reader:
        try:
            for _ in reader:
                pass
        except fitdecode.FitError:
            pass


def median_seconds(functions: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median time of each function, the functions interleaved round by round."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            started = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}
