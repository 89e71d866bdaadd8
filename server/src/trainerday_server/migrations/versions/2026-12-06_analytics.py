"""analytics: each ride's power curve on the season ladder; CTL and ATL seed values on the athlete; an
index covering TSS per day

Existing rides get their curve row from the power curve they already store.

Revision ID: 2026_12_06_analytics
Revises: 2026_11_27_workout_duration
Create Date: 2026-12-06 04:50:00.000000
"""

from __future__ import annotations

import json
from itertools import chain, count, takewhile
from typing import Any

import numpy as np
import sqlalchemy as sa
from alembic import op

revision = "2026_12_06_analytics"
down_revision = "2026_11_27_workout_duration"
branch_labels = None
depends_on = None

# The season ladder as this migration knows it (analytics.curves.SEASON_DURATIONS when it was written): the
# data written here must not change if that code does.
_LADDER = list(
    takewhile(
        lambda d: d <= 5 * 3600,
        chain(
            range(1, 61),
            range(70, 301, 10),
            range(360, 1201, 60),
            range(1500, 3601, 300),
            range(4500, 10801, 900),
            count(12600, 1800),
        ),
    )
)
_NO_VALUE = 0xFFFF
_activities = sa.table(
    "activities",
    sa.column("id", sa.Integer()),
    sa.column("athlete_id", sa.Integer()),
    sa.column("local_date", sa.Date()),
    sa.column("power_curve", sa.JSON()),
)
_curves = sa.table(
    "activity_power_curves",
    sa.column("activity_id", sa.Integer()),
    sa.column("athlete_id", sa.Integer()),
    sa.column("local_date", sa.Date()),
    sa.column("watts", sa.LargeBinary()),
)


def _encode(curve: Any) -> bytes:
    if isinstance(curve, str):  # a JSON column read back as text on some drivers
        curve = json.loads(curve)
    values = np.full(len(_LADDER), _NO_VALUE, dtype="<u2")
    index = {seconds: i for i, seconds in enumerate(_LADDER)}
    if curve:
        for seconds, watts in zip(curve["seconds"], curve["watts"], strict=True):
            if seconds in index and watts is not None:
                values[index[seconds]] = min(max(round(watts * 10), 0), _NO_VALUE - 1)
    return values.tobytes()


def upgrade() -> None:
    op.create_table(
        "activity_power_curves",
        sa.Column("activity_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("athlete_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("watts", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activities.id"],
            name=op.f("fk_activity_power_curves_activity_id_activities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["athlete_id"],
            ["athletes.id"],
            name=op.f("fk_activity_power_curves_athlete_id_athletes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("activity_id", name=op.f("pk_activity_power_curves")),
    )
    with op.batch_alter_table("activity_power_curves", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activity_power_curves_athlete_date", ["athlete_id", "local_date"], unique=False
        )
    op.create_index(
        "ix_activities_athlete_date_tss", "activities", ["athlete_id", "local_date", "tss"], unique=False
    )
    # Batch mode rebuilds the table from what it reflects, which does not include AUTOINCREMENT.
    with op.batch_alter_table("athletes", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.add_column(sa.Column("ctl_start", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("atl_start", sa.Float(), nullable=True))

    connection = op.get_bind()
    rides = connection.execute(
        sa.select(
            _activities.c.id, _activities.c.athlete_id, _activities.c.local_date, _activities.c.power_curve
        ).order_by(_activities.c.id)
    ).all()
    for first in range(0, len(rides), 500):
        batch = rides[first : first + 500]
        connection.execute(
            _curves.insert(),
            [
                {"activity_id": i, "athlete_id": a, "local_date": d, "watts": _encode(curve)}
                for i, a, d, curve in batch
            ],
        )


def downgrade() -> None:
    with op.batch_alter_table("athletes", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_column("atl_start")
        batch_op.drop_column("ctl_start")
    op.drop_index("ix_activities_athlete_date_tss", table_name="activities")
    with op.batch_alter_table("activity_power_curves", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_power_curves_athlete_date")
    op.drop_table("activity_power_curves")
