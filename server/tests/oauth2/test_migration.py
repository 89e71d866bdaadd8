"""The OAuth migration: it creates exactly what the models describe, and it can be undone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.conftest import Database, _postgres_database
from trainerday_server.db import create_db_engine
from trainerday_server.migrate import alembic_config, upgrade
from trainerday_server.models import Base

OAUTH_TABLES = {
    "oauth_clients",
    "oauth_authorization_codes",
    "oauth_tokens",
    "web_sessions",
    "login_attempts",
}


def test_the_migrated_schema_is_what_the_models_describe(db: Database):
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []


@pytest.fixture
def empty_database(db: Database, tmp_path: Path) -> Iterator[str]:
    if db.backend == "postgres":
        yield from _postgres_database()
    else:
        yield f"sqlite:///{tmp_path / 'roundtrip.db'}"


def test_the_migration_downgrades_and_upgrades_again(empty_database: str):
    upgrade(empty_database)
    command.downgrade(alembic_config(empty_database), "2026_11_27_foundation")
    engine = create_db_engine(empty_database, poolclass=sa.pool.NullPool)
    try:
        assert not OAUTH_TABLES & set(sa.inspect(engine).get_table_names())
        upgrade(empty_database)
        assert set(sa.inspect(engine).get_table_names()) >= OAUTH_TABLES
    finally:
        engine.dispose()
