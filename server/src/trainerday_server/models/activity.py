from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from trainerday_server.models.base import Base, UTCDateTime, utcnow


class Activity(Base):
    """A recorded ride: its metrics, its streams (one compact blob) and where its original file is stored.

    The unique constraints make duplicates race-safe: the same file (by SHA-256) or the same ``external_id``
    cannot be stored twice for one athlete, and a planned event is completed by at most one activity.
    """

    __tablename__ = "activities"
    __table_args__ = (
        sa.UniqueConstraint("athlete_id", "file_sha256"),
        sa.UniqueConstraint("athlete_id", "external_id"),
        sa.UniqueConstraint("calendar_event_id"),
        sa.Index("ix_activities_athlete_start", "athlete_id", "start_time"),
        sa.Index("ix_activities_athlete_date", "athlete_id", "local_date"),
        # Covers the fitness read (TSS summed per day over a whole history) without visiting the rows.
        sa.Index("ix_activities_athlete_date_tss", "athlete_id", "local_date", "tss"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    athlete_id: Mapped[int] = mapped_column(sa.ForeignKey("athletes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    external_id: Mapped[str | None] = mapped_column(sa.String(255))
    sport: Mapped[str | None] = mapped_column(sa.String(64))
    sub_sport: Mapped[str | None] = mapped_column(sa.String(64))
    device: Mapped[str | None] = mapped_column(sa.String(200))
    start_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    local_date: Mapped[dt.date] = mapped_column(sa.Date)  # the start's date in the athlete's time zone
    elapsed_seconds: Mapped[int] = mapped_column(sa.Integer)
    timer_seconds: Mapped[int] = mapped_column(sa.Integer)
    tss: Mapped[float | None] = mapped_column(sa.Float)
    ftp: Mapped[int] = mapped_column(sa.Integer)  # the FTP in force on the ride's date, which IF/TSS use
    # Every figure of RideMetrics.to_json() but the power curve, in API form.
    metrics: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    power_curve: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, deferred=True)
    # The original upload, byte for byte, in the file storage under ``file_key``.
    file_key: Mapped[str] = mapped_column(sa.String(255))
    file_name: Mapped[str | None] = mapped_column(sa.String(255))
    file_format: Mapped[str] = mapped_column(sa.String(8))  # "fit" | "tcx" | "gpx"
    file_gzipped: Mapped[bool] = mapped_column(sa.Boolean)
    file_size: Mapped[int] = mapped_column(sa.Integer)
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    # activities.streams.encode_streams: the samples as recorded, ~9 % of their float64 size.
    streams: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    calendar_event_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("calendar_events.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
