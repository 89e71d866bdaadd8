from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from trainerday_server.models.base import Base, UTCDateTime


class LoginAttempt(Base):
    """A log-in attempt, counted per account and per network address to throttle password guessing. It is
    recorded before its password is checked and counts as a failure unless the log-in succeeds (which
    deletes the account's attempts).

    Kept in the database, not in memory, so the limit holds across every server process. The email is
    stored as an HMAC: the table should not become a list of addresses people have typed.
    """

    __tablename__ = "login_attempts"
    __table_args__ = (
        sa.Index("ix_login_attempts_email_hash_attempted_at", "email_hash", "attempted_at"),
        sa.Index("ix_login_attempts_address_attempted_at", "address", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(sa.String(64))
    address: Mapped[str] = mapped_column(sa.String(45))  # long enough for any IPv6 address
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
