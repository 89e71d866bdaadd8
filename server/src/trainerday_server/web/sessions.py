"""Browser sessions and CSRF tokens for the web pages.

The session cookie holds a random token (HttpOnly, SameSite=Lax, Secure and ``__Host-`` prefixed when the
server is reached over https). A browser that has not logged in still gets one, so that the log-in form has
a CSRF token too; logging in replaces it with a new token (no session fixation) whose HMAC is stored in
``web_sessions``, so logging out, on any server process, ends the session everywhere.

A form's CSRF token is an HMAC of the session token: bound to the session, nothing to store, and useless to
another browser.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from trainerday_server.auth.tokens import token_hash
from trainerday_server.config import Settings
from trainerday_server.deps import SessionDep
from trainerday_server.models import WebSession

SESSION_SECONDS = 14 * 24 * 3600
MAX_COOKIE_LENGTH = 64


def is_https(settings: Settings) -> bool:
    return settings.base_url.startswith("https://")


def cookie_name(settings: Settings) -> str:
    # __Host-: the browser only accepts it Secure, from this host, for path / - a sibling subdomain cannot
    # plant one (which would let it fix the session or CSRF token). The prefix needs https.
    return "__Host-td_session" if is_https(settings) else "td_session"


@dataclass(frozen=True)
class Visitor:
    """The browser behind a web request: its session token and, once logged in, its athlete."""

    token: str
    athlete_id: int | None
    is_new: bool = False  # the cookie is yet to be set

    def csrf_token(self, secret_key: bytes) -> str:
        return token_hash(secret_key, "csrf:" + self.token)

    def check_csrf(self, secret_key: bytes, submitted: str) -> bool:
        return hmac.compare_digest(self.csrf_token(secret_key), submitted)


def session_token(request: Request) -> str | None:
    """The session cookie's token, if the browser sent a plausible one."""
    token = request.cookies.get(cookie_name(request.app.state.settings))
    return token if token and len(token) <= MAX_COOKIE_LENGTH else None


def anonymous() -> Visitor:
    return Visitor(secrets.token_urlsafe(32), None, is_new=True)


def current_visitor(request: Request, session: SessionDep) -> Visitor:
    token = session_token(request)
    if token is None:
        return anonymous()
    athlete_id = session.scalar(
        sa.select(WebSession.athlete_id).where(
            WebSession.token_hash == token_hash(request.app.state.secret_key, token),
            WebSession.expires_at > request.app.state.clock(),
        )
    )
    return Visitor(token, athlete_id)


VisitorDep = Annotated[Visitor, Depends(current_visitor)]


def start_session(session: Session, secret_key: bytes, athlete_id: int, now: dt.datetime) -> str:
    """Log a browser in: a new session token (never the one it had before), stored as an HMAC."""
    session.execute(
        sa.delete(WebSession).where(WebSession.athlete_id == athlete_id, WebSession.expires_at <= now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=token_hash(secret_key, token),
            athlete_id=athlete_id,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=SESSION_SECONDS),
        )
    )
    session.flush()
    return token


def end_session(session: Session, secret_key: bytes, token: str) -> None:
    session.execute(sa.delete(WebSession).where(WebSession.token_hash == token_hash(secret_key, token)))


def set_session_cookie(response: Response, settings: Settings, token: str, *, persistent: bool) -> None:
    response.set_cookie(
        cookie_name(settings),
        token,
        max_age=SESSION_SECONDS if persistent else None,
        path="/",
        secure=is_https(settings),
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        cookie_name(settings), path="/", secure=is_https(settings), httponly=True, samesite="lax"
    )
