"""Log-in throttling: too many recent failures for one account from one address, from one address in all, or
for one account from everywhere, and further attempts are refused without checking the password.

The account limit is counted per address, so a stranger guessing from elsewhere cannot lock the owner out:
their guesses fill their own allowance, not the owner's. A guesser spread over many addresses is still
bounded by the account's total, which is set well above what one address may try (it takes more than
``MAX_FAILURES_PER_ACCOUNT_TOTAL / MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS`` addresses to reach it).

Attempts are rows in ``login_attempts``, so the limits hold across every server process. Each attempt is
admitted - counted against the limits and recorded - in one short write transaction that no other admission
can interleave with, before its password is checked: the limits hold exactly however many guesses arrive at
once, and the slow password hash never runs while the lock is held. An admitted attempt counts as a failure
until its log-in succeeds.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from trainerday_server.auth.tokens import token_hash
from trainerday_server.models import LoginAttempt

WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS = 5
# Every address together: a distributed guess stays bounded, and one address alone cannot reach it.
MAX_FAILURES_PER_ACCOUNT_TOTAL = 50
# Higher: many people may share one address (a household, an office, a carrier's NAT).
MAX_FAILURES_PER_ADDRESS = 20


def _email_key(secret_key: bytes, email: str) -> str:
    return token_hash(secret_key, "login:" + email.strip().lower())


def admit(session: Session, secret_key: bytes, email: str, address: str, now: dt.datetime) -> bool:
    """Record an attempt to log in, unless a limit is already reached (then False, and nothing recorded).

    ``session`` must be a write session: on SQLite it holds the only write lock from its first statement;
    on PostgreSQL the table lock taken here queues concurrent admissions until this one commits."""
    if session.get_bind().dialect.name == "postgresql":
        # Self-conflicting, and conflicting with inserts and deletes; plain reads go on.
        session.execute(sa.text("LOCK TABLE login_attempts IN SHARE ROW EXCLUSIVE MODE"))
    since = now - WINDOW
    email_key = _email_key(secret_key, email)

    def attempts(condition: sa.ColumnElement[bool]) -> int:
        count = sa.select(sa.func.count()).where(condition, LoginAttempt.attempted_at > since)
        return session.scalar(count) or 0

    mine = LoginAttempt.email_hash == email_key
    if (
        attempts(mine & (LoginAttempt.address == address)) >= MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS
        or attempts(LoginAttempt.address == address) >= MAX_FAILURES_PER_ADDRESS
        or attempts(mine) >= MAX_FAILURES_PER_ACCOUNT_TOTAL
    ):
        return False
    # Attempts older than the window no longer count for anything.
    session.execute(sa.delete(LoginAttempt).where(LoginAttempt.attempted_at <= since))
    session.add(LoginAttempt(email_hash=email_key, address=address, attempted_at=now))
    session.flush()
    return True


def clear_failures(session: Session, secret_key: bytes, email: str) -> None:
    """After a successful log-in, the account's failures are forgiven, this attempt's included (the address's
    failures on other accounts are not)."""
    session.execute(sa.delete(LoginAttempt).where(LoginAttempt.email_hash == _email_key(secret_key, email)))
