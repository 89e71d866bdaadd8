"""/developer/apps shows each approved app's webhook subscription (status, why it was disabled, recent
deliveries) and lets its owner enable it again and redeliver a dead delivery, through CSRF-protected forms.

A real receiver on 127.0.0.1 answers the challenges and the deliveries; the delivery worker is driven round
by round on a clock the test moves, so the retry schedule costs no waiting.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.conftest import TEST_RATE_LIMIT, TEST_SECRET, Database, Factory, bearer
from tests.oauth2.flow import Authorization, RegisteredApp, csrf_of
from tests.web.pages import messages, submit
from tests.webhooks import conftest as hooks
from tests.webhooks.conftest import RETRY_DELAYS, WorkerClock
from tests.webhooks.receiver import Receiver
from trainerday_server.config import Settings
from trainerday_server.db import make_session_factory, session_scope
from trainerday_server.models import Athlete, OAuthApplication, WebhookDelivery, WebhookSubscription
from trainerday_server.models.base import utcnow
from trainerday_server.oauth2 import applications
from trainerday_server.web.sessions import start_session
from trainerday_server.webhooks.worker import DeliveryWorker

# The webhook tests' fixtures: a real receiver on 127.0.0.1 and a worker driven on a clock the test moves.
receiver, worker, worker_clock = hooks.receiver, hooks.worker, hooks.worker_clock

APPS = "/developer/apps"
REDIRECT = "https://zone.example/callback"
APPLICATION = {
    "name": "Zone Coach",
    "website": "https://zone.example",
    "description": "Plans your week.",
    "redirect_uris": REDIRECT,
    "scopes": ["calendar:read"],
    "client_type": "confidential",
}
EVENT = {"calendarDate": "2026-01-15", "embedWorkout": {"title": "Easy", "segments": [[10, 50, 50]]}}
_ROW = re.compile(r"<tr>(.*?)</tr>", re.S)


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db.url,
        secret_key=TEST_SECRET,
        webhooks_worker=False,
        webhooks_allow_http=True,  # the receiver is plain http on 127.0.0.1
        webhooks_retry_schedule=",".join(str(d) for d in RETRY_DELAYS),
        webhooks_timeout_seconds=2.0,
        rate_limit=TEST_RATE_LIMIT,
        login_rate_limit=TEST_RATE_LIMIT,
        upload_rate_limit=TEST_RATE_LIMIT,
    )


def browser_for(app: FastAPI, db: Database, athlete: Athlete) -> TestClient:
    """A browser with a session for ``athlete``, made directly (the log-in form has its own tests)."""
    browser = TestClient(app, base_url="https://testserver", follow_redirects=False)
    with session_scope(make_session_factory(db.engine, writer=True)) as session:
        browser.cookies.set("td_session", start_session(session, TEST_SECRET.encode(), athlete.id, utcnow()))
    return browser


@dataclass(frozen=True)
class OwnedApp:
    application_id: int
    app: RegisteredApp
    subscription_id: int
    secret: str  # the subscription's signing secret, as the API showed it once
    athlete: Athlete
    browser: TestClient  # the owner, logged in


@pytest.fixture
def owner(app: FastAPI, db: Database, factory: Factory, receiver: Receiver) -> Iterator[OwnedApp]:
    """An athlete's approved app, connected by the athlete (calendar:read) and subscribed to the receiver."""
    athlete = factory.athlete(name="Ada Rider")
    with browser_for(app, db, athlete) as browser:
        applied = submit(browser, APPS, APPS, APPLICATION)
        assert applied.status_code == 200, applied.text
        with session_scope(make_session_factory(db.engine, writer=True)) as session:
            application_id = session.scalar(sa.select(OAuthApplication.id))
            assert application_id is not None
            decision = applications.approve(session, TEST_SECRET.encode(), application_id, utcnow())
            assert decision.client is not None and decision.secret is not None
            registered = RegisteredApp(decision.client.client_id, decision.secret, REDIRECT)
        Authorization(browser, registered).tokens(scope="calendar:read")
        subscribed = browser.post(
            "/api/v1/webhooks/subscriptions", json={"callbackUrl": receiver.url}, auth=registered.basic
        )
        assert subscribed.status_code == 201, subscribed.text
        created = subscribed.json()
        yield OwnedApp(application_id, registered, created["id"], created["secret"], athlete, browser)


def plan(client: TestClient, athlete: Athlete, factory: Factory, title: str) -> None:
    body = {**EVENT, "embedWorkout": {**EVENT["embedWorkout"], "title": title}}
    response = client.post("/api/v1/calendar/events", headers=bearer(factory.key(athlete.id)), json=body)
    assert response.status_code == 201, response.text


def fail_until_disabled(receiver: Receiver, worker: DeliveryWorker, clock: WorkerClock) -> None:
    """Every attempt answered 500, through the whole retry schedule: the delivery dies and the subscription
    is disabled by the worker."""
    receiver.fail_status = 500
    receiver.failures_to_come = len(RETRY_DELAYS) + 1
    for delay in (0, *RETRY_DELAYS):
        clock.advance(delay)
        assert worker.run_once() == 1


def subscription_row(db: Database, subscription_id: int) -> WebhookSubscription:
    with session_scope(make_session_factory(db.engine, writer=False)) as session:
        row = session.get(WebhookSubscription, subscription_id)
        assert row is not None
        session.expunge(row)
        return row


def deliveries(db: Database) -> list[tuple[int, str, int, int | None]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                WebhookDelivery.id,
                WebhookDelivery.status,
                WebhookDelivery.attempts,
                WebhookDelivery.last_response_code,
            ).order_by(WebhookDelivery.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_a_disabled_subscription_shows_why_and_is_enabled_and_redelivered_through_the_page(
    owner: OwnedApp,
    receiver: Receiver,
    worker: DeliveryWorker,
    worker_clock: WorkerClock,
    factory: Factory,
    db: Database,
):
    browser = owner.browser
    plan(browser, owner.athlete, factory, "Easy")
    fail_until_disabled(receiver, worker, worker_clock)
    [(dead_id, status, attempts, code)] = deliveries(db)
    assert (status, attempts, code) == ("dead", len(RETRY_DELAYS) + 1, 500)
    stored = subscription_row(db, owner.subscription_id)
    assert stored.disabled_at is not None and stored.disabled_reason

    page = browser.get(APPS)
    assert page.status_code == 200
    shown = text_of(page.text)
    assert receiver.url in shown and "disabled" in shown
    assert stored.disabled_reason in shown and "HTTP 500" in shown
    assert stored.disabled_at.strftime("%Y-%m-%d %H:%M UTC") in shown
    [row] = [text_of(r) for r in _ROW.findall(page.text) if "calendar_event.created" in r]
    dead_row = rf"calendar_event\.created .* dead {len(RETRY_DELAYS) + 1} HTTP 500 \u2013 Redeliver"
    assert re.search(dead_row, row), row
    assert "<script>" not in page.text  # no inline script: the page's CSP allows none

    # Enable again: the callback is asked for a new challenge first, through the webhooks service.
    challenges_before = len(receiver.challenges)
    enabled = submit(browser, APPS, f"{APPS}/{owner.application_id}/webhook/enable")
    assert enabled.status_code == 303 and enabled.headers["location"] == f"{APPS}?done=webhook-enabled"
    assert len(receiver.challenges) == challenges_before + 1
    assert subscription_row(db, owner.subscription_id).disabled_at is None
    after = browser.get(enabled.headers["location"])
    assert "enabled again" in " ".join(messages(after.text)) and "Enable again" not in after.text

    # Redeliver the dead one: a new pending delivery of the same event, sent by the next round.
    again = submit(browser, APPS, f"{APPS}/{owner.application_id}/webhook/deliveries/{dead_id}/redeliver")
    assert again.status_code == 303 and again.headers["location"] == f"{APPS}?done=redelivered"
    assert [d[1] for d in deliveries(db)] == ["dead", "pending"]
    assert worker.run_once() == 1
    [delivered] = receiver.deliveries
    assert delivered.json["type"] == "calendar_event.created"
    assert delivered.verified(owner.secret)["type"] == "calendar_event.created"
    assert [d[1] for d in deliveries(db)] == ["dead", "delivered"]
    assert "whsec_" not in browser.get(APPS).text  # the signing secret is never on the page


def test_enabling_is_refused_while_the_callback_does_not_echo_the_challenge(
    owner: OwnedApp,
    receiver: Receiver,
    worker: DeliveryWorker,
    worker_clock: WorkerClock,
    factory: Factory,
    db: Database,
):
    plan(owner.browser, owner.athlete, factory, "Easy")
    fail_until_disabled(receiver, worker, worker_clock)
    receiver.echo_challenge = False
    refused = submit(owner.browser, APPS, f"{APPS}/{owner.application_id}/webhook/enable")
    assert refused.status_code == 400
    error = messages(refused.text)[0]  # the page-level error, above the cards
    assert "stays disabled" in error and "not the challenge" in error
    assert subscription_row(db, owner.subscription_id).disabled_at is not None


def test_a_pending_delivery_shows_its_next_retry_and_no_redeliver_button(
    owner: OwnedApp,
    receiver: Receiver,
    worker: DeliveryWorker,
    worker_clock: WorkerClock,
    factory: Factory,
    db: Database,
):
    plan(owner.browser, owner.athlete, factory, "Easy")
    receiver.fail_status = 503
    receiver.failures_to_come = 1
    assert worker.run_once() == 1
    with db.engine.connect() as conn:
        next_at = conn.scalar(sa.select(WebhookDelivery.next_attempt_at))
    assert next_at is not None
    page = owner.browser.get(APPS).text
    [row] = [text_of(r) for r in _ROW.findall(page) if "calendar_event.created" in r]
    assert re.search(r"pending 1 HTTP 503", row), row
    assert next_at.strftime("%Y-%m-%d %H:%M:%S") in row
    assert "Redeliver" not in page and "Enable again" not in page and "active" in text_of(page)


def test_an_app_without_a_subscription_says_so(app: FastAPI, db: Database, factory: Factory):
    athlete = factory.athlete()
    with browser_for(app, db, athlete) as browser:
        submit(browser, APPS, APPS, APPLICATION)
        with session_scope(make_session_factory(db.engine, writer=True)) as session:
            application_id = session.scalar(sa.select(OAuthApplication.id))
            assert application_id is not None
            applications.approve(session, TEST_SECRET.encode(), application_id, utcnow())
        page = browser.get(APPS).text
        assert "Webhook subscription" in page and "POST /api/v1/webhooks/subscriptions" in page
        enable = submit(browser, APPS, f"{APPS}/{application_id}/webhook/enable")
        assert enable.status_code == 404


def test_another_athletes_subscription_is_never_shown_nor_actionable(
    owner: OwnedApp,
    receiver: Receiver,
    worker: DeliveryWorker,
    worker_clock: WorkerClock,
    app: FastAPI,
    factory: Factory,
    db: Database,
):
    plan(owner.browser, owner.athlete, factory, "Easy")
    fail_until_disabled(receiver, worker, worker_clock)
    [(dead_id, *_)] = deliveries(db)
    before = deliveries(db)
    challenges_before = len(receiver.challenges)

    other = factory.athlete(name="Other Rider")
    with browser_for(app, db, other) as intruder:
        # The intruder has an approved app of their own (so the page has a section to fill), without a hook.
        submit(intruder, APPS, APPS, {**APPLICATION, "name": "Intruder App"})
        with session_scope(make_session_factory(db.engine, writer=True)) as session:
            theirs = session.scalar(sa.select(sa.func.max(OAuthApplication.id)))
            assert theirs is not None and theirs != owner.application_id
            applications.approve(session, TEST_SECRET.encode(), theirs, utcnow())
        page = intruder.get(APPS).text
        assert receiver.url not in page and "dead" not in text_of(page)
        for action in (
            f"{APPS}/{owner.application_id}/webhook/enable",
            f"{APPS}/{owner.application_id}/webhook/deliveries/{dead_id}/redeliver",
            f"{APPS}/{theirs}/webhook/deliveries/{dead_id}/redeliver",  # their app, the owner's delivery
        ):
            answer = submit(intruder, APPS, action)
            assert answer.status_code == 404, (action, answer.text)
    assert deliveries(db) == before
    assert subscription_row(db, owner.subscription_id).disabled_at is not None
    assert len(receiver.challenges) == challenges_before


def test_the_forms_need_the_pages_csrf_token(
    owner: OwnedApp,
    receiver: Receiver,
    worker: DeliveryWorker,
    worker_clock: WorkerClock,
    factory: Factory,
    db: Database,
):
    plan(owner.browser, owner.athlete, factory, "Easy")
    fail_until_disabled(receiver, worker, worker_clock)
    [(dead_id, *_)] = deliveries(db)
    page = owner.browser.get(APPS).text
    assert csrf_of(page)
    for action in (
        f"{APPS}/{owner.application_id}/webhook/enable",
        f"{APPS}/{owner.application_id}/webhook/deliveries/{dead_id}/redeliver",
    ):
        forged = owner.browser.post(action, data={"csrf_token": "forged"})
        assert forged.status_code != 303 and forged.status_code < 500, action
    assert len(deliveries(db)) == 1
    assert subscription_row(db, owner.subscription_id).disabled_at is not None


@pytest.mark.parametrize(
    "action",
    [
        f"{APPS}/{2**70}/webhook/enable",
        f"{APPS}/0/webhook/enable",
        f"{APPS}/1/webhook/deliveries/{2**63}/redeliver",
        f"{APPS}/1/webhook/deliveries/-1/redeliver",
        f"{APPS}/abc/webhook/enable",
    ],
)
def test_absurd_ids_are_refused_cleanly(app: FastAPI, db: Database, factory: Factory, action: str):
    with browser_for(app, db, factory.athlete()) as browser:
        answer = submit(browser, APPS, action)
        assert 400 <= answer.status_code < 500, answer.text
