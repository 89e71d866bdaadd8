"""The outbox: ``emit`` records an event in the caller's transaction, so it is committed with the change that
caused it or not at all, and a crash between the commit and the delivery loses nothing.

Subscriptions are matched when the event happens: an app is sent an event when it holds a live grant from
the athlete that includes the event's read scope, an athlete's own subscription when the key that made it
still holds that scope. With no matching subscription, ``emit`` is one indexed query and writes nothing;
the payload, when given as a function, is not even built.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from trainerday_server.models import (
    ApiKey,
    Athlete,
    OAuthAuthorizationCode,
    OAuthToken,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from trainerday_server.models.base import utcnow
from trainerday_server.schemas import wire_timestamp

# Each event type and the scope a receiver needs to be told of it; connection.revoked needs none.
EVENT_SCOPES: dict[str, str | None] = {
    "activity.created": "activities:read",
    "activity.updated": "activities:read",
    "activity.deleted": "activities:read",
    "calendar_event.created": "calendar:read",
    "calendar_event.updated": "calendar:read",
    "calendar_event.deleted": "calendar:read",
    "workout.created": "workout:read",
    "workout.updated": "workout:read",
    "workout.deleted": "workout:read",
    "athlete.updated": "athlete:read",
    "connection.revoked": None,
}
EVENT_TYPES = tuple(EVENT_SCOPES)
APP_ONLY_EVENTS = frozenset({"connection.revoked"})  # an athlete is not told they disconnected an app
EVENT_ID_PREFIX = "evt_"
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"

Data = dict[str, Any] | Callable[[], dict[str, Any]]


def emit(
    session: Session, athlete_id: int, event_type: str, data: Data, *, client_pk: int | None = None
) -> str | None:
    """Record ``event_type`` about ``athlete_id`` for every subscription entitled to it, in the caller's
    transaction; its ``evt_`` id, or None when nobody is subscribed. ``data`` is the object (or a function
    building it, called only if someone is subscribed); ``client_pk`` limits the event to one app."""
    scope = EVENT_SCOPES[event_type]
    now = utcnow()
    subscriptions = _entitled(session, athlete_id, event_type, scope, client_pk, now)
    if not subscriptions:
        return None
    if session.get_bind().dialect.name == "postgresql":
        # Delivery order is id order: hold the athlete's row so that ids for one athlete are taken in the
        # order their transactions commit (SQLite writers are serialised anyway).
        session.execute(sa.select(Athlete.id).where(Athlete.id == athlete_id).with_for_update())
    public_id = EVENT_ID_PREFIX + secrets.token_hex(12)
    body = {
        "type": event_type,
        "id": public_id,
        "occurredAt": wire_timestamp(now),
        "athleteId": athlete_id,
        "data": data() if callable(data) else data,
    }
    connection = session.connection()
    event = {
        "public_id": public_id,
        "athlete_id": athlete_id,
        "type": event_type,
        "occurred_at": now,
        "body": orjson.dumps(body).decode(),
    }
    event_pk = connection.execute(_INSERT_EVENT, event).scalar_one()
    connection.execute(
        _INSERT_DELIVERY,
        [
            {
                "event_id": event_pk,
                "subscription_id": subscription_id,
                "athlete_id": athlete_id,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for subscription_id in sorted(subscriptions)
        ],
    )
    mark_emitted(session)
    return public_id


def _entitled(
    session: Session,
    athlete_id: int,
    event_type: str,
    scope: str | None,
    client_pk: int | None,
    now: dt.datetime,
) -> set[int]:
    """The ids of the enabled subscriptions that asked for this event type and may see it."""
    if client_pk is not None:
        statement, params = (
            _ONE_APP,
            {"athlete_id": athlete_id, "now": int(now.timestamp()), "client_pk": client_pk},
        )
    elif event_type in APP_ONLY_EVENTS:
        statement, params = _APPS, {"athlete_id": athlete_id, "now": int(now.timestamp())}
    else:
        statement, params = _ANYONE, {"athlete_id": athlete_id, "now": int(now.timestamp())}
    found: set[int] = set()
    # Core on the session's connection, statements built once: this runs in every write.
    for subscription_id, events, scopes in session.connection().execute(statement, params):
        if events is not None and event_type not in events:
            continue
        if scope is None or scope in scopes.split():
            found.add(subscription_id)
    return found


def _live_at(seconds: sa.BindParameter[int]) -> sa.ColumnElement[bool]:
    return sa.and_(
        OAuthToken.revoked_at.is_(None),
        sa.or_(
            OAuthToken.expires_at > seconds,
            sa.and_(OAuthToken.refresh_used_at.is_(None), OAuthToken.refresh_expires_at > seconds),
        ),
    )


def _statements() -> tuple[Any, Any, Any]:
    athlete = sa.bindparam("athlete_id", type_=sa.Integer)
    now = sa.bindparam("now", type_=sa.BigInteger)
    apps = (
        sa.select(WebhookSubscription.id, WebhookSubscription.events, OAuthAuthorizationCode.scope)
        .join(
            OAuthToken,
            sa.and_(OAuthToken.client_pk == WebhookSubscription.client_pk, OAuthToken.athlete_id == athlete),
        )
        .join(OAuthAuthorizationCode, OAuthAuthorizationCode.id == OAuthToken.authorization_code_id)
        .where(WebhookSubscription.disabled_at.is_(None), _live_at(now))
    )
    one_app = apps.where(WebhookSubscription.client_pk == sa.bindparam("client_pk", type_=sa.Integer))
    own = (
        sa.select(WebhookSubscription.id, WebhookSubscription.events, ApiKey.scopes)
        .join(ApiKey, ApiKey.id == WebhookSubscription.api_key_id)
        .where(
            WebhookSubscription.athlete_id == athlete,
            WebhookSubscription.disabled_at.is_(None),
            ApiKey.revoked_at.is_(None),
        )
    )
    return one_app, apps, sa.union_all(apps, own)


_ONE_APP, _APPS, _ANYONE = _statements()
_EVENTS: sa.Table = WebhookEvent.__table__  # type: ignore[assignment]
_DELIVERIES: sa.Table = WebhookDelivery.__table__  # type: ignore[assignment]
# Table-level inserts, values bound at execution: the ORM's bulk path costs more than the rows.
_INSERT_EVENT = sa.insert(_EVENTS).returning(_EVENTS.c.id)
_INSERT_DELIVERY = sa.insert(_DELIVERIES)


# --- waking the worker of this process the moment an event is committed ---------------------------------

_EMITTED = "trainerday.webhooks.emitted"
_wakers: list[Callable[[], None]] = []
_wakers_lock = threading.Lock()


def mark_emitted(session: Session) -> None:
    """Wake this process's worker once the session commits."""
    session.info[_EMITTED] = True


def on_commit(waker: Callable[[], None]) -> Callable[[], None]:
    """Call ``waker`` after each commit that emitted an event; returns a function that stops it."""
    with _wakers_lock:
        _wakers.append(waker)

    def stop() -> None:
        with _wakers_lock:
            if waker in _wakers:
                _wakers.remove(waker)

    return stop


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_EMITTED, False):
        for waker in list(_wakers):
            waker()


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_EMITTED, None)
