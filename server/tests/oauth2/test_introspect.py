"""Introspection, RFC 7662 (behaviour 8)."""

from __future__ import annotations

import time

import pytest

from tests.conftest import Clock, Database
from tests.oauth2.flow import Authorization, RegisteredApp, introspect, refresh, register_app, revoke
from trainerday_server.models import Athlete

INACTIVE = {"active": False}


def test_an_active_access_token(flow: Authorization, athlete: Athlete):
    before = int(time.time())
    tokens = flow.tokens(scope="athlete:read calendar:read")
    response = introspect(flow.browser, flow.app, tokens["access_token"])
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body == {
        "active": True,
        "scope": "athlete:read calendar:read",
        "client_id": flow.app.client_id,
        "username": athlete.email,
        "token_type": "Bearer",
        "exp": body["iat"] + 21600,
        "iat": body["iat"],
        "sub": str(athlete.id),
        "iss": "http://127.0.0.1:8000",
    }
    assert before <= body["iat"] <= int(time.time())


def test_username_is_the_email_only_for_a_token_that_may_read_the_profile(
    flow: Authorization, athlete: Athlete
):
    """Introspection tells the app nothing its token could not read: without athlete:read the username is
    the athlete's id-based handle, not their email."""
    tokens = flow.tokens(scope="calendar:read")
    for token in tokens["access_token"], tokens["refresh_token"]:
        body = introspect(flow.browser, flow.app, token).json()
        assert body["active"] is True and body["scope"] == "calendar:read"
        assert body["username"] == f"athlete-{athlete.id}" and body["sub"] == str(athlete.id)
        assert athlete.email not in str(body)


def test_an_active_refresh_token(flow: Authorization):
    tokens = flow.tokens()
    body = introspect(flow.browser, flow.app, tokens["refresh_token"]).json()
    assert body["active"] is True and body["token_type"] == "refresh_token"
    assert body["exp"] == body["iat"] + 90 * 24 * 3600


def test_an_expired_token_is_exactly_inactive(flow: Authorization, clock: Clock):
    tokens = flow.tokens()
    clock.advance(hours=6)
    assert introspect(flow.browser, flow.app, tokens["access_token"]).json() == INACTIVE
    assert introspect(flow.browser, flow.app, tokens["refresh_token"]).json()["active"] is True


def test_a_revoked_token_is_exactly_inactive(flow: Authorization):
    tokens = flow.tokens()
    revoke(flow.browser, flow.app, tokens["access_token"])
    for token in tokens["access_token"], tokens["refresh_token"]:
        assert introspect(flow.browser, flow.app, token).json() == INACTIVE


def test_a_rotated_refresh_token_is_exactly_inactive(flow: Authorization):
    tokens = flow.tokens()
    refresh(flow.browser, flow.app, tokens["refresh_token"])
    assert introspect(flow.browser, flow.app, tokens["refresh_token"]).json() == INACTIVE
    assert introspect(flow.browser, flow.app, tokens["access_token"]).json()["active"] is True


@pytest.mark.parametrize("token", ["tdo_unknown", "tdr_unknown", "td_key", "x"])
def test_an_unknown_token_is_exactly_inactive(flow: Authorization, token):
    assert introspect(flow.browser, flow.app, token).json() == INACTIVE


def test_another_clients_token_is_exactly_inactive(flow: Authorization, db: Database):
    tokens = flow.tokens()
    other = register_app(db.engine, name="Other App")
    assert introspect(flow.browser, other, tokens["access_token"]).json() == INACTIVE


def test_client_authentication_is_required(flow: Authorization, public: RegisteredApp):
    tokens = flow.tokens()
    response = introspect(flow.browser, None, tokens["access_token"])
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic ")
    # A public client cannot authenticate, so it cannot introspect.
    as_public = flow.browser.post(
        "/oauth/token/introspection", data={"token": tokens["access_token"], "client_id": public.client_id}
    )
    assert as_public.status_code == 401


def test_an_unknown_token_type_hint_is_ignored(flow: Authorization):
    tokens = flow.tokens()
    body = introspect(flow.browser, flow.app, tokens["access_token"], token_type_hint="refresh_token").json()
    assert body["active"] is True
    assert introspect(flow.browser, flow.app, tokens["access_token"], token_type_hint="x").json()["active"]
