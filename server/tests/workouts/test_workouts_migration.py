"""The workouts migration on a database of its own: up from the foundation with data in it, down, up again;
and the migrated schema is exactly what the models declare."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tests.conftest import BACKENDS, _postgres_database
from trainerday_server.db import create_db_engine
from trainerday_server.migrate import alembic_config, upgrade
from trainerday_server.models import Base

FOUNDATION = "2026_11_27_foundation"
ACTIVITIES = "2026_11_27_activities"
WORKOUTS = "2026_11_27_workouts"
DURATION_AS_SENT = "2026_11_27_workout_duration"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migration.db'}"
        return
    databases = _postgres_database()
    yield next(databases)
    databases.close()


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def test_up_down_and_up_again_keeping_planned_workouts(empty_database: str):
    upgrade(empty_database, FOUNDATION)
    engine = create_db_engine(empty_database, poolclass=sa.pool.NullPool)
    events = sa.table(
        "calendar_events",
        *(
            sa.column(c)
            for c in ("id", "athlete_id", "calendar_date", "type", "title", "created_at", "updated_at")
        ),
        sa.column("workout", sa.JSON()),
    )
    seed = {
        "title": "Easy Spin",
        "durationMinutes": 30,
        "segments": [[10, 50, 50], [10, 60, 60], [10, 45, 45]],
    }
    # The foundation's columns all need values; write them as its code did.
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO athletes (id, email, password_hash, name, ftp, timezone, units, data_revision, "
                "created_at, updated_at) "
                "VALUES (1, 'a@example.com', 'x', 'A', 200, 'UTC', 'metric', 1, :t, :t)"
            ),
            {"t": NOW},
        )
        common = {
            "athlete_id": 1,
            "calendar_date": dt.date(2026, 1, 15),
            "created_at": NOW,
            "updated_at": NOW,
        }
        conn.execute(
            sa.insert(events).values(id=1, type="workout", title="Easy Spin", workout=seed, **common)
        )
        conn.execute(sa.insert(events).values(id=2, type="note", title="Rest", workout=None, **common))

    upgrade(empty_database)
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT id, workout_id FROM calendar_events ORDER BY id")).all())
        planned = conn.execute(sa.select(events.c.id, events.c.workout).order_by(events.c.id)).all()
    assert rows == {1: None, 2: None}
    filled = planned[0].workout
    assert list(filled) == ["title", "description", "tags", "durationMinutes", "segments"]
    assert filled == {**seed, "description": "", "tags": []}
    assert planned[1].workout is None

    downgrade(empty_database, FOUNDATION)
    assert "workouts" not in sa.inspect(engine).get_table_names()
    assert "workout_id" not in {c["name"] for c in sa.inspect(engine).get_columns("calendar_events")}
    upgrade(empty_database)
    with engine.connect() as conn:
        assert conn.execute(sa.select(events.c.workout).where(events.c.id == 1)).scalar_one() == filled
    engine.dispose()


def test_durations_become_text_keeping_their_floats_and_the_events_planned_from_them(empty_database: str):
    upgrade(empty_database, WORKOUTS)
    engine = create_db_engine(empty_database, poolclass=sa.pool.NullPool)
    stated = {1: 30.0, 2: 0.1 + 0.2}  # what the float column held, to the last bit
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO athletes (id, email, password_hash, name, ftp, timezone, units, data_revision, "
                "created_at, updated_at) "
                "VALUES (1, 'a@example.com', 'x', 'A', 200, 'UTC', 'metric', 1, :t, :t)"
            ),
            {"t": NOW},
        )
        for workout_id, minutes in stated.items():
            conn.execute(
                sa.text(
                    "INSERT INTO workouts (id, athlete_id, title, search_title, description, tags, segments, "
                    "duration_minutes, duration_seconds, dominant_zone, created_at, updated_at) VALUES "
                    "(:id, 1, 'W', 'w', '', '[]', '[[30, 50, 50]]', :minutes, 1800, 1, :t, :t)"
                ),
                {"id": workout_id, "minutes": minutes, "t": NOW},
            )
        conn.execute(
            sa.text(
                "INSERT INTO calendar_events (id, athlete_id, calendar_date, type, title, workout, "
                "workout_id, created_at, updated_at) "
                "VALUES (1, 1, '2026-01-15', 'workout', 'W', NULL, 1, :t, :t)"
            ),
            {"t": NOW},
        )

    def durations(type_: sa.types.TypeEngine) -> dict[int, object]:
        table = sa.table("workouts", sa.column("id", sa.Integer()), sa.column("duration_minutes", type_))
        with engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.id, table.c.duration_minutes))
            return {workout_id: minutes for workout_id, minutes in rows}

    def planned_from() -> int | None:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT workout_id FROM calendar_events")).scalar_one()

    upgrade(empty_database, DURATION_AS_SENT)
    assert durations(sa.Text()) == {1: "30.0", 2: "0.30000000000000004"}  # floats still, exactly
    assert planned_from() == 1  # rebuilding the table (SQLite) did not unlink the event
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE workouts SET duration_minutes = '30' WHERE id = 1"))  # as sent now
    downgrade(empty_database, WORKOUTS)
    assert durations(sa.Float()) == {1: 30.0, 2: 0.1 + 0.2}
    assert planned_from() == 1
    if engine.dialect.name == "sqlite":  # ids of deleted workouts are never handed out again
        with engine.connect() as conn:
            sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'workouts'")).scalar_one()
        assert "AUTOINCREMENT" in sql
    engine.dispose()


def test_the_migrated_schema_is_what_the_models_declare(empty_database: str):
    upgrade(empty_database)
    engine = create_db_engine(empty_database, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_rebuilding_calendar_events_keeps_the_rides_that_completed_them(empty_database: str):
    """On SQLite the workouts migration rebuilds calendar_events; with foreign keys on, dropping the old
    table would set every activity's calendar_event_id to NULL (env.py turns them off while migrating)."""
    upgrade(empty_database, ACTIVITIES)
    engine = create_db_engine(empty_database, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO athletes (id, email, password_hash, name, ftp, timezone, units, data_revision, "
                "created_at, updated_at) "
                "VALUES (1, 'a@example.com', 'x', 'A', 200, 'UTC', 'metric', 1, :t, :t)"
            ),
            {"t": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO calendar_events (id, athlete_id, calendar_date, type, title, created_at, "
                "updated_at) VALUES (1, 1, :day, 'note', 'Ride', :t, :t)"
            ),
            {"day": dt.date(2026, 1, 15), "t": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO activities (id, athlete_id, name, start_time, local_date, elapsed_seconds, "
                "timer_seconds, ftp, metrics, file_key, file_format, file_gzipped, file_size, file_sha256, "
                "streams, calendar_event_id, created_at, updated_at) VALUES (1, 1, 'Ride', :t, :day, 60, 60, "
                "200, '{}', 'key', 'fit', :no, 1, 'sha', :streams, 1, :t, :t)"
            ),
            {"t": NOW, "day": dt.date(2026, 1, 15), "no": False, "streams": b"\x00"},
        )
    upgrade(empty_database, WORKOUTS)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT calendar_event_id FROM activities")).scalar_one() == 1
    engine.dispose()
