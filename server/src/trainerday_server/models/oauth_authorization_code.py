from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from trainerday_server.models.base import Base, UTCDateTime, utcnow


class OAuthAuthorizationCode(Base):
    """An athlete's consent to a client, as a one-time code; also the root of the tokens issued from it.

    The code itself is stored only as an HMAC. ``used_at`` is set by a conditional UPDATE when the code is
    redeemed, so two concurrent redemptions cannot both succeed. The row is kept after use: every token
    issued from it (and from their refreshes) points here, which is how a replayed code or refresh token
    revokes the whole family.
    """

    __tablename__ = "oauth_authorization_codes"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    client_pk: Mapped[int] = mapped_column(sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True)
    athlete_id: Mapped[int] = mapped_column(sa.ForeignKey("athletes.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(sa.Text)
    scope: Mapped[str] = mapped_column(sa.String(255))
    code_challenge: Mapped[str | None] = mapped_column(sa.String(128))  # PKCE, always S256
    # RFC 8707: the resource the tokens are for (the MCP endpoint's URL); None for the REST API.
    resource: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
