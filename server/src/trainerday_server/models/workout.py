from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from trainerday_server.models.base import Base, UTCDateTime, utcnow


class LibraryWorkout(Base):
    """A workout in an athlete's library. Calendar events plan copies of it (see docs/api.md)."""

    __tablename__ = "workouts"
    __table_args__ = (
        # Every query filters on the athlete; find narrows by zone, then by duration.
        sa.Index("ix_workouts_athlete_zone_duration", "athlete_id", "dominant_zone", "duration_seconds"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    athlete_id: Mapped[int] = mapped_column(sa.ForeignKey("athletes.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(200))
    # The title case-folded in Python, so that name search matches alike on SQLite (whose lower() knows
    # only ASCII) and PostgreSQL.
    search_title: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str] = mapped_column(sa.Text)
    tags: Mapped[list[str]] = mapped_column(sa.JSON)
    segments: Mapped[list[list[Any]]] = mapped_column(sa.JSON)  # wire form
    duration_minutes: Mapped[float] = mapped_column(sa.Float)  # as the client stated it, else the total
    # Planned metrics that do not depend on FTP (zones are fractions of it), stored for find's filters.
    duration_seconds: Mapped[int] = mapped_column(sa.Integer)
    dominant_zone: Mapped[int] = mapped_column(sa.SmallInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
