"""What autogenerate comparisons cannot see: SQLite table options after every migration has run."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from trainerday_server.migrate import upgrade
from trainerday_server.models import Base


def test_every_table_with_exposed_ids_keeps_autoincrement_on_sqlite(tmp_path: Path):
    """Ids in URLs are never reused: batch-mode table rebuilds must not drop AUTOINCREMENT."""
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(url)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        ddl = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all())
    engine.dispose()
    flagged = [t.name for t in Base.metadata.sorted_tables if t.dialect_kwargs.get("sqlite_autoincrement")]
    assert {"athletes", "calendar_events", "workouts", "activities"} <= set(flagged)
    for name in flagged:
        assert "AUTOINCREMENT" in ddl[name], f"{name} lost AUTOINCREMENT:\n{ddl[name]}"
