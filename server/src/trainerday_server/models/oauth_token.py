from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from trainerday_server.models.base import Base, UTCDateTime


class OAuthToken(Base):
    """One issue of an access token and its refresh token, both stored only as HMACs.

    Each refresh rotates: it marks this row's refresh token used and issues a new row in the same family
    (``authorization_code_id``). ``issued_at`` and the expiry columns are Unix seconds, as RFC 7662 reports
    them (``iat``, ``exp``), and because the per-request token lookup reads raw driver values, which for
    integers are the same on every backend.
    """

    __tablename__ = "oauth_tokens"
    __table_args__ = (
        sa.Index("ix_oauth_tokens_athlete_client", "athlete_id", "client_pk"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    authorization_code_id: Mapped[int] = mapped_column(
        sa.ForeignKey("oauth_authorization_codes.id", ondelete="CASCADE"), index=True
    )
    client_pk: Mapped[int] = mapped_column(sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), index=True)
    athlete_id: Mapped[int] = mapped_column(sa.ForeignKey("athletes.id", ondelete="CASCADE"))
    # The access token's, which a refresh may have narrowed. The refresh token's scope is the whole grant's
    # (RFC 6749 6): its authorization code's, so no refresh can narrow it for good.
    scope: Mapped[str] = mapped_column(sa.String(255))
    access_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    refresh_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    issued_at: Mapped[int] = mapped_column(sa.BigInteger)
    expires_at: Mapped[int] = mapped_column(sa.BigInteger)  # the access token's
    refresh_expires_at: Mapped[int] = mapped_column(sa.BigInteger)
    refresh_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # rotated away
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The audience (RFC 8707 resource) the access token is bound to, its code's; None: the REST API. A token
    # bound to one resource is refused by the other.
    resource: Mapped[str | None] = mapped_column(sa.String(255))
