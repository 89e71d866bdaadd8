"""mcp: audience-bound OAuth tokens (RFC 8707 resource) and self-registered clients (RFC 7591)

An authorization code and the tokens issued from it remember the resource they were asked for (``NULL``: the
REST API, as every token before this); a client registered through dynamic registration is marked so the
consent page can say nobody reviewed it.

Revision ID: 2026_12_06_mcp
Revises: 2026_12_06_web_apps_feeds
Create Date: 2026-12-06 04:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_12_06_mcp"
down_revision = "2026_12_06_webhooks"  # re-chained at merge
branch_labels = None
depends_on = None

# Each of these tables has AUTOINCREMENT, which a batch rebuild on SQLite would lose without this.
_KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    with op.batch_alter_table("oauth_authorization_codes", table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.add_column(sa.Column("resource", sa.String(length=255), nullable=True))
    with op.batch_alter_table("oauth_tokens", table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.add_column(sa.Column("resource", sa.String(length=255), nullable=True))
    with op.batch_alter_table("oauth_clients", table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.add_column(
            sa.Column("self_registered", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients", table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.drop_column("self_registered")
    with op.batch_alter_table("oauth_tokens", table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.drop_column("resource")
    with op.batch_alter_table("oauth_authorization_codes", table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.drop_column("resource")
