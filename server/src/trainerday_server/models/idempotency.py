from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from trainerday_server.models.base import Base, UTCDateTime, utcnow


class IdempotencyRecord(Base):
    """The first response to a request sent with an ``Idempotency-Key``, replayed to retries of it."""

    __tablename__ = "idempotency_records"
    __table_args__ = (sa.UniqueConstraint("athlete_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    athlete_id: Mapped[int] = mapped_column(sa.ForeignKey("athletes.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(255))
    request_hash: Mapped[str] = mapped_column(sa.String(64))  # SHA-256 of method, path and body
    status_code: Mapped[int] = mapped_column(sa.Integer)
    body: Mapped[bytes] = mapped_column(sa.LargeBinary)
    location: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
