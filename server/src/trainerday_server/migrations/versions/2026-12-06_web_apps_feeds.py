"""web: athletes' OAuth app applications (/developer/apps), secret iCal feed URLs, API key expiry

Revision ID: 2026_12_06_web_apps_feeds
Revises: 2026_12_06_analytics
Create Date: 2026-12-06 04:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_12_06_web_apps_feeds"
down_revision = "2026_12_06_analytics"  # re-chained after analytics merged into main
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.BigInteger(), nullable=True))

    op.create_table(
        "oauth_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("athlete_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("website", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.String(length=255), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("client_pk", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["athlete_id"],
            ["athletes.id"],
            name=op.f("fk_oauth_applications_athlete_id_athletes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_pk"],
            ["oauth_clients.id"],
            name=op.f("fk_oauth_applications_client_pk_oauth_clients"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_applications")),
        sa.UniqueConstraint("client_pk", name=op.f("uq_oauth_applications_client_pk")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("oauth_applications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_applications_athlete_id"), ["athlete_id"], unique=False)

    op.create_table(
        "calendar_feeds",
        sa.Column("athlete_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["athlete_id"],
            ["athletes.id"],
            name=op.f("fk_calendar_feeds_athlete_id_athletes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("athlete_id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
    with op.batch_alter_table("oauth_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_applications_athlete_id"))
    op.drop_table("oauth_applications")
    with op.batch_alter_table("api_keys", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_column("expires_at")
