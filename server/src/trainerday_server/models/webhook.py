"""Webhooks: who is told (subscriptions), what happened (the outbox of events), and each attempt to tell."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from trainerday_server.models.base import Base, UTCDateTime, utcnow


class WebhookSubscription(Base):
    """One callback URL, owned either by an OAuth app (events for every athlete who authorized it, filtered by
    the scopes each granted) or by an athlete (their own events, filtered by the scopes of the personal key
    that subscribed; revoking or deleting that key ends them).

    The signing secret is kept sealed with a key derived from the server secret: it must be readable to sign
    with, unlike tokens, which are stored only as HMACs.
    """

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        sa.CheckConstraint("(client_pk IS NULL) <> (athlete_id IS NULL)", name="one_owner"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_pk: Mapped[int | None] = mapped_column(
        sa.ForeignKey("oauth_clients.id", ondelete="CASCADE"), unique=True
    )
    athlete_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("athletes.id", ondelete="CASCADE"), unique=True
    )
    api_key_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    callback_url: Mapped[str] = mapped_column(sa.String(2000))
    events: Mapped[list[str] | None] = mapped_column(sa.JSON)  # None: every event type
    sealed_secret: Mapped[str] = mapped_column(sa.Text)
    # After a rotation the secret it replaced still signs, beside the new one, until this time: a receiver
    # that has not deployed the new secret yet keeps verifying (Standard Webhooks allows several signatures).
    previous_sealed_secret: Mapped[str | None] = mapped_column(sa.Text)
    previous_secret_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(500))


class WebhookEvent(Base):
    """The outbox: one row per change, written in the transaction that made it, holding the exact JSON body
    every attempt sends and signs. No foreign key to the athlete: ``connection.revoked`` must outlive a
    deleted account.

    ``fanout`` lists the subscriptions entitled to the event when it happened (ids, space-separated): the
    write that causes an event inserts this one row, and the worker turns it into deliveries (then sets it
    to NULL), so a subscribed write costs one INSERT more than an unsubscribed one."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        # Only the events still to fan out are in it: a handful, however long the outbox.
        sa.Index(
            "ix_webhook_events_fanout",
            "id",
            sqlite_where=sa.text("fanout IS NOT NULL"),
            postgresql_where=sa.text("fanout IS NOT NULL"),
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(40), unique=True)  # evt_..., the webhook-id
    athlete_id: Mapped[int] = mapped_column(sa.BigInteger)
    type: Mapped[str] = mapped_column(sa.String(40))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    body: Mapped[str] = mapped_column(sa.Text)
    fanout: Mapped[str | None] = mapped_column(sa.Text)


class WebhookDelivery(Base):
    """One event to one subscription: pending until a 2xx (delivered) or until the retry schedule runs out
    (dead). ``claimed_until`` is the worker's lease: a worker that dies mid-delivery only delays it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("ix_webhook_deliveries_pending", "status", "subscription_id", "athlete_id", "id"),
        sa.Index("ix_webhook_deliveries_subscription_id_id", "subscription_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True)
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    athlete_id: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_response_code: Mapped[int | None] = mapped_column(sa.Integer)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
