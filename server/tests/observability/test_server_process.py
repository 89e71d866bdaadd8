"""The access log of a real ``trainerday-server serve`` process: JSON lines on standard error, uvicorn's own
access log off, and a refused token in the URL never written (issue 14, "secrets in logs")."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Database, free_port, server_env

SECRET_TOKEN = "td_NeverLogMe0123456789abcdefghijklmnopqrstuv"
SECRET_CLIENT = "tds_AlsoNeverLogMe0123456789abcdefghijklmnop"


def start_server(env: dict[str, str], log_path: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "trainerday_server.cli", "serve", "--port", str(port), *extra],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop_server can end the workers with it
        )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return process, base_url
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the server did not start:\n{log_path.read_text()}")
        time.sleep(0.1)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    # Workers that outlived their supervisor (killed above, or crashed) would hold the port forever.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def served(db: Database, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    env = server_env(db.url, tmp_path / "data", "http://127.0.0.1")
    env["TRAINERDAY_LOG_LEVEL"] = "info"  # the default, under which uvicorn logged every URL in clear
    log_path = tmp_path / "server.log"
    process, base_url = start_server(env, log_path)
    try:
        yield base_url, log_path
    finally:
        stop_server(process)


def test_refused_secrets_in_the_url_are_not_written_to_the_log(served: tuple[str, Path]) -> None:
    base_url, log_path = served
    refused = httpx.get(f"{base_url}/api/v1/athlete?access_token={SECRET_TOKEN}", timeout=10)
    assert refused.status_code == 400
    httpx.post(
        f"{base_url}/oauth/token?client_secret={SECRET_CLIENT}",
        data={"grant_type": "client_credentials"},
        timeout=10,
    )
    request_id = refused.headers["x-request-id"]
    deadline = time.monotonic() + 5
    while request_id not in log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = log_path.read_text()
    assert SECRET_TOKEN not in log and SECRET_TOKEN[3:24] not in log
    assert SECRET_CLIENT not in log and SECRET_CLIENT[4:24] not in log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    ours = next(line for line in lines if line["requestId"] == request_id)
    assert ours["route"] == "/api/v1/athlete"
    assert ours["status"] == 400
    assert ours["query"] == "access_token=[REDACTED]"
    assert '"GET /api/v1/athlete' not in log  # uvicorn's access log line: off


@pytest.mark.slow
def test_two_workers_report_their_requests_together(db: Database, tmp_path: Path) -> None:
    """``serve --workers 2`` shares metrics through PROMETHEUS_MULTIPROC_DIR: whichever worker answers the
    scrape counts every worker's requests."""
    env = server_env(db.url, tmp_path / "data", "http://127.0.0.1")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process, base_url = start_server(env, tmp_path / "server.log", "--workers", "2")
    try:
        for _ in range(40):  # a new connection each: the kernel spreads them over both workers
            assert httpx.get(f"{base_url}/readyz", timeout=10).status_code == 200
        # A request is counted just after its answer is sent: let the last ones land first.
        deadline = time.monotonic() + 10
        while _readyz_count(base_url) != 40 and time.monotonic() < deadline:
            time.sleep(0.1)
        counts = {_readyz_count(base_url) for _ in range(6)}
    finally:
        stop_server(process)
    assert counts == {40.0}


def _readyz_count(base_url: str) -> float:
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    for line in text.splitlines():
        if (
            line.startswith("trainerday_http_request_duration_seconds_count{")
            and 'route="/readyz"' in line
            and 'status="200"' in line
        ):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
