"""Fixtures for the OAuth tests: a browser, a registered app, a logged-in athlete, and a clock to move on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient
from trainerday_server.models import Athlete
from trainerday_server.models.base import utcnow

from tests.conftest import Database, Factory
from tests.oauth2.flow import Authorization, RegisteredApp, log_in, register_app


@pytest.fixture
def browser(app: FastAPI) -> Iterator[TestClient]:
    """An athlete's browser (and the app's HTTP client for the token endpoints): https, no auto-redirects."""
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield client


@pytest.fixture
def athlete(factory: Factory) -> Athlete:
    return factory.athlete(name="Ada Rider")


@pytest.fixture
def logged_in(browser: TestClient, athlete: Athlete) -> TestClient:
    assert log_in(browser, athlete.email).status_code == 303
    return browser


@pytest.fixture
def confidential(db: Database) -> RegisteredApp:
    return register_app(db.engine, name="Confidential App")


@pytest.fixture
def public(db: Database) -> RegisteredApp:
    return register_app(db.engine, public=True, name="Public App")


@pytest.fixture
def flow(logged_in: TestClient, confidential: RegisteredApp) -> Authorization:
    return Authorization(logged_in, confidential)


class Clock:
    """Replaces the app's clock; ``advance`` moves time on for every expiry check."""

    def __init__(self, app: FastAPI) -> None:
        self.offset = dt.timedelta()
        app.state.clock = lambda: utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    return Clock(app)
