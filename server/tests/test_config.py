"""The server secret: generated once, complete or not at all, and never silently empty."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from trainerday_server.config import SECRET_FILE_NAME, SecretKeyError, Settings


def test_the_secret_is_created_once_and_reused(tmp_path: Path):
    first = Settings(data_dir=tmp_path).resolved_secret_key
    assert len(first) >= 32
    assert Settings(data_dir=tmp_path).resolved_secret_key == first
    assert stat.S_IMODE((tmp_path / SECRET_FILE_NAME).stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [SECRET_FILE_NAME]  # no temporary files left behind


def test_processes_starting_together_agree_on_one_secret(tmp_path: Path):
    with ThreadPoolExecutor(8) as pool:
        secrets = set(pool.map(lambda _: Settings(data_dir=tmp_path).resolved_secret_key, range(16)))
    assert len(secrets) == 1


@pytest.mark.parametrize("content", ["", "\n", "short"])
def test_an_empty_or_truncated_secret_file_is_refused(tmp_path: Path, content: str):
    (tmp_path / SECRET_FILE_NAME).write_text(content)
    with pytest.raises(SecretKeyError, match="not a usable secret"):
        Settings(data_dir=tmp_path).resolved_secret_key  # noqa: B018


def test_a_short_secret_in_the_environment_is_refused(tmp_path: Path):
    with pytest.raises(SecretKeyError, match="at least 32"):
        Settings(data_dir=tmp_path, secret_key="too-short").resolved_secret_key  # noqa: B018


def test_the_cli_says_what_is_wrong_with_the_secret(tmp_path: Path):
    (tmp_path / SECRET_FILE_NAME).write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINERDAY_")}
    env["TRAINERDAY_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "trainerday_server.cli", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "not a usable secret" in result.stderr and "Traceback" not in result.stderr
