"""Revocation, RFC 7009 (behaviour 7)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import Database
from tests.oauth2.flow import Authorization, RegisteredApp, refresh, register_app, revoke, works


def test_revoking_an_access_token_ends_it(flow: Authorization):
    tokens = flow.tokens()
    response = revoke(flow.browser, flow.app, tokens["access_token"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert not works(flow.browser, tokens["access_token"])


def test_revoking_a_refresh_token_revokes_its_access_tokens(flow: Authorization):
    first = flow.tokens()
    second = refresh(flow.browser, flow.app, first["refresh_token"]).json()
    assert revoke(flow.browser, flow.app, second["refresh_token"]).status_code == 200
    assert not works(flow.browser, first["access_token"])
    assert not works(flow.browser, second["access_token"])
    assert refresh(flow.browser, flow.app, second["refresh_token"]).json()["error"] == "invalid_grant"


def test_client_authentication_is_required(flow: Authorization):
    tokens = flow.tokens()
    response = revoke(flow.browser, None, tokens["access_token"])
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    wrong = RegisteredApp(flow.app.client_id, "tds_wrong", flow.app.redirect_uri)
    assert revoke(flow.browser, wrong, tokens["access_token"]).status_code == 401
    assert works(flow.browser, tokens["access_token"])


def test_client_secret_post_works_for_revocation(flow: Authorization):
    tokens = flow.tokens()
    form = {"client_id": flow.app.client_id, "client_secret": flow.app.secret}
    assert revoke(flow.browser, None, tokens["access_token"], **form).status_code == 200
    assert not works(flow.browser, tokens["access_token"])


def test_public_clients_revoke_with_their_client_id(logged_in: TestClient, public: RegisteredApp):
    tokens = Authorization(logged_in, public).tokens()
    assert revoke(logged_in, public, tokens["refresh_token"]).status_code == 200
    assert not works(logged_in, tokens["access_token"])


@pytest.mark.parametrize("token", ["tdo_unknown", "tdr_unknown", "td_an-api-key", "anything"])
def test_unknown_tokens_answer_200(flow: Authorization, token):
    response = revoke(flow.browser, flow.app, token)
    assert response.status_code == 200


def test_only_the_owning_client_may_revoke(flow: Authorization, db: Database):
    tokens = flow.tokens()
    other = register_app(db.engine, name="Other App")
    response = revoke(flow.browser, other, tokens["access_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert works(flow.browser, tokens["access_token"])


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "id_token", "nonsense"])
def test_any_token_type_hint_is_accepted_and_the_token_found_regardless(flow: Authorization, hint):
    tokens = flow.tokens()
    response = revoke(flow.browser, flow.app, tokens["access_token"], token_type_hint=hint)
    assert response.status_code == 200
    assert not works(flow.browser, tokens["access_token"])


def test_a_missing_token_is_invalid_request(flow: Authorization):
    response = flow.browser.post("/oauth/token/revoke", data={}, auth=flow.app.basic)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_revoking_twice_is_fine(flow: Authorization):
    tokens = flow.tokens()
    assert revoke(flow.browser, flow.app, tokens["refresh_token"]).status_code == 200
    assert revoke(flow.browser, flow.app, tokens["refresh_token"]).status_code == 200
