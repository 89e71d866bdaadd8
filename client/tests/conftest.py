"""The SDK's tests: unit tests use ``httpx.MockTransport`` (``mock_api.py``, no network); the live tests
start the real ``trainerday-server`` on a free port (the fixtures below)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

SECRET = "client-tests-secret-key-not-for-production-0123456789"
PASSWORD = "correct horse battery"
BIN = Path(sys.executable).parent


def _server_command() -> list[str]:
    """``trainerday-server`` from the same environment as the tests (the project's .venv)."""
    installed = BIN / "trainerday-server"
    if installed.exists():
        return [str(installed)]
    found = shutil.which("trainerday-server")
    if found is None:
        pytest.skip("trainerday-server is not installed here (make install-test installs it): no live server")
    return [found]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Account:
    athlete_id: int
    email: str
    api_key: str


@dataclass
class LiveServer:
    base_url: str
    env: dict[str, str]
    command: list[str]
    _pool: list[Account]
    _made: int = 0

    def admin(self, *args: str) -> str:
        """Run ``trainerday-server ARGS`` against this server's database; its standard output."""
        done = subprocess.run(
            [*self.command, *args], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, f"trainerday-server {' '.join(args)} failed:\n{done.stderr}"
        return done.stdout.strip()

    def new_account(self, ftp: int = 250) -> Account:
        """A fresh athlete with an all-scopes key. The first is made with the real admin commands; the rest in
        batches by one process calling the same service functions, as starting the CLI costs seconds."""
        if not self._pool:
            self._pool.extend(self._seed(8, ftp))
        return self._pool.pop()

    def _seed(self, count: int, ftp: int) -> list[Account]:
        start = self._made
        self._made += count
        script = (
            "import sys\n"
            "from trainerday_server.cli import run\n"
            "from trainerday_server.config import get_settings\n"
            "from trainerday_server.accounts.service import create_athlete\n"
            "from trainerday_server.api_keys.service import create_key\n"
            "from trainerday_server.auth.scopes import parse_scopes\n"
            "secret = get_settings().resolved_secret_key\n"
            f"for n in range({start}, {start + count}):\n"
            "    def make(session, n=n):\n"
            f"        athlete = create_athlete(session, f'rider{{n}}@sdk.test', {PASSWORD!r},"
            f" name=f'Rider {{n}}', ftp={ftp})\n"
            "        session.flush()\n"
            "        key = create_key(session, secret, athlete.id, name='tests', scopes=parse_scopes(None))\n"
            "        return athlete.id, key.plaintext\n"
            "    athlete_id, key = run(make)\n"
            "    print(athlete_id, f'rider{n}@sdk.test', key)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        accounts = []
        for line in done.stdout.splitlines():
            athlete_id, email, key = line.split()
            accounts.append(Account(int(athlete_id), email, key))
        return accounts


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real server: migrated with ``db upgrade``, one athlete made with ``users create`` and ``keys
    create``, then ``serve`` on a free loopback port, on its own SQLite database and data directory."""
    command = _server_command()
    data_dir = tmp_path_factory.mktemp("server-data")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "TRAINERDAY_DATA_DIR": str(data_dir),
        "TRAINERDAY_DATABASE_URL": f"sqlite:///{data_dir / 'trainerday.db'}",
        "TRAINERDAY_SECRET_KEY": SECRET,
        "TRAINERDAY_BASE_URL": base_url,
        "TRAINERDAY_LOG_LEVEL": "warning",
    }
    for name in ("TRAINERDAY_API_KEY",):
        env.pop(name, None)
    server = LiveServer(base_url, env, command, [])
    server.admin("db", "upgrade")
    first_id = int(server.admin("users", "create", "first@sdk.test", "--password", PASSWORD, "--ftp", "250"))
    first_key = server.admin("keys", "create", "first@sdk.test").splitlines()[-1]
    server._pool.append(Account(first_id, "first@sdk.test", first_key))
    log_path = data_dir / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def account(live_server: LiveServer) -> Account:
    """A fresh athlete of its own for each test (FTP 250, a key with every scope)."""
    return live_server.new_account()
