"""The analytics migration on a database of its own: existing rides get their season-curve row from the power
curve they store; down and up again."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from tests.conftest import BACKENDS, _postgres_database
from trainerday_server.analytics.curves import SEASON_DURATIONS, decode_curves
from trainerday_server.db import create_db_engine
from trainerday_server.migrate import alembic_config, upgrade

BEFORE = "2026_11_27_workout_duration"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migration.db'}"
        return
    databases = _postgres_database()
    yield next(databases)
    databases.close()


def _insert_ride(conn: sa.Connection, activity_id: int, day: str, curve: dict | None) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO activities (id, athlete_id, name, start_time, local_date, elapsed_seconds, "
            "timer_seconds, tss, ftp, metrics, power_curve, file_key, file_format, file_gzipped, file_size, "
            "file_sha256, streams, created_at, updated_at) VALUES (:id, 1, 'Ride', :t, :day, 60, 60, NULL, "
            "200, '{}', :curve, 'k', 'fit', false, 1, :sha, :streams, :t, :t)"
        ),
        {
            "id": activity_id,
            "t": NOW,
            "day": dt.date.fromisoformat(day),
            "curve": None if curve is None else json.dumps(curve),
            "sha": f"{activity_id:064d}",
            "streams": b"",
        },
    )


def test_existing_rides_get_their_curve_rows_and_down_and_up_again(empty_database: str):
    upgrade(empty_database, BEFORE)
    engine = create_db_engine(empty_database, poolclass=sa.pool.NullPool)
    # A 65-second ride: its own curve has every second to 60, then its length, which is off the ladder.
    curve = {
        "seconds": [*range(1, 61), 65],
        "watts": [round(400 - s * 1.05, 1) for s in range(1, 61)] + [330.2],
    }
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO athletes (id, email, password_hash, name, ftp, timezone, units, data_revision, "
                "created_at, updated_at) "
                "VALUES (1, 'a@example.com', 'x', 'A', 200, 'UTC', 'metric', 1, :t, :t)"
            ),
            {"t": NOW},
        )
        _insert_ride(conn, 1, "2025-05-01", curve)
        _insert_ride(conn, 2, "2025-05-02", None)  # no power

    upgrade(empty_database)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT activity_id, athlete_id, local_date, watts FROM activity_power_curves ORDER BY 1")
        ).all()
        athlete = conn.execute(sa.text("SELECT ctl_start, atl_start FROM athletes")).one()
    assert [(r[0], r[1], str(r[2])) for r in rows] == [(1, 1, "2025-05-01"), (2, 1, "2025-05-02")]
    values = decode_curves([bytes(r[3]) for r in rows])
    expected = [round(w * 10) for w in curve["watts"][:60]] + [-1] * (len(SEASON_DURATIONS) - 60)
    assert values[0].tolist() == expected
    assert (values[1] == -1).all()
    assert tuple(athlete) == (None, None)

    with engine.begin() as conn:  # a ride deleted takes its curve row with it
        conn.execute(sa.text("DELETE FROM activities WHERE id = 2"))
        assert conn.execute(sa.text("SELECT count(*) FROM activity_power_curves")).scalar_one() == 1

    command.downgrade(alembic_config(empty_database), BEFORE)
    inspector = sa.inspect(engine)
    assert "activity_power_curves" not in inspector.get_table_names()
    assert {"ctl_start", "atl_start"}.isdisjoint(c["name"] for c in inspector.get_columns("athletes"))
    upgrade(empty_database)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT activity_id FROM activity_power_curves")).scalars().all() == [1]
        if engine.dialect.name == "sqlite":
            sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'athletes'")).scalar_one()
            assert "AUTOINCREMENT" in sql
    engine.dispose()
