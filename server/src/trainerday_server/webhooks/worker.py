"""The delivery worker: claims due deliveries, sends them signed, and records each outcome.

Order: deliveries of one athlete to one subscription go out in id order, which is commit order (see
``outbox.emit``): only the oldest pending delivery of each (subscription, athlete) pair — its head — can be
claimed, together with the due deliveries queued behind it, and a failure stops the pair until its retry.

Fanning out: the write that causes an event inserts only the event, with the ids of the subscriptions it is
for (``outbox.emit``); the worker writes one delivery for each, taking events in id order, in the same
short transaction as its claim. One worker at a time fans out (SQLite's single writer; on PostgreSQL a
transaction-level advisory lock, which a busy worker skips), so deliveries are numbered in event order.

Claiming: one short write transaction sets ``claimed_until`` (a lease) on what this worker will send; on
PostgreSQL the heads are selected ``FOR UPDATE SKIP LOCKED``, so concurrent workers never wait on or take
each other's rows. SQLite serialises writers, and the lease column does the rest. A worker that dies holding
a lease only delays its deliveries until the lease ends (at-least-once: the receiver may see one twice,
with the same ``webhook-id``).

Retries follow ``TRAINERDAY_WEBHOOKS_RETRY_SCHEDULE`` with jitter; after the last, the delivery is dead, and
a subscription that has not succeeded since that delivery was made is disabled.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from trainerday_server.db import make_session_factory, session_scope
from trainerday_server.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from trainerday_server.models.base import utcnow
from trainerday_server.webhooks import outbox
from trainerday_server.webhooks.outbox import DEAD, DELIVERED, PENDING
from trainerday_server.webhooks.sender import Outcome, new_client, send
from trainerday_server.webhooks.service import SecretBox
from trainerday_server.webhooks.urls import Policy

log = logging.getLogger(__name__)

LEASE_MARGIN_SECONDS = 10.0
JITTER = 0.25  # each retry delay is scaled by a random factor in [0.75, 1.25]
SUCCESSES_PER_WRITE = 20
RECORD_EVERY_SECONDS = 1.0
WAKE_DELAY_SECONDS = 0.05
KEEP_DAYS = 30  # finished deliveries stay listed this long
PRUNE_EVERY_SECONDS = 3600.0
FANOUT_BATCH = 500  # events turned into deliveries per round
FANOUT_LOCK = 0x7464_686F_6F6B  # PostgreSQL advisory lock key ("tdhook"): one worker fans out at a time


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    subscription_id: int
    athlete_id: int
    attempts: int
    created_at: dt.datetime
    callback_url: str
    sealed_secret: str
    previous_sealed_secret: str | None  # signs too until previous_secret_until, after a rotation
    previous_secret_until: dt.datetime | None
    event_id: str
    body: str


@dataclass(frozen=True)
class WorkerConfig:
    retry_delays: Sequence[float]
    timeout: float = 5.0
    poll_seconds: float = 1.0
    policy: Policy = field(default_factory=Policy)
    pairs_per_claim: int = 16  # (subscription, athlete) pairs claimed at once
    batch_per_pair: int = 50  # deliveries of one pair claimed at once
    threads: int = 4  # pairs sent to concurrently


class DeliveryWorker:
    """Sends the outbox. ``run_once`` is one round (tests drive it); ``start`` runs rounds on a thread."""

    def __init__(
        self,
        engine: Engine,
        secret_key: bytes,
        config: WorkerConfig,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._engine = engine
        self._sessions = make_session_factory(engine, writer=True)
        self._read_sessions = make_session_factory(engine, writer=False)
        self._box = SecretBox(secret_key)
        self._config = config
        self._clock = clock
        self._rng = rng
        self._postgres = engine.dialect.name == "postgresql"
        self._local = threading.local()
        # SQLite has one writer at a time, and a writer that finds the lock taken sleeps (busy timeout, in
        # steps of milliseconds): this process's sending threads take turns here instead.
        self._write_turn: threading.Lock | contextlib.nullcontext[None] = (
            contextlib.nullcontext() if self._postgres else threading.Lock()
        )
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # --- running ---------------------------------------------------------------------------------------

    def start(self, *, background: bool = True) -> None:
        """Deliver until ``stop`` (on a thread, or in the caller's thread until ``request_stop``); woken at
        once by commits in this process that emit events."""
        self._stopping.clear()
        self._pool = ThreadPoolExecutor(self._config.threads, thread_name_prefix="webhooks-send")
        self._unsubscribe = outbox.on_commit(self._wake.set)
        if not background:
            self.run_forever()
            return
        self._thread = threading.Thread(target=self.run_forever, name="webhooks-worker", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the loop to end after the deliveries in flight (safe from a signal handler)."""
        self._stopping.set()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self.request_stop()
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        if self._thread:
            self._thread.join(timeout)
            self._thread = None
        if self._pool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def run_forever(self) -> None:
        next_prune = time.monotonic()
        while not self._stopping.is_set():
            try:
                sent = self.run_once()
                if time.monotonic() >= next_prune:
                    self.prune()
                    next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
            except Exception:  # the database may be briefly unavailable: try again later, loudly
                log.exception("webhook delivery round failed")
                sent = 0
            if sent == 0 and self._wake.wait(self._config.poll_seconds):
                # Woken by a commit: let a burst of writes finish, then send it in one claim.
                self._stopping.wait(WAKE_DELAY_SECONDS)
            self._wake.clear()

    def run_once(self) -> int:
        """Claim what is due and send it; how many deliveries were attempted."""
        claimed = self._claim()
        if not claimed:
            return 0
        pairs: dict[tuple[int, int], list[Claimed]] = {}
        for item in claimed:
            pairs.setdefault((item.subscription_id, item.athlete_id), []).append(item)
        if self._pool is None or len(pairs) == 1:
            return sum(self._send_pair(batch) for batch in pairs.values())
        return sum(self._pool.map(self._send_pair, pairs.values()))

    def prune(self) -> int:
        """Forget deliveries finished (delivered or dead) more than ``KEEP_DAYS`` ago, and events nobody is
        still to be sent; how many deliveries went. Pending deliveries are never pruned."""
        d, e = WebhookDelivery, WebhookEvent
        before = self._clock() - dt.timedelta(days=KEEP_DAYS)
        with self._write_turn, session_scope(self._sessions) as session:
            gone = session.execute(
                sa.delete(d)
                .where(d.status != PENDING, d.created_at < before)
                .execution_options(synchronize_session=False)
            )
            session.execute(
                sa.delete(e)
                .where(e.occurred_at < before, e.fanout.is_(None), ~sa.exists().where(d.event_id == e.id))
                .execution_options(synchronize_session=False)
            )
        return int(getattr(gone, "rowcount", 0) or 0)

    # --- claiming --------------------------------------------------------------------------------------

    def _lease(self, now: dt.datetime) -> dt.datetime:
        return now + dt.timedelta(seconds=self._config.timeout + LEASE_MARGIN_SECONDS)

    def _claim(self) -> list[Claimed]:
        d = WebhookDelivery
        now = self._clock()
        first_of_each_pair = (
            sa.select(sa.func.min(d.id)).where(d.status == PENDING).group_by(d.subscription_id, d.athlete_id)
        )
        heads_query = (
            sa.select(d.id, d.subscription_id, d.athlete_id)
            .join(WebhookSubscription, WebhookSubscription.id == d.subscription_id)
            .where(
                d.id.in_(first_of_each_pair),
                d.status == PENDING,
                d.next_attempt_at <= now,
                sa.or_(d.claimed_until.is_(None), d.claimed_until <= now),
                WebhookSubscription.disabled_at.is_(None),
            )
            .order_by(d.id)
            .limit(self._config.pairs_per_claim)
        )
        # Look before taking the write lock: on SQLite an idle or woken worker must not queue the requests'
        # writers behind a transaction that finds nothing to do (WAL readers take no lock).
        with session_scope(self._read_sessions) as session:
            if (
                not session.execute(_TO_FAN_OUT.limit(1)).first()
                and not session.execute(heads_query.limit(1)).first()
            ):
                return []
        with self._write_turn, session_scope(self._sessions) as session:
            self._fan_out(session)
            if self._postgres:
                heads_query = heads_query.with_for_update(skip_locked=True, of=d)
            heads = session.execute(heads_query).all()
            if not heads:
                return []
            ids: list[int] = []
            for head_id, subscription_id, athlete_id in heads:
                ids.append(head_id)
                # Behind a claimed head nobody else can claim: these are ours until the lease ends.
                behind = session.execute(
                    sa.select(d.id, d.next_attempt_at)
                    .where(
                        d.subscription_id == subscription_id,
                        d.athlete_id == athlete_id,
                        d.status == PENDING,
                        d.id > head_id,
                    )
                    .order_by(d.id)
                    .limit(self._config.batch_per_pair - 1)
                ).all()
                for delivery_id, due in behind:
                    if due > now:
                        break
                    ids.append(delivery_id)
            session.execute(
                sa.update(d)
                .where(d.id.in_(ids))
                .values(claimed_until=self._lease(now))
                .execution_options(synchronize_session=False)
            )
            rows = session.execute(
                sa.select(
                    d.id,
                    d.subscription_id,
                    d.athlete_id,
                    d.attempts,
                    d.created_at,
                    WebhookSubscription.callback_url,
                    WebhookSubscription.sealed_secret,
                    WebhookSubscription.previous_sealed_secret,
                    WebhookSubscription.previous_secret_until,
                    WebhookEvent.public_id,
                    WebhookEvent.body,
                )
                .join(WebhookSubscription, WebhookSubscription.id == d.subscription_id)
                .join(WebhookEvent, WebhookEvent.id == d.event_id)
                .where(d.id.in_(ids))
                .order_by(d.id)
            ).all()
        return [Claimed(*row) for row in rows]

    def _fan_out(self, session: Session) -> int:
        """Write the deliveries of events not fanned out yet, oldest first; how many events were."""
        if self._postgres and not session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(FANOUT_LOCK))):
            return 0  # another worker is at it; its deliveries are claimable once it commits
        e = WebhookEvent
        events = session.execute(
            sa.select(e.id, e.athlete_id, e.fanout, e.occurred_at)
            .where(_TO_FAN_OUT_WHERE)
            .order_by(e.id)
            .limit(FANOUT_BATCH)
        ).all()
        if not events:
            return 0
        wanted = {int(i) for event in events for i in (event.fanout or "").split()}
        # A subscription deleted since the event was written is given nothing.
        s = WebhookSubscription
        alive = set(session.scalars(sa.select(s.id).where(s.id.in_(wanted))))
        deliveries = [
            {
                "event_id": event.id,
                "subscription_id": subscription_id,
                "athlete_id": event.athlete_id,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": event.occurred_at,
                "created_at": event.occurred_at,  # queued when the change was: see _disable_if_failing
            }
            for event in events
            for subscription_id in sorted(int(i) for i in (event.fanout or "").split())
            if subscription_id in alive
        ]
        if deliveries:
            session.execute(sa.insert(_DELIVERIES), deliveries)  # ids taken in list order
        session.execute(
            sa.update(e)
            .where(e.id.in_([event.id for event in events]))
            .values(fanout=None)
            .execution_options(synchronize_session=False)
        )
        return len(events)

    # --- sending ---------------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = new_client(self._config.timeout)
            self._local.client = client
        return client

    def _send_pair(self, batch: list[Claimed]) -> int:
        """Send one pair's deliveries in order, stopping at the first failure; how many were attempted.

        Successes are recorded together, up to ``SUCCESSES_PER_WRITE`` or ``RECORD_EVERY_SECONDS`` apart: a
        worker dying in between sends those again (at-least-once, same ``webhook-id``), and the database
        is written a few times per batch instead of once per delivery."""
        delivered: list[tuple[Claimed, Outcome]] = []
        last_write = time.monotonic()
        for index, item in enumerate(batch):
            outcome = self._send_one(item)
            rest = [later.delivery_id for later in batch[index + 1 :]]
            if not outcome.ok:
                go_on = self._record(delivered, (item, outcome), rest)  # on only past a dead one
                delivered, last_write = [], time.monotonic()
                if not go_on:
                    return index + 1
                continue
            delivered.append((item, outcome))
            due = (
                len(delivered) >= SUCCESSES_PER_WRITE or time.monotonic() - last_write > RECORD_EVERY_SECONDS
            )
            if due or not rest:
                go_on = self._record(delivered, None, rest)
                delivered, last_write = [], time.monotonic()
                if not go_on:
                    return index + 1
        return len(batch)

    def _send_one(self, item: Claimed) -> Outcome:
        timestamp = self._clock()
        sealed = [item.sealed_secret]
        until = item.previous_secret_until
        if item.previous_sealed_secret and until is not None and timestamp < until:
            # Standard Webhooks: space-separated signatures, any one of which verifies. A receiver still on
            # the replaced secret keeps accepting deliveries until the overlap ends.
            sealed.append(item.previous_sealed_secret)
        try:
            opened = [self._box.open(one) for one in sealed]
        except ValueError as exc:
            return Outcome(None, b"", str(exc))
        body = item.body.encode()
        headers = {
            "content-type": "application/json",
            "webhook-id": item.event_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": " ".join(Webhook(s).sign(item.event_id, timestamp, body) for s in opened),
        }
        return send(
            self._client(),
            "POST",
            item.callback_url,
            self._config.policy,
            timeout=self._config.timeout,
            content=body,
            headers=headers,
        )

    def _record(
        self,
        delivered: list[tuple[Claimed, Outcome]],
        failed: tuple[Claimed, Outcome] | None,
        rest: list[int],
    ) -> bool:
        """Store outcomes in one transaction; True to go on with the pair (whose remaining leases are
        renewed), False to stop and release them."""
        now = self._clock()
        d = WebhookDelivery
        go_on = not self._stopping.is_set()
        with self._write_turn, session_scope(self._sessions) as session:
            by_code: dict[int | None, list[int]] = {}
            for item, outcome in delivered:
                by_code.setdefault(outcome.status_code, []).append(item.delivery_id)
            for code, ids in by_code.items():
                session.execute(
                    sa.update(d)
                    .where(d.id.in_(ids))
                    .values(
                        status=DELIVERED,
                        attempts=d.attempts + 1,
                        last_attempt_at=now,
                        delivered_at=now,
                        last_response_code=code,
                        last_error=None,
                        claimed_until=None,
                    )
                    .execution_options(synchronize_session=False)
                )
            if delivered:
                session.execute(
                    sa.update(WebhookSubscription)
                    .where(WebhookSubscription.id == delivered[0][0].subscription_id)
                    .values(last_success_at=now)
                    .execution_options(synchronize_session=False)
                )
            if failed is not None:
                go_on = self._record_failure(session, *failed, now) and go_on
            if rest:
                session.execute(
                    sa.update(d)
                    .where(d.id.in_(rest))
                    .values(claimed_until=self._lease(now) if go_on else None)
                    .execution_options(synchronize_session=False)
                )
        return go_on

    def _record_failure(self, session: Session, item: Claimed, outcome: Outcome, now: dt.datetime) -> bool:
        """A retry later, or dead after the last; True if the pair may go on (the failed one is dead)."""
        attempts = item.attempts + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_attempt_at": now,
            "last_response_code": outcome.status_code,
            "last_error": outcome.describe()[:500],
            "claimed_until": None,
        }
        dead = attempts > len(self._config.retry_delays)
        disabled = False
        if dead:
            values["status"] = DEAD
            disabled = self._disable_if_failing(session, item, now, outcome)
        else:
            delay = self._config.retry_delays[attempts - 1] * (1 + JITTER * (2 * self._rng() - 1))
            values["next_attempt_at"] = now + dt.timedelta(seconds=delay)
        session.execute(
            sa.update(WebhookDelivery)
            .where(WebhookDelivery.id == item.delivery_id)
            .values(values)
            .execution_options(synchronize_session=False)
        )
        return dead and not disabled

    def _disable_if_failing(
        self, session: Session, item: Claimed, now: dt.datetime, outcome: Outcome
    ) -> bool:
        last_success = session.scalar(
            sa.select(WebhookSubscription.last_success_at).where(
                WebhookSubscription.id == item.subscription_id
            )
        )
        if last_success is not None and last_success >= item.created_at:
            return False  # it works for other deliveries: this one event is what the receiver refuses
        reason = (
            f"disabled after every attempt to deliver {item.event_id} failed "
            f"({len(self._config.retry_delays) + 1} attempts); the last: {outcome.describe()}"
        )
        session.execute(
            sa.update(WebhookSubscription)
            .where(WebhookSubscription.id == item.subscription_id, WebhookSubscription.disabled_at.is_(None))
            .values(disabled_at=now, disabled_reason=reason[:500])
            .execution_options(synchronize_session=False)
        )
        log.warning("webhook subscription %s disabled: %s", item.subscription_id, reason)
        return True


_DELIVERIES: sa.Table = WebhookDelivery.__table__  # type: ignore[assignment]
_TO_FAN_OUT_WHERE = WebhookEvent.fanout.is_not(None)
_TO_FAN_OUT = sa.select(WebhookEvent.id).where(_TO_FAN_OUT_WHERE)


def worker_from_settings(engine: Engine, settings: Any) -> DeliveryWorker:
    """The worker ``serve`` and ``trainerday-server worker`` run, configured by ``TRAINERDAY_WEBHOOKS_*``."""
    config = WorkerConfig(
        retry_delays=settings.webhook_retry_delays,
        timeout=settings.webhooks_timeout_seconds,
        poll_seconds=settings.webhooks_poll_seconds,
        policy=Policy(allow_http=settings.webhooks_allow_http, allow_private=settings.webhooks_allow_private),
    )
    return DeliveryWorker(engine, settings.resolved_secret_key, config)
