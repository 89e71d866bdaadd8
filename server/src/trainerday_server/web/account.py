"""Accounts on the web: sign up, and /settings (profile, zones, iCal feed, password, deleting the account)."""

from __future__ import annotations

from typing import Any

import pydantic
from fastapi import APIRouter, Request
from sqlalchemy import exc as sa_exc
from starlette.responses import Response

from trainerday_server.accounts import service as accounts
from trainerday_server.athlete import service as athletes
from trainerday_server.athlete.schemas import AthletePatch, iana_time_zones
from trainerday_server.athlete.zones import heart_rate_zones, power_zones
from trainerday_server.auth.passwords import hash_password
from trainerday_server.calendar import feed
from trainerday_server.db import session_scope
from trainerday_server.deps import SessionDep
from trainerday_server.errors import Conflict, TrainerDayError
from trainerday_server.web.common import AthletePage, AthletePageDep, error_message, field, optional_number
from trainerday_server.web.forms import FormDep, text
from trainerday_server.web.routes import expired_form, redirect
from trainerday_server.web.sessions import (
    Visitor,
    VisitorDep,
    anonymous,
    clear_session_cookie,
    session_token,
    set_session_cookie,
    start_session,
)
from trainerday_server.web.templates import render
from trainerday_server.workouts.chart import ZONE_COLOURS

router = APIRouter(include_in_schema=False)

SIGNUP_CLOSED = "Sign-up is closed on this server: ask its operator for an account."
# Never says whether the email is taken by someone else: the same words as any other refusal would be a leak,
# so a taken email gets the generic message below and nothing is created.
SIGNUP_REFUSED = "We could not create an account with these details. If you already have one, log in."
HR_ZONE_COLOURS = ("#9e9e9e", "#2f7fe0", "#3fae49", "#f57c00", "#e53935")


# --- sign up ---------------------------------------------------------------------------------------------


@router.get("/signup")
def signup_page(request: Request, visitor: VisitorDep) -> Response:
    if visitor.athlete_id is not None:
        return redirect("/developer")
    closed = request.app.state.settings.signup != "open"
    return render(
        request,
        "signup.html",
        visitor,
        status=403 if closed else 200,
        closed=closed,
        error=None,
        email="",
        name="",
    )


@router.post("/signup")
def sign_up(request: Request, form: FormDep) -> Response:
    """Like log-in, holds no database session while it reads the form: the account and its first browser
    session are written in one short transaction of their own."""
    state = request.app.state
    token = session_token(request)
    visitor = Visitor(token, None) if token else anonymous()
    if state.settings.signup != "open":
        return render(request, "signup.html", visitor, status=403, closed=True, error=None, email="", name="")
    if token is None or not visitor.check_csrf(state.secret_key, text(form, "csrf_token")):
        return expired_form(request, visitor)
    email = text(form, "email").strip()[:254].replace("\x00", "")  # echoed back into the form
    name = text(form, "name").strip()[:100].replace("\x00", "")

    def page(status: int, error: str) -> Response:
        return render(
            request, "signup.html", visitor, status=status, closed=False, error=error, email=email, name=name
        )

    limit = accounts.MAX_PASSWORD_LENGTH
    try:
        password = field(form, "password", max_length=limit)
        if password != field(form, "password_again", max_length=limit):
            return page(400, "The two passwords differ.")
        checked_name = field(form, "name", max_length=100).strip()
        checked_email = field(form, "email", max_length=254)
        with session_scope(state.write_sessions) as session:
            athlete = accounts.create_athlete(session, checked_email, password, name=checked_name or None)
            token = start_session(session, state.secret_key, athlete.id, state.clock())
    except (Conflict, sa_exc.IntegrityError):  # IntegrityError: the same email signed up at the same moment
        hash_password(password)  # as slow as a sign-up that succeeds: timing does not tell either
        return page(400, SIGNUP_REFUSED)
    except TrainerDayError as exc:
        return page(400, error_message(exc))
    response = redirect("/developer")
    set_session_cookie(response, state.settings, token, persistent=True)
    return response


# --- settings --------------------------------------------------------------------------------------------


def _zone_rows(zones: list[Any], colours: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {
            "number": z.number,
            "name": z.name,
            "low": z.low,
            "high": z.high,
            "colour": colours[(z.number - 1) % len(colours)],
        }
        for z in zones
    ]


def _settings_page(
    request: Request,
    session: Any,
    page: AthletePage,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    athlete = athletes.get_athlete(session, page.athlete_id)
    token = feed.feed_token(session, request.app.state.secret_key, page.athlete_id)
    base_url = request.app.state.settings.base_url.rstrip("/")
    values = form or {
        "name": athlete.name,
        "weight_kg": "" if athlete.weight_kg is None else f"{athlete.weight_kg:g}",
        "ftp": str(athlete.ftp),
        "lthr": "" if athlete.lthr is None else str(athlete.lthr),
        "max_heart_rate": "" if athlete.max_heart_rate is None else str(athlete.max_heart_rate),
        "resting_heart_rate": "" if athlete.resting_heart_rate is None else str(athlete.resting_heart_rate),
        "timezone": athlete.timezone,
        "units": athlete.units,
    }
    return render(
        request,
        "settings.html",
        page.visitor,
        status=status,
        error=error,
        notice=notice,
        athlete=athlete,
        values=values,
        time_zones=sorted(iana_time_zones()),
        power_zones=_zone_rows(power_zones(athlete.ftp), ZONE_COLOURS),
        heart_rate_zones=_zone_rows(heart_rate_zones(athlete.lthr), HR_ZONE_COLOURS) if athlete.lthr else [],
        ftp_history=athletes.ftp_history(session, page.athlete_id)[-10:],
        feed_url=f"{base_url}/calendar/{token}.ics" if token else None,
    )


SAVED = {
    "profile": "Profile saved.",
    "feed": "Your calendar feed has a new address; the old one no longer works.",
    "password": "Password changed. Other browsers have been logged out.",
}


@router.get("/settings")
def settings_page(request: Request, page: AthletePageDep, session: SessionDep) -> Response:
    return _settings_page(request, session, page, notice=SAVED.get(request.query_params.get("saved", "")))


_PROFILE_FIELDS = (
    "name",
    "weight_kg",
    "ftp",
    "lthr",
    "max_heart_rate",
    "resting_heart_rate",
    "timezone",
    "units",
)


@router.post("/settings/profile")
def save_profile(request: Request, form: FormDep, page: AthletePageDep, session: SessionDep) -> Response:
    if not page.visitor.check_csrf(request.app.state.secret_key, text(form, "csrf_token")):
        return expired_form(request, page.visitor)
    submitted = {name: text(form, name).strip()[:100].replace("\x00", "") for name in _PROFILE_FIELDS}
    try:
        changes: dict[str, Any] = {
            "name": field(form, "name", max_length=100).strip(),
            "weight_kg": optional_number(form, "weight_kg", whole=False),
            "ftp": optional_number(form, "ftp"),
            "lthr": optional_number(form, "lthr"),
            "max_heart_rate": optional_number(form, "max_heart_rate"),
            "resting_heart_rate": optional_number(form, "resting_heart_rate"),
            "timezone": field(form, "timezone", max_length=64).strip(),
            "units": field(form, "units", max_length=16).strip(),
        }
        if changes["ftp"] is None:
            changes.pop("ftp")  # required: an empty box keeps the FTP rather than erasing it
        patch = AthletePatch.model_validate(changes)
        athletes.update_profile(session, page.athlete_id, patch.model_dump(exclude_unset=True))
    except pydantic.ValidationError as exc:
        messages = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return _settings_page(request, session, page, status=400, error=messages, form=submitted)
    except TrainerDayError as exc:
        session.rollback()
        return _settings_page(request, session, page, status=400, error=error_message(exc), form=submitted)
    return redirect("/settings?saved=profile")


@router.post("/settings/feed")
def rotate_feed(request: Request, form: FormDep, page: AthletePageDep, session: SessionDep) -> Response:
    """A new secret iCal URL; the old one stops working at once."""
    if not page.visitor.check_csrf(request.app.state.secret_key, text(form, "csrf_token")):
        return expired_form(request, page.visitor)
    feed.rotate_feed(session, request.app.state.secret_key, page.athlete_id, request.app.state.clock())
    return redirect("/settings?saved=feed#calendar-feed")


@router.post("/settings/password")
def change_password(request: Request, form: FormDep, page: AthletePageDep, session: SessionDep) -> Response:
    """A new password; every session is logged out, and this browser gets a new one."""
    state = request.app.state
    if not page.visitor.check_csrf(state.secret_key, text(form, "csrf_token")):
        return expired_form(request, page.visitor)
    limit = accounts.MAX_PASSWORD_LENGTH
    new = field(form, "new_password", max_length=limit)
    if new != field(form, "new_password_again", max_length=limit):
        return _settings_page(request, session, page, status=400, error="The two new passwords differ.")
    try:
        accounts.change_password(
            session, page.athlete_id, field(form, "current_password", max_length=limit), new
        )
    except TrainerDayError as exc:
        session.rollback()
        return _settings_page(request, session, page, status=400, error=error_message(exc))
    token = start_session(session, state.secret_key, page.athlete_id, state.clock())
    response = redirect("/settings?saved=password")
    set_session_cookie(response, state.settings, token, persistent=True)
    return response


@router.post("/settings/delete")
def delete_account(request: Request, form: FormDep, page: AthletePageDep, session: SessionDep) -> Response:
    """Deletes everything, once the athlete has typed their email and password to confirm."""
    state = request.app.state
    if not page.visitor.check_csrf(state.secret_key, text(form, "csrf_token")):
        return expired_form(request, page.visitor)
    athlete = athletes.get_athlete(session, page.athlete_id)
    confirmed = field(form, "confirm_email", max_length=254).strip().lower() == athlete.email
    password = field(form, "password", max_length=accounts.MAX_PASSWORD_LENGTH)
    if not confirmed or accounts.authenticate(session, athlete.email, password) is None:
        message = "Not deleted: type your email address and your password to confirm."
        return _settings_page(request, session, page, status=400, error=message)
    accounts.delete_account(session, state.file_storage, page.athlete_id)
    response = redirect("/?deleted=1")
    clear_session_cookie(response, state.settings)
    return response
