"""Activity upload over HTTP: upload-to-201 time against a bare fitdecode parse of the same file, and the
server's peak memory while a 10-hour ride is uploaded.

Run: .venv/bin/python bench/activities_upload.py [--rounds 7]

The server is ``trainerday-server serve`` in its own process on loopback (SQLite, files in a temporary
directory). The file is the longest power FIT in the repository's recordings (server/tests/data/samples). Each
round times one bare fitdecode parse in this process and one upload (POST to 201: transfer, decode, metrics,
streams, duplicate checks, file write with fsync, commit), interleaved; the activity is deleted between
rounds, untimed. Targets (issue 4): upload at most 1.5x the parse, stretch 0.5x. Memory: a fresh server's peak
resident set (VmHWM) while it takes a generated 10-hour 1 Hz ride (``synthetic_ride_fit``), target under 200
MB."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from trainerday_server.activities.files import decode_upload
from trainerday_server.activities.synthetic import synthetic_ride_fit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bare_fitdecode, free_port, seed_athlete, start_process, stop_process, wait_ready

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = Path(__file__).resolve().parents[1] / "server" / "tests" / "data" / "samples"  # in-repo recordings


def longest_power_fit() -> Path:
    """The FIT sample with the most records among those that recorded power."""
    rides = []
    for path in sorted((SAMPLES / "fit").glob("*.fit*")):
        recording = decode_upload(path.read_bytes()).recording
        if recording.has("power"):
            rides.append((recording.sample_count, path))
    return max(rides)[1]


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set since the last reset (Linux VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc")


class Server:
    """A migrated database with one athlete, and the server on it."""

    def __init__(self, workdir: Path) -> None:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "TRAINERDAY_DATA_DIR": str(workdir),
            "TRAINERDAY_SECRET_KEY": "bench-secret-key-0123456789-0123456789",
            "TRAINERDAY_LOG_LEVEL": "warning",
        }
        self.headers = {"Authorization": f"Bearer {seed_athlete(env)}"}
        argv = [sys.executable, "-m", "trainerday_server.cli", "serve", "--port", str(port)]
        self.process = start_process(argv, env, workdir / "server.log")
        wait_ready(f"{self.base_url}/healthz")
        self.http = httpx.Client(base_url=self.base_url, headers=self.headers, timeout=120)

    def upload(self, data: bytes, name: str) -> str:
        response = self.http.post("/api/v1/activities/upload", files={"file": (name, data)})
        if response.status_code != 201:
            raise RuntimeError(f"upload failed: {response.status_code} {response.text}")
        return response.headers["location"]

    def close(self) -> None:
        self.http.close()
        stop_process(self.process)


def upload_time(path: Path, rounds: int) -> None:
    data = path.read_bytes()
    with tempfile.TemporaryDirectory() as workdir:
        server = Server(Path(workdir))
        try:
            server.http.delete(server.upload(data, path.name))  # warm-up: imports, first connections
            parse, upload = [], []
            for _ in range(rounds):
                started = time.perf_counter()
                bare_fitdecode(data)
                parse.append(time.perf_counter() - started)
                started = time.perf_counter()
                location = server.upload(data, path.name)
                upload.append(time.perf_counter() - started)
                server.http.delete(location)
        finally:
            server.close()
    parse_s, upload_s = statistics.median(parse), statistics.median(upload)
    print(f"{path.name}: {len(data):,} bytes, median of {rounds} interleaved rounds")
    print(f"  bare fitdecode parse      {parse_s * 1000:8.1f} ms")
    print(f"  upload to 201 over HTTP   {upload_s * 1000:8.1f} ms")
    print(f"  upload / parse            {upload_s / parse_s:8.3f}   (target <= 1.5, stretch <= 0.5)")


def upload_memory() -> None:
    data = synthetic_ride_fit(hours=10)
    small = synthetic_ride_fit(hours=0.1, seed=1)
    with tempfile.TemporaryDirectory() as workdir:
        server = Server(Path(workdir))
        try:
            pid = server.process.pid
            server.upload(small, "warm-up.fit")  # imports and first-use allocations, as any running server
            before = rss_mb(pid)
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
            server.upload(data, "ten-hours.fit")
            peak = peak_rss_mb(pid)
        finally:
            server.close()
    print(f"10-hour 1 Hz ride, {len(data):,} bytes of FIT:")
    print(f"  server RSS before the upload   {before:6.1f} MB")
    print(f"  server peak RSS during it       {peak:6.1f} MB   (target < 200 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    upload_time(longest_power_fit(), args.rounds)
    upload_memory()


if __name__ == "__main__":
    main()
