from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from trainerday_server.models.base import Base, UTCDateTime, utcnow


class CalendarEvent(Base):
    """A planned workout or a note on an athlete's calendar day."""

    __tablename__ = "calendar_events"
    __table_args__ = (
        sa.Index("ix_calendar_events_athlete_date", "athlete_id", "calendar_date"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    athlete_id: Mapped[int] = mapped_column(sa.ForeignKey("athletes.id", ondelete="CASCADE"))
    calendar_date: Mapped[dt.date] = mapped_column(sa.Date)
    type: Mapped[str] = mapped_column(sa.String(16))  # "workout" | "note"
    title: Mapped[str | None] = mapped_column(sa.String(200))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    # The workout as planned, in wire form: {"title", "description", "tags", "durationMinutes", "segments"}.
    # A copy, also when it came from the library: editing the library later does not change the plan.
    workout: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # The library workout the copy was taken from, while it exists.
    workout_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("workouts.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
