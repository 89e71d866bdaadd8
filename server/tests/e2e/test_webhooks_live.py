"""Webhooks through real server processes: the worker inside ``serve``, a restart after a kill, retries on
a receiver that is down, and ``trainerday-server worker`` on its own.

Each test runs its own server on its own fresh database: the session's shared server has no worker, and
deliveries queued here must not be taken by anyone else.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET, bearer, free_port, server_env
from tests.webhooks.receiver import Receiver
from trainerday_server.accounts.service import create_athlete
from trainerday_server.api_keys.service import create_key
from trainerday_server.auth.scopes import ALL_SCOPES
from trainerday_server.db import create_db_engine, make_session_factory, session_scope
from trainerday_server.migrate import upgrade

RIDE = "fit/2020-06-01-16-52-40.fit"
SCHEDULE = "0.2,0.4,0.8"


@dataclass
class Deployment:
    """A fresh database and the servers (or workers) started on it."""

    tmp: Path
    url: str
    key: str
    processes: list[subprocess.Popen[bytes]]

    def env(self, port: int, **extra: str) -> dict[str, str]:
        env = server_env(self.url, self.tmp / "data", f"http://127.0.0.1:{port}")
        env.update(
            TRAINERDAY_WEBHOOKS_WORKER="true",
            TRAINERDAY_WEBHOOKS_ALLOW_HTTP="true",
            TRAINERDAY_WEBHOOKS_RETRY_SCHEDULE=SCHEDULE,
            TRAINERDAY_WEBHOOKS_POLL_SECONDS="0.2",
            TRAINERDAY_WEBHOOKS_TIMEOUT_SECONDS="2",
        )
        env.update(extra)
        return env

    def serve(self, **extra: str) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        process = self._start(["serve", "--port", str(port)], self.env(port, **extra))
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return process, base
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, self.log()
            time.sleep(0.1)

    def worker(self) -> subprocess.Popen[bytes]:
        return self._start(["worker"], self.env(free_port()))

    def _start(self, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.tmp / "server.log", "ab")  # noqa: SIM115 - kept open for the process's life
        process = subprocess.Popen(
            [sys.executable, "-m", "trainerday_server.cli", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def log(self) -> str:
        return (self.tmp / "server.log").read_text(errors="replace")


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    upgrade(url)
    engine = create_db_engine(url)
    with session_scope(make_session_factory(engine, writer=True)) as session:
        athlete = create_athlete(session, "live@example.com", "correct horse battery", name="Live", ftp=250)
        key = create_key(session, TEST_SECRET.encode(), athlete.id, name="live", scopes=ALL_SCOPES).plaintext
    engine.dispose()
    deployment = Deployment(tmp_path, url, key, [])
    yield deployment
    for process in deployment.processes:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.down()


def subscribe(base: str, key: str, receiver: Receiver) -> str:
    response = httpx.post(
        f"{base}/api/v1/webhooks/subscriptions", json={"callbackUrl": receiver.url}, headers=bearer(key)
    )
    assert response.status_code == 201, response.text
    return str(response.json()["secret"])


def upload(base: str, key: str, samples: Path) -> dict:
    response = httpx.post(
        f"{base}/api/v1/activities/upload",
        headers=bearer(key),
        files={"file": ("ride.fit", (samples / RIDE).read_bytes())},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_ride_reaches_the_receiver_within_two_seconds(
    deployment: Deployment, receiver: Receiver, samples: Path
):
    _, base = deployment.serve()
    secret = subscribe(base, deployment.key, receiver)
    ride = upload(base, deployment.key, samples)
    committed = time.monotonic()
    [delivery] = receiver.wait_for(1, timeout=2.0)
    latency = time.monotonic() - committed
    payload = delivery.verified(secret)
    assert payload["type"] == "activity.created" and payload["data"]["id"] == ride["id"]
    assert latency < 2.0


def test_an_event_committed_before_a_kill_is_delivered_after_the_restart(
    deployment: Deployment, receiver: Receiver, samples: Path
):
    # The first server commits the ride but never delivers (no worker), then dies without any clean-up.
    first, base = deployment.serve(TRAINERDAY_WEBHOOKS_WORKER="false")
    secret = subscribe(base, deployment.key, receiver)
    ride = upload(base, deployment.key, samples)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert receiver.deliveries == []

    deployment.serve()
    [delivery] = receiver.wait_for(1, timeout=10)
    assert delivery.verified(secret)["data"]["id"] == ride["id"]


def test_a_receiver_down_for_three_attempts_gets_the_event_once(
    deployment: Deployment, receiver: Receiver, samples: Path
):
    _, base = deployment.serve()
    subscribe(base, deployment.key, receiver)
    receiver.down()
    upload(base, deployment.key, samples)
    deliveries = f"{base}/api/v1/webhooks/deliveries"
    deadline = time.monotonic() + 20
    while True:
        # Listed once the worker has fanned the event out (at once: the commit wakes it).
        listed = httpx.get(deliveries, headers=bearer(deployment.key)).json()["data"]
        if listed and listed[0]["attempts"] >= 3:
            [delivery] = listed
            break
        assert time.monotonic() < deadline, listed
        time.sleep(0.05)
    assert delivery["status"] == "pending" and "ConnectError" in delivery["lastError"]
    receiver.up()
    receiver.wait_for(1, timeout=10)
    time.sleep(1.0)  # anything sent twice would have arrived by now
    assert receiver.types() == ["activity.created"]
    [done] = httpx.get(deliveries, headers=bearer(deployment.key)).json()["data"]
    assert (done["status"], done["attempts"]) == ("delivered", 4)


def test_the_worker_command_delivers_for_a_server_without_one(
    deployment: Deployment, receiver: Receiver, samples: Path
):
    _, base = deployment.serve(TRAINERDAY_WEBHOOKS_WORKER="false")
    subscribe(base, deployment.key, receiver)
    upload(base, deployment.key, samples)
    worker = deployment.worker()
    receiver.wait_for(1, timeout=15)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=15) == 0, deployment.log()


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_a_bad_retry_schedule_is_refused_before_starting(tmp_path: Path, command: str):
    env = server_env(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, "http://127.0.0.1:1")
    env["TRAINERDAY_WEBHOOKS_RETRY_SCHEDULE"] = "1,two,4"
    result = subprocess.run(
        [sys.executable, "-m", "trainerday_server.cli", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "TRAINERDAY_WEBHOOKS_RETRY_SCHEDULE" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_server_killed_mid_delivery_sends_it_again_once_the_lease_ends(
    deployment: Deployment, receiver: Receiver, samples: Path
):
    import threading

    receiver.hold = threading.Event()
    first, base = deployment.serve(TRAINERDAY_WEBHOOKS_TIMEOUT_SECONDS="5")
    secret = subscribe(base, deployment.key, receiver)
    upload(base, deployment.key, samples)
    deadline = time.monotonic() + 10
    while not receiver.held:
        assert time.monotonic() < deadline, "the delivery never started"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)  # mid-delivery: sent, never answered, never recorded
    first.wait(timeout=10)
    hold, receiver.hold = receiver.hold, None
    hold.set()

    deployment.serve(TRAINERDAY_WEBHOOKS_TIMEOUT_SECONDS="5")
    [delivery] = receiver.wait_for(1, timeout=40)  # after the lease: timeout + 10 s
    assert delivery.headers["webhook-id"] == receiver.held[0].headers["webhook-id"]
    assert delivery.verified(secret)["type"] == "activity.created"
