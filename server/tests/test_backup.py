"""``db backup`` and ``db restore``: a consistent copy taken while a writer runs, a restore that brings the
data back, refusals that leave everything as it was."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from trainerday_server.backup import BackupError, backup


class Result:
    def __init__(self, code: int, stderr: str) -> None:
        self.returncode, self.stderr = code, stderr


def cli(env: dict[str, str], *args: str) -> Result:
    """The command run in this process (an interpreter per command cost seconds here), on ``env``."""
    from typer.testing import CliRunner

    from trainerday_server import cli as commands
    from trainerday_server.config import get_settings

    saved = {k: v for k, v in os.environ.items() if k.startswith("TRAINERDAY_")}
    for name in saved:
        del os.environ[name]
    os.environ.update({k: v for k, v in env.items() if k.startswith("TRAINERDAY_")})
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(commands.app, list(args), input="")
    finally:
        for name in [k for k in os.environ if k.startswith("TRAINERDAY_")]:
            del os.environ[name]
        os.environ.update(saved)
        get_settings.cache_clear()
    return Result(result.exit_code, result.output)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {"TRAINERDAY_DATA_DIR": str(tmp_path / "data"), "TRAINERDAY_SECRET_KEY": "k" * 40}
    assert cli(env, "db", "upgrade").returncode == 0
    return env


def emails(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT email FROM athletes")}


def test_backup_then_restore_brings_the_data_back(env: dict[str, str], tmp_path: Path) -> None:
    db = tmp_path / "data" / "trainerday.db"
    assert cli(env, "users", "create", "first@example.com", "--password", "password123").returncode == 0
    saved = tmp_path / "backups" / "one.db"
    made = cli(env, "db", "backup", str(saved))
    assert made.returncode == 0, made.stderr
    assert emails(saved) == {"first@example.com"}
    assert cli(env, "users", "create", "second@example.com", "--password", "password123").returncode == 0
    assert emails(db) == {"first@example.com", "second@example.com"}

    refused = cli(env, "db", "restore", str(saved))  # no --yes, no terminal: nothing happens
    assert refused.returncode != 0 and emails(db) == {"first@example.com", "second@example.com"}

    restored = cli(env, "db", "restore", str(saved), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert emails(db) == {"first@example.com"}
    assert emails(db.with_name("trainerday.db.before-restore")) == {"first@example.com", "second@example.com"}
    # The restored database serves: the CLI finds it migrated and usable.
    assert cli(env, "keys", "create", "first@example.com").returncode == 0


def test_restore_refuses_a_file_that_is_not_a_backup(env: dict[str, str], tmp_path: Path) -> None:
    db = tmp_path / "data" / "trainerday.db"
    cli(env, "users", "create", "kept@example.com", "--password", "password123")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    for bad in (junk, other, tmp_path / "missing.db"):
        result = cli(env, "db", "restore", str(bad), "--yes")
        assert result.returncode == 1 and "error" in result.stderr
    assert emails(db) == {"kept@example.com"}


def test_backup_is_consistent_while_a_writer_runs(env: dict[str, str], tmp_path: Path) -> None:
    db = tmp_path / "data" / "trainerday.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE load (n INTEGER PRIMARY KEY, pad BLOB)")
    stop = threading.Event()

    def write() -> None:
        conn = sqlite3.connect(db, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        n = 0
        while not stop.is_set() and n < 5_000:
            with conn:  # each row in its own transaction, with a 1 kB payload
                conn.execute("INSERT INTO load (pad) VALUES (zeroblob(1024))")
            n += 1
        conn.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        copies = [backup(db, tmp_path / f"copy{i}.db") for i in range(3)]
    finally:
        stop.set()
        writer.join()
    assert all(size > 0 for size in copies)
    for i in range(3):
        with sqlite3.connect(tmp_path / f"copy{i}.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            count, top = conn.execute("SELECT count(*), coalesce(max(n), 0) FROM load").fetchone()
            assert count == top  # no row missing in the middle: a snapshot, not a smear


def test_backup_refuses_to_overwrite_the_database(tmp_path: Path, env: dict[str, str]) -> None:
    db = tmp_path / "data" / "trainerday.db"
    with pytest.raises(BackupError):
        backup(db, db)


def test_postgres_gets_pg_dump_advice(tmp_path: Path) -> None:
    env = {"TRAINERDAY_DATABASE_URL": "postgresql://td:s3cret@db.internal/trainerday"}
    result = cli(env, "db", "backup", str(tmp_path / "x.dump"))
    assert result.returncode == 2
    assert "pg_dump" in result.stderr and "s3cret" not in result.stderr
