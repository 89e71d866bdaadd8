"""The log-in and log-out pages, and the redirects to and from them that other pages use."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from trainerday_server.accounts.service import authenticate
from trainerday_server.db import session_scope
from trainerday_server.deps import SessionDep
from trainerday_server.web import throttle
from trainerday_server.web.forms import FormDep, text
from trainerday_server.web.sessions import (
    Visitor,
    VisitorDep,
    anonymous,
    clear_session_cookie,
    end_session,
    session_token,
    set_session_cookie,
    start_session,
)
from trainerday_server.web.templates import render

router = APIRouter(include_in_schema=False)

BAD_CREDENTIALS = "The email or password is incorrect."
THROTTLED = "Too many failed log-ins. Wait 15 minutes, then try again."
EXPIRED_FORM = "This form had expired. Please try again."


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path on this site only. Anything that a browser could read as
    another site (``//evil.example``, ``/\\evil.example``, ``https://...``, control characters) is dropped."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(c) < 0x21 or ord(c) == 0x7F or c == "\\" for c in value):
        return "/"
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else "/"


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="")


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


@router.get("/login")
def login_page(
    request: Request, visitor: VisitorDep, next_url: str | None = Query(None, alias="next")
) -> Response:
    target = safe_next(next_url)
    if visitor.athlete_id is not None:
        return redirect(target)
    return render(request, "login.html", visitor, next=target, email="", error=None)


@router.post("/login")
def log_in(request: Request, form: FormDep) -> Response:
    """Admits the attempt past the throttle in a short write transaction, checks the password outside any
    (argon2 is slow on purpose; SQLite has one writer), then starts the session in another."""
    state = request.app.state
    secret = state.secret_key
    token = session_token(request)
    visitor = Visitor(token, None) if token else anonymous()
    target = safe_next(text(form, "next"))
    email = text(form, "email").strip()

    def page(status: int, error: str) -> Response:
        return render(request, "login.html", visitor, status=status, next=target, email=email, error=error)

    if token is None or not visitor.check_csrf(secret, text(form, "csrf_token")):
        return page(400, EXPIRED_FORM)
    now = state.clock()
    address = request.client.host if request.client else "unknown"
    with session_scope(state.write_sessions) as session:
        admitted = throttle.admit(session, secret, email, address, now)
    if not admitted:
        response = page(429, THROTTLED)
        response.headers["Retry-After"] = str(int(throttle.WINDOW.total_seconds()))
        return response
    with session_scope(state.read_sessions) as session:
        athlete = authenticate(session, email, text(form, "password"))
    if athlete is None:
        return page(401, BAD_CREDENTIALS)  # the admitted attempt stays recorded: a failure
    with session_scope(state.write_sessions) as session:
        throttle.clear_failures(session, secret, email)
        new_token = start_session(session, secret, athlete.id, now)
    response = redirect(target)
    set_session_cookie(response, state.settings, new_token, persistent=True)
    return response


def expired_form(request: Request, visitor: Visitor) -> Response:
    """The answer to a form whose CSRF token does not match this session (old tab, logged out since...)."""
    return render(request, "error.html", visitor, status=400, title="Form expired", message=EXPIRED_FORM)


@router.post("/logout")
def log_out(request: Request, form: FormDep, visitor: VisitorDep, session: SessionDep) -> Response:
    if visitor.is_new or not visitor.check_csrf(request.app.state.secret_key, text(form, "csrf_token")):
        return expired_form(request, visitor)
    end_session(session, request.app.state.secret_key, visitor.token)
    response = redirect("/login")
    clear_session_cookie(response, request.app.state.settings)
    return response
