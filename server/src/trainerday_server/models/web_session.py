from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from trainerday_server.models.base import Base, UTCDateTime, utcnow


class WebSession(Base):
    """A logged-in browser. The cookie holds a random token; only its HMAC is stored, so deleting the row
    logs the browser out on every server process at once."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    athlete_id: Mapped[int] = mapped_column(sa.ForeignKey("athletes.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
