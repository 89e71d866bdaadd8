"""workout duration as sent: a library workout's durationMinutes keeps the client's number type

A float column answered 30.0 for the 30 a client sent; the column now holds the number's JSON text (see
``NumberAsSent``). Existing rows keep the float they showed until now.

Revision ID: 2026_11_27_workout_duration
Revises: 2026_11_27_workouts
Create Date: 2026-11-27 03:30:00.000000
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "2026_11_27_workout_duration"
down_revision = "2026_11_27_workouts"
branch_labels = None
depends_on = None


def _workouts(duration_type: sa.types.TypeEngine[Any]) -> sa.TableClause:
    return sa.table("workouts", sa.column("id", sa.Integer()), sa.column("duration_minutes", duration_type))


def _alter(old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any], using: str) -> None:
    # SQLite alters by copying the table: keep AUTOINCREMENT, which reflection does not see, so that ids of
    # deleted workouts are never handed out again.
    with op.batch_alter_table("workouts", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.alter_column(
            "duration_minutes", existing_type=old, type_=new, existing_nullable=False, postgresql_using=using
        )


def upgrade() -> None:
    connection = op.get_bind()
    # Read the floats before the column becomes text: SQLite's CAST keeps only 15 digits.
    floats = _workouts(sa.Float())
    stated = connection.execute(sa.select(floats.c.id, floats.c.duration_minutes)).all()
    _alter(sa.Float(), sa.Text(), "duration_minutes::text")
    if stated:
        texts = _workouts(sa.Text())
        connection.execute(
            sa.update(texts)
            .where(texts.c.id == sa.bindparam("workout_id"))
            .values(duration_minutes=sa.bindparam("minutes")),
            [{"workout_id": i, "minutes": json.dumps(float(minutes))} for i, minutes in stated],
        )


def downgrade() -> None:
    _alter(sa.Text(), sa.Float(), "duration_minutes::double precision")
