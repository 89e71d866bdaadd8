"""webhook secret overlap: a rotated-out secret keeps signing for a while; events fanned out by the worker

``webhook_subscriptions`` keeps the secret a rotation replaced, sealed, and until when it still signs beside
the new one. ``webhook_events.fanout`` holds the subscriptions an event is for until the delivery worker has
written their deliveries (the write that causes an event then inserts one row); a partial index finds them.

Revision ID: 2026_12_07_webhook_overlap
Revises: 2026_12_06_mcp
Create Date: 2026-12-07 07:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2026_12_07_webhook_overlap"  # alembic_version holds 32 characters: the file name is longer
down_revision = "2026_12_06_mcp"
branch_labels = None
depends_on = None

# Both tables have AUTOINCREMENT, which a batch rebuild on SQLite would lose without this.
_KEEP_AUTOINCREMENT = {"sqlite_autoincrement": True}
_FANOUT_PENDING = sa.text("fanout IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions", table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.add_column(sa.Column("previous_sealed_secret", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("webhook_events", table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.add_column(sa.Column("fanout", sa.Text(), nullable=True))
    op.create_index(
        "ix_webhook_events_fanout",
        "webhook_events",
        ["id"],
        sqlite_where=_FANOUT_PENDING,
        postgresql_where=_FANOUT_PENDING,
    )


def downgrade() -> None:
    # Events not fanned out yet would be lost by the old code, which knows nothing of them: refuse.
    pending = op.get_bind().scalar(sa.text("SELECT count(*) FROM webhook_events WHERE fanout IS NOT NULL"))
    if pending:
        raise RuntimeError(
            f"{pending} webhook events are still to be fanned out: run the delivery worker, then downgrade"
        )
    op.drop_index("ix_webhook_events_fanout", table_name="webhook_events")
    with op.batch_alter_table("webhook_events", table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.drop_column("fanout")
    with op.batch_alter_table("webhook_subscriptions", table_kwargs=_KEEP_AUTOINCREMENT) as batch_op:
        batch_op.drop_column("previous_secret_until")
        batch_op.drop_column("previous_sealed_secret")
