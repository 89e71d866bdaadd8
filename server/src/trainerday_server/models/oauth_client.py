from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from trainerday_server.models.base import Base, UTCDateTime, utcnow


class OAuthClient(Base):
    """An app registered by the operator to act for athletes through OAuth 2.0.

    Confidential clients have a secret, stored only as an HMAC with the server secret; public clients (apps
    that cannot keep a secret: mobile, desktop, single-page) have none and must use PKCE instead.
    Deleting a client deletes its codes and tokens with it (ON DELETE CASCADE).
    """

    __tablename__ = "oauth_clients"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    secret_hash: Mapped[str | None] = mapped_column(sa.String(64))  # None: a public client
    redirect_uris: Mapped[list[str]] = mapped_column(sa.JSON)  # matched exactly, never by prefix
    scopes: Mapped[str] = mapped_column(sa.String(255))  # the most it may ask for, space-separated
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Registered by the app itself (RFC 7591 dynamic registration, for MCP clients), not by the operator:
    # nobody has reviewed its name, which the consent page says.
    self_registered: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
