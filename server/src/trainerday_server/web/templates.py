"""Rendering pages: Jinja2 templates (autoescaped) with the security headers every page carries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from trainerday_server.web.sessions import Visitor, set_session_cookie

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=jinja2.StrictUndefined,  # a misspelt variable is an error, not an empty string
)


def _unix_date(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


_env.filters["unix_date"] = _unix_date

# Pages load nothing from elsewhere and run no inline script (only /static/*.js of this server: the copy
# button, upload progress, chart hover values; every page works without them); none may be framed
# (clickjacking on the consent page would let another site approve an app in the athlete's name); none is
# cached or leaks its URL onwards. connect-src 'self': the upload script posts to this server only.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def render(
    request: Request, template: str, visitor: Visitor, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """The page, with the visitor's CSRF token for its forms; sets the session cookie if it is new."""
    html = _env.get_template(template).render(
        visitor=visitor,
        csrf_token=visitor.csrf_token(request.app.state.secret_key),
        current_path=request.url.path,
        signup_open=request.app.state.settings.signup == "open",
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if visitor.is_new:
        set_session_cookie(response, request.app.state.settings, visitor.token, persistent=False)
    return response
