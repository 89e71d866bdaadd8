"""``/developer``: personal API keys (created and shown once, listed, revoked) and the OAuth apps connected to
the account (disconnect); ``/developer/apps``: applying for an OAuth client and managing it once approved,
with its webhook subscription (status, recent deliveries, re-enable, redeliver)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from trainerday_server.api_keys import service as keys
from trainerday_server.auth.scopes import ALL_SCOPES, SCOPES
from trainerday_server.db import session_scope
from trainerday_server.deps import SessionDep
from trainerday_server.errors import NotFound, TrainerDayError, ValidationFailed
from trainerday_server.models import OAuthApplication, OAuthClient, WebhookSubscription
from trainerday_server.oauth2 import applications
from trainerday_server.oauth2 import service as oauth
from trainerday_server.schemas import IdPath
from trainerday_server.web.common import AthletePage, AthletePageDep, UploaderDep, error_message, field
from trainerday_server.web.forms import FormDep, text
from trainerday_server.web.routes import expired_form, redirect
from trainerday_server.web.templates import render
from trainerday_server.webhooks import service as webhooks
from trainerday_server.webhooks.outbox import EVENT_TYPES
from trainerday_server.webhooks.sender import challenge_callback
from trainerday_server.webhooks.urls import Policy

router = APIRouter(include_in_schema=False)

MAX_KEY_DAYS = 3650
RECENT_DELIVERIES = 10  # shown per app on /developer/apps; the API lists up to 200


def _checked_csrf(request: Request, page: AthletePage, form: FormData) -> bool:
    return page.visitor.check_csrf(request.app.state.secret_key, text(form, "csrf_token"))


def _chosen_scopes(form: FormData) -> frozenset[str]:
    chosen = frozenset(v for v in form.getlist("scopes") if isinstance(v, str))
    unknown = chosen - ALL_SCOPES
    if unknown:
        raise ValidationFailed.single("scopes", f"unknown scope(s): {', '.join(sorted(unknown))}")
    if not chosen:
        raise ValidationFailed.single("scopes", "choose at least one scope")
    return chosen


# --- keys and connected apps -----------------------------------------------------------------------------


def _developer_page(
    request: Request,
    session: Session,
    page: AthletePage,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    new_key: str | None = None,
    new_key_name: str | None = None,
) -> Response:
    now = request.app.state.clock()
    all_keys = keys.list_keys(session, page.athlete_id)
    live = [
        k
        for k in all_keys
        if k.revoked_at is None and (k.expires_at is None or k.expires_at > now.timestamp())
    ]
    return render(
        request,
        "developer.html",
        page.visitor,
        status=status,
        error=error,
        notice=notice,
        new_key=new_key,
        new_key_name=new_key_name,
        keys=live,
        scopes=SCOPES,
        connections=oauth.connections(session, page.athlete_id, now),
        today=now.date(),
    )


NOTICES = {
    "revoked": "The key was revoked: it no longer works.",
    "disconnected": "The app was disconnected: every token it held for you stopped working.",
}


@router.get("/developer")
def developer_page(request: Request, page: AthletePageDep, session: SessionDep) -> Response:
    return _developer_page(request, session, page, notice=NOTICES.get(request.query_params.get("done", "")))


@router.post("/developer/keys")
def create_key(request: Request, form: FormDep, page: AthletePageDep, session: SessionDep) -> Response:
    """Creates a key and shows it this once (the page says so; it is never shown again)."""
    if not _checked_csrf(request, page, form):
        return expired_form(request, page.visitor)
    try:
        name = field(form, "name", max_length=100)
        scopes = _chosen_scopes(form)
        expires_at = _expiry(field(form, "expires", max_length=20).strip(), request.app.state.clock())
        created = keys.create_key(
            session,
            request.app.state.secret_key,
            page.athlete_id,
            name=name,
            scopes=scopes,
            expires_at=expires_at,
        )
    except TrainerDayError as exc:
        session.rollback()
        return _developer_page(request, session, page, status=400, error=error_message(exc))
    return _developer_page(request, session, page, new_key=created.plaintext, new_key_name=created.key.name)


def _expiry(text: str, now: dt.datetime) -> dt.datetime | None:
    """An optional last day (YYYY-MM-DD): the key works to the end of that day (UTC)."""
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.single("expires", "must be a date, YYYY-MM-DD") from None
    if day < now.date():
        raise ValidationFailed.single("expires", "must be today or later")
    if day > now.date() + dt.timedelta(days=MAX_KEY_DAYS):
        raise ValidationFailed.single("expires", "must be within ten years")
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


@router.post("/developer/keys/{key_id}/revoke")
def revoke_key(
    key_id: IdPath, request: Request, form: FormDep, page: AthletePageDep, session: SessionDep
) -> Response:
    if not _checked_csrf(request, page, form):
        return expired_form(request, page.visitor)
    keys.revoke_key(
        session, key_id, athlete_id=page.athlete_id
    )  # another athlete's key: NotFound, a 404 page
    return redirect("/developer?done=revoked")


@router.post("/developer/connections/{client_id}/disconnect")
def disconnect(
    client_id: str, request: Request, form: FormDep, page: AthletePageDep, session: SessionDep
) -> Response:
    if not _checked_csrf(request, page, form):
        return expired_form(request, page.visitor)
    oauth.disconnect(session, page.athlete_id, client_id, request.app.state.clock())
    return redirect("/developer?done=disconnected")


# --- applications for OAuth clients ----------------------------------------------------------------------


@dataclass(frozen=True)
class AppWebhook:
    """An approved app's webhook subscription as the page shows it, with its most recent deliveries."""

    subscription: WebhookSubscription
    events: list[str]
    deliveries: list[dict[str, Any]]  # the API's delivery JSON (camelCase), newest first


def _app_webhooks(
    session: Session, listed: list[tuple[OAuthApplication, OAuthClient | None]]
) -> dict[int, AppWebhook]:
    """Each approved app's subscription (an app has at most one), by application id; through the webhooks
    service, owner by owner, as the API finds them."""
    found: dict[int, AppWebhook] = {}
    for application, client in listed:
        if application.status != applications.APPROVED or client is None:
            continue
        owner = webhooks.Owner(client_pk=client.id)
        for row in webhooks.list_subscriptions(session, owner):
            deliveries = webhooks.list_deliveries(session, owner, row.id, None, RECENT_DELIVERIES)
            events = row.events if row.events is not None else list(EVENT_TYPES)
            found[application.id] = AppWebhook(row, events, deliveries)
    return found


def _apps_page(
    request: Request,
    session: Session,
    page: AthletePage,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    revealed: dict[str, Any] | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    listed = applications.list_for_athlete(session, page.athlete_id)
    return render(
        request,
        "apps.html",
        page.visitor,
        status=status,
        error=error,
        notice=notice,
        revealed=revealed,
        applications=listed,
        webhooks=_app_webhooks(session, listed),
        scopes=SCOPES,
        form=form
        or {"name": "", "website": "", "description": "", "redirect_uris": "", "scopes": [], "public": False},
        auto=request.app.state.settings.app_approval == "auto",
    )


APP_NOTICES = {
    "uris": "Redirect URIs saved.",
    "webhook-enabled": "Webhook subscription enabled again: its callback answered the challenge.",
    "redelivered": "The event will be delivered again, after any deliveries still pending.",
}


@router.get("/developer/apps")
def apps_page(request: Request, page: AthletePageDep, session: SessionDep) -> Response:
    return _apps_page(request, session, page, notice=APP_NOTICES.get(request.query_params.get("done", "")))


@router.post("/developer/apps")
def apply_for_app(request: Request, form: FormDep, page: AthletePageDep, session: SessionDep) -> Response:
    if not _checked_csrf(request, page, form):
        return expired_form(request, page.visitor)
    state = request.app.state
    uris_limit = applications.MAX_REDIRECT_URIS * 2100
    # What was typed, to fill the form again if it is refused (cut to size: the checks below refuse it).
    submitted: dict[str, Any] = {
        "name": text(form, "name")[:100],
        "website": text(form, "website")[: applications.MAX_WEBSITE],
        "description": text(form, "description")[: applications.MAX_DESCRIPTION],
        "redirect_uris": text(form, "redirect_uris")[:uris_limit],
        "scopes": [v for v in form.getlist("scopes") if isinstance(v, str)],
        "public": text(form, "client_type") == "public",
    }
    submitted = {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in submitted.items()}
    try:
        draft = applications.ApplicationDraft(
            name=field(form, "name", max_length=100),
            website=field(form, "website", max_length=applications.MAX_WEBSITE),
            description=field(form, "description", max_length=applications.MAX_DESCRIPTION),
            redirect_uris=applications.parse_redirect_uris(
                field(form, "redirect_uris", max_length=uris_limit)
            ),
            scopes=_chosen_scopes(form),
            public=submitted["public"],
        )
        decision = applications.apply(
            session,
            state.secret_key,
            page.athlete_id,
            draft,
            auto_approve=state.settings.app_approval == "auto",
            now=state.clock(),
        )
    except TrainerDayError as exc:
        session.rollback()
        return _apps_page(request, session, page, status=400, error=error_message(exc), form=submitted)
    if decision.client is not None:
        revealed = {
            "application_id": decision.application.id,
            "client_id": decision.client.client_id,
            "secret": decision.secret,
        }
        return _apps_page(request, session, page, notice="Your app is approved.", revealed=revealed)
    return _apps_page(request, session, page, notice="Application sent: an administrator will review it.")


@router.post("/developer/apps/{application_id}/secret")
def new_secret(
    application_id: IdPath, request: Request, form: FormDep, page: AthletePageDep, session: SessionDep
) -> Response:
    """A new client secret, shown this once; the previous one stops working at once."""
    if not _checked_csrf(request, page, form):
        return expired_form(request, page.visitor)
    try:
        client_id, secret = applications.new_secret(
            session, request.app.state.secret_key, page.athlete_id, application_id
        )
    except ValidationFailed as exc:  # a public client has no secret
        session.rollback()
        return _apps_page(request, session, page, status=400, error=error_message(exc))
    revealed = {"application_id": application_id, "client_id": client_id, "secret": secret}
    return _apps_page(request, session, page, notice="New client secret created.", revealed=revealed)


@router.post("/developer/apps/{application_id}/redirect-uris")
def edit_redirect_uris(
    application_id: IdPath, request: Request, form: FormDep, page: AthletePageDep, session: SessionDep
) -> Response:
    if not _checked_csrf(request, page, form):
        return expired_form(request, page.visitor)
    try:
        text = field(form, "redirect_uris", max_length=applications.MAX_REDIRECT_URIS * 2100)
        applications.set_redirect_uris(
            session, page.athlete_id, application_id, applications.parse_redirect_uris(text)
        )
    except ValidationFailed as exc:
        session.rollback()
        return _apps_page(request, session, page, status=400, error=error_message(exc))
    return redirect("/developer/apps?done=uris")


# --- an app's webhook subscription -----------------------------------------------------------------------


@router.post("/developer/apps/{application_id}/webhook/enable")
def enable_webhook(application_id: IdPath, request: Request, form: FormDep, page: UploaderDep) -> Response:
    """Turn the app's subscription disabled for failing back on, once its callback echoes a challenge again.
    No transaction is held while the callback is asked: a slow receiver must not hold the database."""
    if not _checked_csrf(request, page, form):
        return expired_form(request, page.visitor)
    state = request.app.state
    with session_scope(state.read_sessions) as session:
        owner, subscription_id = _own_subscription(session, page.athlete_id, application_id)
        url = webhooks.get_subscription(session, owner, subscription_id).callback_url
    settings = state.settings
    policy = Policy(allow_http=settings.webhooks_allow_http, allow_private=settings.webhooks_allow_private)
    problem = challenge_callback(url, policy, settings.webhooks_timeout_seconds)
    if problem is not None:
        with session_scope(state.read_sessions) as session:
            return _apps_page(
                request, session, page, status=400, error=f"The subscription stays disabled: {problem}"
            )
    with session_scope(state.write_sessions) as session:
        webhooks.enable_subscription(session, owner, subscription_id)
    return redirect("/developer/apps?done=webhook-enabled")


@router.post("/developer/apps/{application_id}/webhook/deliveries/{delivery_id}/redeliver")
def redeliver_webhook(
    application_id: IdPath,
    delivery_id: IdPath,
    request: Request,
    form: FormDep,
    page: AthletePageDep,
    session: SessionDep,
) -> Response:
    """Send one of the app's deliveries (a dead one, on the page) again."""
    if not _checked_csrf(request, page, form):
        return expired_form(request, page.visitor)
    owner, _ = _own_subscription(session, page.athlete_id, application_id)
    webhooks.redeliver(session, owner, delivery_id)  # a delivery of another subscription: NotFound
    return redirect("/developer/apps?done=redelivered")


def _own_subscription(session: Session, athlete_id: int, application_id: int) -> tuple[webhooks.Owner, int]:
    """The app's webhook owner and its subscription id; NotFound (a 404 page) for another athlete's app, an
    app not approved, or one without a subscription."""
    owner = webhooks.Owner(client_pk=applications.own_client(session, athlete_id, application_id).id)
    subscription_id = webhooks.existing_subscription(session, owner)
    if subscription_id is None:
        raise NotFound(f"application {application_id} has no webhook subscription")
    return owner, subscription_id
