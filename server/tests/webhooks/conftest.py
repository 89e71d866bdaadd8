"""Fixtures for the webhook tests: a real receiver on 127.0.0.1, an app connected by an athlete through
the real OAuth flow, and a delivery worker the test runs round by round on a clock it controls."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.conftest import TEST_SECRET, Database, Factory, bearer
from tests.oauth2.conftest import athlete, confidential, logged_in, public  # noqa: F401 - fixtures used here
from tests.oauth2.flow import Authorization, RegisteredApp
from tests.webhooks.receiver import Receiver
from trainerday_server.config import Settings
from trainerday_server.models import Athlete
from trainerday_server.models.base import utcnow
from trainerday_server.webhooks.urls import Policy
from trainerday_server.webhooks.worker import DeliveryWorker, WorkerConfig

RETRY_DELAYS = (1.0, 2.0, 4.0)
SUBSCRIPTIONS = "/api/v1/webhooks/subscriptions"
DELIVERIES = "/api/v1/webhooks/deliveries"


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
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.down()


class WorkerClock:
    """The worker's time: real time plus whatever the test has moved it on by."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += dt.timedelta(seconds=seconds)


@pytest.fixture
def worker_clock() -> WorkerClock:
    return WorkerClock()


@pytest.fixture
def worker(db: Database, worker_clock: WorkerClock) -> DeliveryWorker:
    """A worker the test drives with ``run_once``; jitter fixed at none (rng 0.5) so delays are exact."""
    config = WorkerConfig(retry_delays=RETRY_DELAYS, timeout=2.0, policy=Policy(allow_http=True))
    return DeliveryWorker(db.engine, TEST_SECRET.encode(), config, clock=worker_clock, rng=lambda: 0.5)


@dataclass(frozen=True)
class ConnectedApp:
    app: RegisteredApp
    token: str  # the athlete's access token for the app

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def connect(browser: TestClient, app: RegisteredApp, scope: str) -> ConnectedApp:
    """The athlete approves ``app`` for ``scope`` through the real authorization flow."""
    tokens = Authorization(browser, app).tokens(scope=scope)
    return ConnectedApp(app, tokens["access_token"])


def subscribe_app(client: TestClient, app: RegisteredApp, url: str, events: list[str] | None = None) -> dict:
    body: dict = {"callbackUrl": url}
    if events is not None:
        body["events"] = events
    response = client.post(SUBSCRIPTIONS, json=body, auth=app.basic)
    assert response.status_code == 201, response.text
    return response.json()


@dataclass(frozen=True)
class Subscribed:
    """A subscription to the test's receiver, and the athlete whose changes it is told of."""

    id: int
    secret: str
    athlete_id: int
    headers: dict[str, str]  # the athlete's own personal key, every scope: for making changes
    app: ConnectedApp | None = None  # for an app's subscription: its access token from the athlete


@pytest.fixture
def own_subscription(client: TestClient, receiver: Receiver, factory: Factory) -> Subscribed:
    """An athlete subscribed to their own events with a personal key (every scope, every event type)."""
    someone = factory.athlete()
    headers = bearer(factory.key(someone.id))
    created = client.post(SUBSCRIPTIONS, json={"callbackUrl": receiver.url}, headers=headers)
    assert created.status_code == 201, created.text
    return Subscribed(created.json()["id"], created.json()["secret"], someone.id, headers)


@pytest.fixture
def app_subscription(
    logged_in: TestClient,  # noqa: F811 - the fixtures imported above
    confidential: RegisteredApp,  # noqa: F811
    receiver: Receiver,
    athlete: Athlete,  # noqa: F811
    factory: Factory,
) -> Callable[..., Subscribed]:
    """``subscribe(scope, events=None)``: the athlete connects the confidential app for ``scope``, and the
    app subscribes to the receiver (for ``events``, or all)."""

    def subscribe(scope: str, events: list[str] | None = None) -> Subscribed:
        app = connect(logged_in, confidential, scope)
        created = subscribe_app(logged_in, confidential, receiver.url, events)
        return Subscribed(created["id"], created["secret"], athlete.id, bearer(factory.key(athlete.id)), app)

    return subscribe
