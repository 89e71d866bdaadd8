from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from trainerday_server.models.base import Base, UTCDateTime, utcnow


class ApiKey(Base):
    """A personal API key. Only an HMAC of the key is stored; the key itself is shown once, at creation."""

    __tablename__ = "api_keys"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    athlete_id: Mapped[int] = mapped_column(sa.ForeignKey("athletes.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    hint: Mapped[str] = mapped_column(sa.String(16))  # "td_" and a few characters, to tell keys apart
    scopes: Mapped[str] = mapped_column(sa.String(255))  # space-separated
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Unix seconds, as OAuth token expiries are (the per-request lookup reads raw driver values); None: never.
    expires_at: Mapped[int | None] = mapped_column(sa.BigInteger)
