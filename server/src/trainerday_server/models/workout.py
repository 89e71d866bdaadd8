from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from trainerday_server.models.base import Base, UTCDateTime, utcnow


class NumberAsSent(TypeDecorator[float]):
    """A number stored as its JSON text, so that an int comes back an int and a float a float (30 and 30.0) on
    every backend: a float column makes 30 into 30.0, and SQLite's JSON column, of numeric affinity, 30.0
    into 30."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: float | None, dialect: Any) -> str | None:
        return None if value is None else orjson.dumps(value).decode()

    def process_result_value(self, value: str | None, dialect: Any) -> float | None:
        return None if value is None else orjson.loads(value)


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
    duration_minutes: Mapped[float] = mapped_column(NumberAsSent)  # as the client stated it, else the total
    # Planned metrics that do not depend on FTP (zones are fractions of it), stored for find's filters.
    duration_seconds: Mapped[int] = mapped_column(sa.Integer)
    dominant_zone: Mapped[int] = mapped_column(sa.SmallInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
