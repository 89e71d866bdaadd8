"""``trainerday-server`` as an operator runs it: a separate process, real database, exit codes and output."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import bearer


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trainerday_server.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def fresh_env(tmp_path: Path) -> dict[str, str]:
    """An empty data directory: SQLite database and secret are created there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINERDAY_")}
    env["TRAINERDAY_DATA_DIR"] = str(tmp_path / "data")
    return env


def test_commands_refuse_an_unmigrated_database(fresh_env):
    result = cli(fresh_env, "users", "create", "a@example.com", "--password", "password123")
    assert result.returncode == 1
    assert "db upgrade" in result.stderr


def test_user_and_key_lifecycle(fresh_env, tmp_path):
    assert cli(fresh_env, "db", "upgrade").returncode == 0
    assert (tmp_path / "data" / "trainerday.db").exists()
    secret_file = tmp_path / "data" / "secret_key"
    assert secret_file.exists() and oct(secret_file.stat().st_mode & 0o777) == "0o600"

    created = cli(
        fresh_env, "users", "create", "Rider@Example.com", "--password", "password123", "--ftp", "275"
    )
    assert created.returncode == 0, created.stderr
    assert re.fullmatch(r"\d+\n", created.stdout)

    key = cli(
        fresh_env, "keys", "create", "rider@example.com", "--name", "laptop", "--scopes", "calendar:read"
    )
    assert key.returncode == 0, key.stderr
    assert re.fullmatch(r"td_[A-Za-z0-9_-]{43}\n", key.stdout)  # the key alone on standard output

    listed = cli(fresh_env, "keys", "list", "rider@example.com")
    assert listed.returncode == 0
    assert "laptop" in listed.stdout and "calendar:read" in listed.stdout
    assert key.stdout.strip() not in listed.stdout
    assert key.stdout.strip()[:7] in listed.stdout

    assert cli(fresh_env, "keys", "revoke", "1").returncode == 0
    assert cli(fresh_env, "keys", "revoke", "99").returncode == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "create", "not-an-email", "--password", "password123"], "not an email"),
        (["users", "create", "a@example.com", "--password", "short"], "at least 8"),
        (["users", "create", "a@example.com", "--password", "password123", "--ftp", "0"], "ftp"),
        (["keys", "create", "nobody@example.com"], "no athlete"),
        (["keys", "list", "nobody@example.com"], "no athlete"),
        (["keys", "revoke", "not-a-number"], "valid integer"),
    ],
)
def test_bad_input_is_a_clear_error_and_nonzero_exit(fresh_env, args, message):
    assert cli(fresh_env, "db", "upgrade").returncode == 0
    result = cli(fresh_env, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_scope_and_duplicate_email(fresh_env):
    cli(fresh_env, "db", "upgrade")
    cli(fresh_env, "users", "create", "a@example.com", "--password", "password123")
    duplicate = cli(fresh_env, "users", "create", "A@example.com", "--password", "password123")
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    bad_scope = cli(fresh_env, "keys", "create", "a@example.com", "--scopes", "calendar:read everything")
    assert bad_scope.returncode == 1 and "everything" in bad_scope.stderr


def test_demo_prints_a_key_only_the_first_time(fresh_env):
    cli(fresh_env, "db", "upgrade")
    first = cli(fresh_env, "demo")
    assert first.returncode == 0
    assert re.search(r"td_[A-Za-z0-9_-]{43}", first.stderr)
    second = cli(fresh_env, "demo")
    assert second.returncode == 0
    assert "exists" in second.stderr and not re.search(r"td_[A-Za-z0-9_-]{43}", second.stderr)


def test_revoking_from_the_cli_stops_the_key_on_a_running_server(live_server):
    env = live_server.env
    cli(env, "users", "create", "revoke-me@example.com", "--password", "password123")
    key = cli(env, "keys", "create", "revoke-me@example.com").stdout.strip()
    url = live_server.base_url + "/api/v1/athlete"
    assert httpx.get(url, headers=bearer(key)).status_code == 200
    listed = cli(env, "keys", "list", "revoke-me@example.com").stdout
    key_id = re.search(r"│ (\d+)\s+│", listed).group(1)
    assert cli(env, "keys", "revoke", key_id).returncode == 0
    response = httpx.get(url, headers=bearer(key))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_the_password_can_be_typed_instead_of_passed(fresh_env):
    """Without --password it is asked for twice, not echoed, and never appears in the process list."""
    cli(fresh_env, "db", "upgrade")
    result = subprocess.run(
        [sys.executable, "-m", "trainerday_server.cli", "users", "create", "typed@example.com"],
        env=fresh_env,
        input="typed password 1\ntyped password 1\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\d+\n", result.stdout)
    assert "typed password 1" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://x/y", "TRAINERDAY_DATABASE_URL is not usable"),
        ("not a url at all", "TRAINERDAY_DATABASE_URL is not usable"),
        ("postgresql://nobody@127.0.0.1:1/none", "cannot open the database"),
    ],
)
def test_an_unusable_database_is_a_clear_error(fresh_env, url, says):
    env = {**fresh_env, "TRAINERDAY_DATABASE_URL": url}
    for args in (
        ["keys", "list", "a@example.com"],
        ["users", "create", "a@example.com", "--password", "x" * 8],
    ):
        result = cli(env, *args)
        assert result.returncode == 1
        assert says in result.stderr and "Traceback" not in result.stderr


def test_version_is_the_packages(fresh_env):
    from trainerday_server import __version__

    result = cli(fresh_env, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"trainerday-server {__version__}"
