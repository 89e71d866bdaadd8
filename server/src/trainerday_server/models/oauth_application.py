from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from trainerday_server.models.base import Base, UTCDateTime, utcnow


class OAuthApplication(Base):
    """An athlete's application for an OAuth client, made on /developer/apps.

    It waits as ``pending`` until an operator approves it (which creates the client, linked by ``client_pk``)
    or rejects it with a reason; ``TRAINERDAY_APP_APPROVAL=auto`` approves at once. Once approved, the
    applicant manages the client (secret, redirect URIs) from the same page.
    """

    __tablename__ = "oauth_applications"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    athlete_id: Mapped[int] = mapped_column(sa.ForeignKey("athletes.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    website: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str] = mapped_column(sa.Text)
    redirect_uris: Mapped[list[str]] = mapped_column(sa.JSON)
    scopes: Mapped[str] = mapped_column(sa.String(255))
    public: Mapped[bool] = mapped_column(sa.Boolean)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")  # pending | approved | rejected
    reason: Mapped[str | None] = mapped_column(sa.Text)  # why it was rejected
    client_pk: Mapped[int | None] = mapped_column(
        sa.ForeignKey("oauth_clients.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CalendarFeed(Base):
    """An athlete's secret iCal feed URL (``/calendar/{token}.ics``).

    The token is HMAC(server secret, ``nonce``), so the settings page can show the URL again without the
    token being stored; lookups go by ``token_hash``. Rotating draws a new nonce: the old URL stops at once.
    """

    __tablename__ = "calendar_feeds"

    athlete_id: Mapped[int] = mapped_column(
        sa.ForeignKey("athletes.id", ondelete="CASCADE"), primary_key=True
    )
    nonce: Mapped[str] = mapped_column(sa.String(64))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
