"""Subscriptions and deliveries, for their owner: an OAuth app or an athlete. No HTTP here.

Every query is filtered by the owner, so another owner's subscription or delivery is as absent as a
missing one (404).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trainerday_server.errors import Conflict, FieldError, NotFound, ValidationFailed
from trainerday_server.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from trainerday_server.models.base import utcnow
from trainerday_server.schemas import wire_timestamp
from trainerday_server.webhooks.outbox import (
    APP_ONLY_EVENTS,
    EVENT_SCOPES,
    EVENT_TYPES,
    PENDING,
    mark_emitted,
)

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
MAX_DELIVERIES_PAGE = 200


@dataclass(frozen=True)
class Owner:
    """Who is asking: an app (``client_pk``), or an athlete through a personal key."""

    client_pk: int | None = None
    athlete_id: int | None = None
    api_key_id: int | None = None
    scopes: frozenset[str] = frozenset()

    def owns(self) -> sa.ColumnElement[bool]:
        if self.client_pk is not None:
            return WebhookSubscription.client_pk == self.client_pk
        return WebhookSubscription.athlete_id == self.athlete_id


class SecretBox:
    """Seals signing secrets at rest with a key derived from the server secret: a copy of the database
    alone cannot sign (or read) a webhook."""

    def __init__(self, server_secret: bytes) -> None:
        key = hmac.new(server_secret, b"trainerday webhook secrets", hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError("a webhook secret sealed with another server secret") from None


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def check_events(owner: Owner, events: Sequence[str] | None) -> list[str] | None:
    """The event types asked for, each known once; an athlete's key must hold each one's read scope."""
    if events is None:
        return None
    if not events:
        raise ValidationFailed.single("events", "name at least one event type, or omit events for all")
    errors = []
    for i, name in enumerate(events):
        if name not in EVENT_SCOPES:
            errors.append(
                FieldError(
                    f"events[{i}]", f"unknown event type {name[:60]!r}; known: {', '.join(EVENT_TYPES)}"
                )
            )
            continue
        if owner.client_pk is None:
            scope = EVENT_SCOPES[name]
            if name in APP_ONLY_EVENTS:
                errors.append(FieldError(f"events[{i}]", f"{name} is sent to apps only"))
            elif scope is not None and scope not in owner.scopes:
                errors.append(FieldError(f"events[{i}]", f"{name} needs a key with the {scope} scope"))
    if errors:
        raise ValidationFailed(detail=f"{errors[0].field}: {errors[0].message}", errors=errors)
    return list(dict.fromkeys(events))


def existing_subscription(session: Session, owner: Owner) -> int | None:
    return session.scalar(sa.select(WebhookSubscription.id).where(owner.owns()))


def _already(subscription_id: int | None) -> Conflict:
    return Conflict(
        detail="you already have a webhook subscription: delete it before creating another",
        extra={"existingSubscriptionId": subscription_id},
    )


def refuse_second_subscription(session: Session, owner: Owner) -> None:
    existing = existing_subscription(session, owner)
    if existing is not None:
        raise _already(existing)


def create_subscription(
    session: Session, box: SecretBox, owner: Owner, callback_url: str, events: list[str] | None
) -> tuple[WebhookSubscription, str]:
    """The new subscription and its signing secret (shown once). The callback must be verified first."""
    secret = new_secret()
    row = WebhookSubscription(
        client_pk=owner.client_pk,
        athlete_id=owner.athlete_id if owner.client_pk is None else None,
        api_key_id=owner.api_key_id,
        callback_url=callback_url,
        events=events,
        sealed_secret=box.seal(secret),
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # a concurrent request made one first
        raise _already(existing_subscription(session, owner)) from None
    return row, secret


def list_subscriptions(session: Session, owner: Owner) -> list[WebhookSubscription]:
    return list(
        session.scalars(sa.select(WebhookSubscription).where(owner.owns()).order_by(WebhookSubscription.id))
    )


def get_subscription(session: Session, owner: Owner, subscription_id: int) -> WebhookSubscription:
    row = session.scalar(
        sa.select(WebhookSubscription).where(WebhookSubscription.id == subscription_id, owner.owns())
    )
    if row is None:
        raise NotFound(f"no webhook subscription with id {subscription_id}")
    return row


def delete_subscription(session: Session, owner: Owner, subscription_id: int) -> None:
    """Delete it and its deliveries: nothing more is sent."""
    session.delete(get_subscription(session, owner, subscription_id))
    session.flush()


def rotate_secret(
    session: Session,
    box: SecretBox,
    owner: Owner,
    subscription_id: int,
    *,
    now: dt.datetime,
    overlap: dt.timedelta,
) -> tuple[str, dt.datetime | None]:
    """A new signing secret, used from the next attempt on, and until when the one it replaces still signs
    beside it (None: it stops at once). Only the secret just replaced overlaps: rotating again within the
    window ends the older one."""
    row = get_subscription(session, owner, subscription_id)
    secret = new_secret()
    until = now + overlap if overlap > dt.timedelta() else None
    row.previous_sealed_secret = row.sealed_secret if until is not None else None
    row.previous_secret_until = until
    row.sealed_secret = box.seal(secret)
    session.flush()
    return secret, until


def enable_subscription(session: Session, owner: Owner, subscription_id: int) -> WebhookSubscription:
    """Turn a subscription disabled for failing back on (its callback verified again by the caller)."""
    row = get_subscription(session, owner, subscription_id)
    row.disabled_at = None
    row.disabled_reason = None
    session.flush()
    return row


# --- deliveries ------------------------------------------------------------------------------------------


def _delivery_query() -> sa.Select[WebhookDelivery, str, str]:
    return sa.select(WebhookDelivery, WebhookEvent.public_id, WebhookEvent.type).join(
        WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id
    )


def delivery_json(delivery: WebhookDelivery, event_id: str, event_type: str) -> dict[str, Any]:
    def stamp(value: Any) -> str | None:
        return None if value is None else wire_timestamp(value)

    return {
        "id": delivery.id,
        "subscriptionId": delivery.subscription_id,
        "eventId": event_id,
        "eventType": event_type,
        "athleteId": delivery.athlete_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "lastResponseCode": delivery.last_response_code,
        "lastError": delivery.last_error,
        "lastAttemptAt": stamp(delivery.last_attempt_at),
        "nextAttemptAt": stamp(delivery.next_attempt_at) if delivery.status == PENDING else None,
        "deliveredAt": stamp(delivery.delivered_at),
        "createdAt": stamp(delivery.created_at),
    }


def list_deliveries(
    session: Session, owner: Owner, subscription_id: int | None, status: str | None, limit: int
) -> list[dict[str, Any]]:
    """The most recent deliveries first, of one subscription or all the owner's."""
    query = _delivery_query().join(
        WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id
    )
    query = query.where(owner.owns())
    if subscription_id is not None:
        get_subscription(session, owner, subscription_id)
        query = query.where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    rows = session.execute(query.order_by(WebhookDelivery.id.desc()).limit(min(limit, MAX_DELIVERIES_PAGE)))
    return [delivery_json(*row) for row in rows]


def redeliver(session: Session, owner: Owner, delivery_id: int) -> dict[str, Any]:
    """Send a delivery's event again, as a new delivery after any still pending (same ``webhook-id``, so a
    receiver that de-duplicates will know it)."""
    found = session.execute(
        _delivery_query()
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.id == delivery_id, owner.owns())
    ).first()
    if found is None:
        raise NotFound(f"no webhook delivery with id {delivery_id}")
    original, event_id, event_type = found
    now = utcnow()
    again = WebhookDelivery(
        event_id=original.event_id,
        subscription_id=original.subscription_id,
        athlete_id=original.athlete_id,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(again)
    session.flush()
    mark_emitted(session)
    return delivery_json(again, event_id, event_type)
