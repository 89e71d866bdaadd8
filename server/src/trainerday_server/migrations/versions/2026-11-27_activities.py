"""activities: uploaded rides with metrics, streams and the link to a planned event

Revision ID: 2026_11_27_activities
Revises: 2026_11_27_oauth
Create Date: 2026-11-27 01:54:49.819260
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_11_27_activities"
down_revision = "2026_11_27_oauth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("athlete_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("sport", sa.String(length=64), nullable=True),
        sa.Column("sub_sport", sa.String(length=64), nullable=True),
        sa.Column("device", sa.String(length=200), nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("elapsed_seconds", sa.Integer(), nullable=False),
        sa.Column("timer_seconds", sa.Integer(), nullable=False),
        sa.Column("tss", sa.Float(), nullable=True),
        sa.Column("ftp", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("power_curve", sa.JSON(), nullable=True),
        sa.Column("file_key", sa.String(length=255), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("file_format", sa.String(length=8), nullable=False),
        sa.Column("file_gzipped", sa.Boolean(), nullable=False),
        sa.Column("file_size", sa.Integer(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("streams", sa.LargeBinary(), nullable=False),
        sa.Column("calendar_event_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["athlete_id"],
            ["athletes.id"],
            name=op.f("fk_activities_athlete_id_athletes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["calendar_event_id"],
            ["calendar_events.id"],
            name=op.f("fk_activities_calendar_event_id_calendar_events"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
        sa.UniqueConstraint("athlete_id", "external_id", name=op.f("uq_activities_athlete_id_external_id")),
        sa.UniqueConstraint("athlete_id", "file_sha256", name=op.f("uq_activities_athlete_id_file_sha256")),
        sa.UniqueConstraint("calendar_event_id", name=op.f("uq_activities_calendar_event_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index("ix_activities_athlete_date", ["athlete_id", "local_date"], unique=False)
        batch_op.create_index("ix_activities_athlete_start", ["athlete_id", "start_time"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_athlete_start")
        batch_op.drop_index("ix_activities_athlete_date")

    op.drop_table("activities")
