"""The athlete's iCal feed: a secret URL (``/calendar/{token}.ics``) calendar apps poll without a log-in.

The token is HMAC(server secret, nonce): the settings page can show the URL again from the stored nonce,
while the database alone (without the server secret) does not give it away. Rotating draws a new nonce, and
the old URL stops at once. No HTTP here.
"""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from trainerday_server.auth.tokens import token_hash
from trainerday_server.models import CalendarFeed

TOKEN_LENGTH = 64  # hex HMAC-SHA256


def _token(secret_key: bytes, nonce: str) -> str:
    return token_hash(secret_key, "ical-feed:" + nonce)


def feed_token(session: Session, secret_key: bytes, athlete_id: int) -> str | None:
    """The athlete's current feed token, or None when they have none yet."""
    nonce = session.scalar(sa.select(CalendarFeed.nonce).where(CalendarFeed.athlete_id == athlete_id))
    return None if nonce is None else _token(secret_key, nonce)


def rotate_feed(session: Session, secret_key: bytes, athlete_id: int, now: dt.datetime) -> str:
    """A new secret URL token for the athlete (creating the feed on first use); the previous one stops."""
    nonce = secrets.token_urlsafe(32)
    token = _token(secret_key, nonce)
    feed = session.get(CalendarFeed, athlete_id)
    if feed is None:
        session.add(
            CalendarFeed(
                athlete_id=athlete_id, nonce=nonce, token_hash=token_hash(secret_key, token), created_at=now
            )
        )
    else:
        feed.nonce, feed.token_hash, feed.created_at = nonce, token_hash(secret_key, token), now
    session.flush()
    return token


def athlete_for_token(session: Session, secret_key: bytes, token: str) -> int | None:
    """Whose feed this token opens, if any (looked up by its HMAC: constant work whatever the token)."""
    if len(token) != TOKEN_LENGTH:
        return None
    return session.scalar(
        sa.select(CalendarFeed.athlete_id).where(CalendarFeed.token_hash == token_hash(secret_key, token))
    )
