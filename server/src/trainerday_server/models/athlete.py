from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from trainerday_server.models.base import Base, UTCDateTime, utcnow


def new_data_revision() -> int:
    return secrets.randbits(62)


class Athlete(Base):
    """A person with an account: log-in identity and training profile in one row."""

    __tablename__ = "athletes"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)  # stored lower-cased
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    name: Mapped[str] = mapped_column(sa.String(100))
    weight_kg: Mapped[float | None] = mapped_column(sa.Float)
    ftp: Mapped[int] = mapped_column(sa.Integer)
    lthr: Mapped[int | None] = mapped_column(sa.Integer)
    max_heart_rate: Mapped[int | None] = mapped_column(sa.Integer)
    resting_heart_rate: Mapped[int | None] = mapped_column(sa.Integer)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    units: Mapped[str] = mapped_column(sa.String(16), default="metric")
    # CTL and ATL the day before the first ride (analytics.load): history kept elsewhere, carried over.
    ctl_start: Mapped[float | None] = mapped_column(sa.Float)
    atl_start: Mapped[float | None] = mapped_column(sa.Float)
    # A fresh random value, set in the same transaction as every change to what this athlete's reads return,
    # so any process can tell from one indexed lookup whether a cached response is still current. Random
    # rather than counted: a counter would restart if an id were ever reused, and serve one athlete's cache
    # to another.
    data_revision: Mapped[int] = mapped_column(sa.BigInteger, default=lambda: new_data_revision())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FtpHistory(Base):
    """The FTP in force from a date on; ride metrics use the FTP that was in force on the ride's day."""

    __tablename__ = "ftp_history"
    __table_args__ = (sa.UniqueConstraint("athlete_id", "effective_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    athlete_id: Mapped[int] = mapped_column(sa.ForeignKey("athletes.id", ondelete="CASCADE"))
    effective_date: Mapped[dt.date] = mapped_column(sa.Date)
    ftp: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
