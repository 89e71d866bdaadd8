from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from trainerday_server.models.base import Base


class ActivityPowerCurve(Base):
    """A ride's power curve on the season ladder (``analytics.curves``), written with the ride, so that the
    season curve over years of rides is one indexed query and one pass, never a re-read of streams.

    The athlete and local date are copies of the activity's, for that query; every ride has a row (a ride
    without power has one with no values), so a missing row can only be a ride stored by older code.
    """

    __tablename__ = "activity_power_curves"
    __table_args__ = (sa.Index("ix_activity_power_curves_athlete_date", "athlete_id", "local_date"),)

    activity_id: Mapped[int] = mapped_column(
        sa.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    athlete_id: Mapped[int] = mapped_column(sa.ForeignKey("athletes.id", ondelete="CASCADE"))
    local_date: Mapped[dt.date] = mapped_column(sa.Date)
    watts: Mapped[bytes] = mapped_column(sa.LargeBinary)
