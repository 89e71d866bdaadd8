"""workouts: the workout library; calendar events remember the library workout they copied

Revision ID: 2026_11_27_workouts
Revises: 2026_11_27_activities
Create Date: 2026-11-27 01:47:45.908339
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_11_27_workouts"
down_revision = "2026_11_27_activities"
branch_labels = None
depends_on = None

# Planned workouts as the foundation stored them; only the columns the backfill touches.
_events = sa.table("calendar_events", sa.column("id", sa.Integer()), sa.column("workout", sa.JSON()))


def upgrade() -> None:
    op.create_table(
        "workouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("athlete_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("search_title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("duration_minutes", sa.Float(), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("dominant_zone", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["athlete_id"], ["athletes.id"], name=op.f("fk_workouts_athlete_id_athletes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workouts")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("workouts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_workouts_athlete_zone_duration",
            ["athlete_id", "dominant_zone", "duration_seconds"],
            unique=False,
        )

    # Batch mode rebuilds the table from what it reflects, which does not include AUTOINCREMENT.
    with op.batch_alter_table("calendar_events", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.add_column(sa.Column("workout_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_calendar_events_workout_id"), ["workout_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_calendar_events_workout_id_workouts"),
            "workouts",
            ["workout_id"],
            ["id"],
            ondelete="SET NULL",
        )

    # Planned workouts now always carry a description and tags; give the existing ones empty values.
    connection = op.get_bind()
    planned = connection.execute(
        sa.select(_events.c.id, _events.c.workout).where(_events.c.workout.is_not(None))
    )
    for event_id, workout in planned.all():
        if workout is None or "description" in workout:  # a JSON null, or already in the new shape
            continue
        filled = {"title": workout.get("title"), "description": "", "tags": [], **workout}  # the wire order
        connection.execute(sa.update(_events).where(_events.c.id == event_id).values(workout=filled))


def downgrade() -> None:
    # Planned workouts keep their description and tags: the foundation's code shows them as they are.
    # Batch mode rebuilds the table from what it reflects, which does not include AUTOINCREMENT.
    with op.batch_alter_table("calendar_events", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_calendar_events_workout_id_workouts"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_calendar_events_workout_id"))
        batch_op.drop_column("workout_id")

    with op.batch_alter_table("workouts", schema=None) as batch_op:
        batch_op.drop_index("ix_workouts_athlete_zone_duration")

    op.drop_table("workouts")
