"""Fixtures for the OAuth tests: registered apps, a logged-in athlete, an authorization to drive."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import TEST_SECRET, Database, Factory
from tests.oauth2.flow import Authorization, RegisteredApp, register_app
from trainerday_server.db import make_session_factory, session_scope
from trainerday_server.models import Athlete
from trainerday_server.models.base import utcnow
from trainerday_server.web.sessions import start_session


@pytest.fixture
def athlete(factory: Factory) -> Athlete:
    return factory.athlete(name="Ada Rider")


@pytest.fixture
def logged_in(browser: TestClient, athlete: Athlete, db: Database) -> TestClient:
    """The browser with a session for the athlete, made directly: the log-in form has its own tests, and
    the password hash it checks costs a third of a second."""
    with session_scope(make_session_factory(db.engine, writer=True)) as session:
        token = start_session(session, TEST_SECRET.encode(), athlete.id, utcnow())
    browser.cookies.set("td_session", token)
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
