"""Webhook subscriptions and deliveries on the wire (camelCase)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from trainerday_server.schemas import ApiModel, ApiOut


class SubscriptionIn(ApiModel):
    callback_url: str = Field(max_length=2000, examples=["https://app.example/webhooks/trainerday"])
    events: list[str] | None = Field(
        default=None,
        max_length=50,
        description="Event types to receive; omit for every type (including types added later).",
        examples=[["activity.created", "activity.updated"]],
    )


class SubscriptionCreated(ApiOut):
    id: int
    callback_url: str
    events: list[str]
    secret: str = Field(description="The signing secret (whsec_...): shown only here and on rotation.")
    created_at: dt.datetime


class SubscriptionOut(ApiOut):
    id: int
    callback_url: str
    events: list[str]
    created_at: dt.datetime
    last_success_at: dt.datetime | None
    disabled_at: dt.datetime | None = Field(
        description="Set when deliveries kept failing; see disabledReason."
    )
    disabled_reason: str | None


class SubscriptionsOut(ApiOut):
    data: list[SubscriptionOut]


class SecretOut(ApiOut):
    id: int
    secret: str
    # Until then deliveries carry a signature with the replaced secret too (null: they do not).
    previous_secret_expires_at: dt.datetime | None = None


class DeliveryOut(ApiOut):
    id: int
    subscription_id: int
    event_id: str
    event_type: str
    athlete_id: int
    status: str = Field(description="pending, delivered or dead")
    attempts: int
    last_response_code: int | None
    last_error: str | None
    last_attempt_at: str | None
    next_attempt_at: str | None
    delivered_at: str | None
    created_at: str


class DeliveriesOut(ApiOut):
    data: list[DeliveryOut]
