"""Log-in throttling: too many recent failures for one account, or from one address, and further attempts
are refused without checking the password.

Failures are rows in ``login_attempts``, so the limits hold across every server process. The check and the
record are separate transactions (so the slow password hash never holds SQLite's write lock); concurrent
guesses can overshoot a limit by at most the number of requests in flight.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from trainerday_server.auth.tokens import token_hash
from trainerday_server.models import LoginAttempt

WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
# Higher: many people may share one address (a household, an office, a carrier's NAT).
MAX_FAILURES_PER_ADDRESS = 20


def _email_key(secret_key: bytes, email: str) -> str:
    return token_hash(secret_key, "login:" + email.strip().lower())


def is_throttled(session: Session, secret_key: bytes, email: str, address: str, now: dt.datetime) -> bool:
    since = now - WINDOW

    def failures(condition: sa.ColumnElement[bool]) -> int:
        count = sa.select(sa.func.count()).where(condition, LoginAttempt.attempted_at > since)
        return session.scalar(count) or 0

    return (
        failures(LoginAttempt.email_hash == _email_key(secret_key, email)) >= MAX_FAILURES_PER_ACCOUNT
        or failures(LoginAttempt.address == address) >= MAX_FAILURES_PER_ADDRESS
    )


def record_failure(session: Session, secret_key: bytes, email: str, address: str, now: dt.datetime) -> None:
    # Failures older than the window no longer count for anything.
    session.execute(sa.delete(LoginAttempt).where(LoginAttempt.attempted_at <= now - WINDOW))
    session.add(LoginAttempt(email_hash=_email_key(secret_key, email), address=address, attempted_at=now))
    session.flush()


def clear_failures(session: Session, secret_key: bytes, email: str) -> None:
    """After a successful log-in, the account's failures are forgiven (the address's are not)."""
    session.execute(sa.delete(LoginAttempt).where(LoginAttempt.email_hash == _email_key(secret_key, email)))
