"""``trainerday-server db backup`` and ``db restore`` for SQLite, with the online backup API.

The backup API copies a consistent snapshot while the servers keep running (readers and the writer are not
stopped; a write during the copy makes SQLite restart the pages it touched). The copy is written to a
temporary file beside the target, checked (``PRAGMA integrity_check``) and renamed into place, so a
backup file that exists is a complete one. PostgreSQL has ``pg_dump``/``pg_restore`` for this.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path

import sqlalchemy as sa

PAGES_PER_STEP = 1024  # copy in steps, so the source's lock is released between them


class BackupError(RuntimeError):
    pass


def sqlite_path(url: str) -> Path | None:
    """The database file a SQLite URL names; None for another backend."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def postgres_advice(url: str, target: Path, *, restore: bool) -> str:
    shown = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=True)
    if restore:
        return (
            "for PostgreSQL use pg_restore (stop the servers first): "
            f"pg_restore --clean --if-exists --no-owner --dbname '{shown}' {target}"
        )
    return f"for PostgreSQL use pg_dump: pg_dump --format=custom --file {target} '{shown}'"


def _check(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        try:
            result = db.execute("PRAGMA integrity_check").fetchone()
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path} is not a usable SQLite database: {exc}") from None
    if result is None or result[0] != "ok":
        raise BackupError(f"{path} fails its integrity check: {result}")
    if "alembic_version" not in tables or "athletes" not in tables:
        raise BackupError(f"{path} is not a TrainerDay database")


def _copy(source: Path, target: Path) -> None:
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst, pages=PAGES_PER_STEP)


def backup(source: Path, target: Path) -> int:
    """A consistent, checked copy of ``source`` at ``target`` (never a partial one); its size in bytes."""
    if not source.exists():
        raise BackupError(f"there is no database at {source}")
    target = target.resolve()
    if target == source.resolve():
        raise BackupError("the backup must go to another file than the database")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(fd)
    temporary = Path(temporary_name)
    try:
        _copy(source, temporary)
        _check(temporary)
        with open(temporary, "rb") as f:
            os.fsync(f.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target.stat().st_size


def restore(backup_file: Path, database: Path) -> Path | None:
    """Replace the database's content with the backup's (checked first); the previous content is kept
    beside it as ``<name>.before-restore`` and that path returned (None when there was no database)."""
    if not backup_file.exists():
        raise BackupError(f"there is no backup at {backup_file}")
    _check(backup_file)
    kept = None
    if database.exists():
        kept = database.with_name(database.name + ".before-restore")
        backup(database, kept)
    database.parent.mkdir(parents=True, exist_ok=True)
    # Through the backup API into the live file, not a rename: open connections (and the WAL) then see
    # the restored pages instead of holding on to the old file.
    _copy(backup_file, database)
    return kept
