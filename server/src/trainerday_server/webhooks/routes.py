"""/api/v1/webhooks: subscriptions (an app with HTTP Basic client credentials, or an athlete with a personal
API key) and the deliveries made to them."""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from trainerday_server.auth.bearer import REALM, BearerError, authenticate_request
from trainerday_server.auth.tokens import token_hash
from trainerday_server.db import session_scope
from trainerday_server.deps import SessionDep
from trainerday_server.errors import ValidationFailed
from trainerday_server.models import WebhookSubscription
from trainerday_server.oauth2.server import basic_credentials
from trainerday_server.oauth2.service import find_client
from trainerday_server.schemas import MAX_ID, IdPath
from trainerday_server.webhooks import service
from trainerday_server.webhooks.outbox import APP_ONLY_EVENTS, EVENT_TYPES
from trainerday_server.webhooks.schemas import (
    DeliveriesOut,
    DeliveryOut,
    SecretOut,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionsOut,
)
from trainerday_server.webhooks.sender import challenge_callback
from trainerday_server.webhooks.service import Owner, SecretBox
from trainerday_server.webhooks.urls import Policy, check_url

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
# Documented in OpenAPI as either way in: an app's client credentials, or an athlete's personal key.
SECURED: dict[str, Any] = {"security": [{"oauthClient": []}, {"personalApiKey": []}]}


class SubscriberAuthError(BearerError):
    """A failure to say who subscribes: the challenge offers both ways in."""

    def challenge(self) -> str:
        return f'Basic realm="{REALM}", Bearer realm="{REALM}"'


def _app_owner(request: Request, client_id: str, secret: str) -> Owner:
    state = request.app.state
    with session_scope(state.read_sessions) as session:
        client = find_client(session, client_id)
    expected = None if client is None else client.secret_hash
    if (
        client is None
        or expected is None
        or not hmac.compare_digest(expected, token_hash(state.secret_key, secret))
    ):
        raise SubscriberAuthError(401, "invalid_client", "the client_id or client_secret is wrong")
    return Owner(client_pk=client.id)


async def subscriber(request: Request) -> Owner:
    """The app (``Authorization: Basic client_id:client_secret``) or athlete (``Bearer td_...``) asking."""
    header = request.headers.get("authorization", "")
    scheme = header.partition(" ")[0].lower()
    if scheme == "basic":
        credentials = basic_credentials(request.headers)
        if credentials is None:
            raise SubscriberAuthError(401, "invalid_client", "malformed HTTP Basic credentials")
        return await run_in_threadpool(_app_owner, request, *credentials)
    if scheme != "bearer":
        raise SubscriberAuthError(
            401,
            None,
            "authentication required: an app sends HTTP Basic client_id:client_secret, "
            "an athlete Authorization: Bearer with a personal API key",
        )
    principal = await authenticate_request(request)
    if principal.kind != "api_key":
        raise BearerError(
            403,
            "insufficient_scope",
            "an app manages webhooks with its client credentials (HTTP Basic), not an athlete's access token",
        )
    return Owner(athlete_id=principal.athlete_id, api_key_id=principal.credential_id, scopes=principal.scopes)


Subscriber = Annotated[Owner, Depends(subscriber)]


def _policy(request: Request) -> Policy:
    settings = request.app.state.settings
    return Policy(allow_http=settings.webhooks_allow_http, allow_private=settings.webhooks_allow_private)


def _verify_callback(request: Request, url: str) -> None:
    """Ask the callback to echo a challenge; a 400 saying what came back if it did not. No transaction is
    open meanwhile: a slow receiver must not hold the database."""
    settings = request.app.state.settings
    problem = challenge_callback(url, _policy(request), settings.webhooks_timeout_seconds)
    if problem is not None:
        raise ValidationFailed.single("callbackUrl", problem)


def _every_event(*, app: bool) -> list[str]:
    """What "every event type" means for an app, or for an athlete (never told of their own disconnects)."""
    return [t for t in EVENT_TYPES if app or t not in APP_ONLY_EVENTS]


def _subscription_out(row: WebhookSubscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=row.id,
        callback_url=row.callback_url,
        events=row.events if row.events is not None else _every_event(app=row.client_pk is not None),
        created_at=row.created_at,
        last_success_at=row.last_success_at,
        disabled_at=row.disabled_at,
        disabled_reason=row.disabled_reason,
    )


@router.post(
    "/subscriptions",
    openapi_extra=SECURED,
    status_code=201,
    response_model=SubscriptionCreated,
    summary="Subscribe a callback URL to events (it must echo a challenge first)",
    responses={
        400: {"description": "Invalid, unsafe or unverified callback"},
        409: {"description": "Already subscribed"},
    },
)
def create_subscription(
    body: SubscriptionIn, request: Request, response: Response, owner: Subscriber
) -> SubscriptionCreated:
    state = request.app.state
    url = check_url(body.callback_url, _policy(request))
    events = service.check_events(owner, body.events)
    with session_scope(state.read_sessions) as session:
        service.refuse_second_subscription(session, owner)
    _verify_callback(request, url)
    with session_scope(state.write_sessions) as session:
        row, secret = service.create_subscription(session, SecretBox(state.secret_key), owner, url, events)
        created = SubscriptionCreated(
            id=row.id,
            callback_url=row.callback_url,
            events=events if events is not None else _every_event(app=owner.client_pk is not None),
            secret=secret,
            created_at=row.created_at,
        )
    response.headers["location"] = f"{router.prefix}/subscriptions/{created.id}"
    return created


@router.get(
    "/subscriptions",
    response_model=SubscriptionsOut,
    summary="Your webhook subscriptions",
    openapi_extra=SECURED,
)
def list_subscriptions(session: SessionDep, owner: Subscriber) -> SubscriptionsOut:
    return SubscriptionsOut(data=[_subscription_out(r) for r in service.list_subscriptions(session, owner)])


@router.get(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionOut,
    summary="One subscription",
    openapi_extra=SECURED,
)
def read_subscription(subscription_id: IdPath, session: SessionDep, owner: Subscriber) -> SubscriptionOut:
    return _subscription_out(service.get_subscription(session, owner, subscription_id))


@router.delete(
    "/subscriptions/{subscription_id}",
    openapi_extra=SECURED,
    status_code=204,
    summary="Unsubscribe: nothing more is sent",
)
def delete_subscription(subscription_id: IdPath, session: SessionDep, owner: Subscriber) -> Response:
    service.delete_subscription(session, owner, subscription_id)
    return Response(status_code=204)


@router.post(
    "/subscriptions/{subscription_id}/rotate-secret",
    openapi_extra=SECURED,
    response_model=SecretOut,
    summary="A new signing secret (shown once); the old one signs beside it for a while (24 h by default)",
)
def rotate_secret(
    subscription_id: IdPath, request: Request, session: SessionDep, owner: Subscriber
) -> SecretOut:
    state = request.app.state
    secret, until = service.rotate_secret(
        session,
        SecretBox(state.secret_key),
        owner,
        subscription_id,
        now=state.clock(),
        overlap=dt.timedelta(hours=state.settings.webhooks_secret_overlap_hours),
    )
    return SecretOut(id=subscription_id, secret=secret, previous_secret_expires_at=until)


@router.post(
    "/subscriptions/{subscription_id}/enable",
    openapi_extra=SECURED,
    response_model=SubscriptionOut,
    summary="Turn a subscription disabled for failing back on (the callback must echo a challenge again)",
)
def enable_subscription(subscription_id: IdPath, request: Request, owner: Subscriber) -> SubscriptionOut:
    state = request.app.state
    with session_scope(state.read_sessions) as session:
        url = service.get_subscription(session, owner, subscription_id).callback_url
    _verify_callback(request, url)
    with session_scope(state.write_sessions) as session:
        return _subscription_out(service.enable_subscription(session, owner, subscription_id))


@router.get(
    "/deliveries",
    response_model=DeliveriesOut,
    summary="Recent deliveries, newest first",
    openapi_extra=SECURED,
)
def list_deliveries(
    session: SessionDep,
    owner: Subscriber,
    subscription_id: Annotated[int | None, Query(alias="subscriptionId", ge=1, le=MAX_ID)] = None,
    status: Annotated[Literal["pending", "delivered", "dead"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_DELIVERIES_PAGE)] = 50,
) -> DeliveriesOut:
    found = service.list_deliveries(session, owner, subscription_id, status, limit)
    return DeliveriesOut.model_validate({"data": found})


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    openapi_extra=SECURED,
    status_code=202,
    response_model=DeliveryOut,
    summary="Send a delivery's event again, after any still pending",
)
def redeliver(delivery_id: IdPath, session: SessionDep, owner: Subscriber) -> DeliveryOut:
    return DeliveryOut.model_validate(service.redeliver(session, owner, delivery_id))
