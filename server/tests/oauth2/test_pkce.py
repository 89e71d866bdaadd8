"""PKCE (behaviour 3): S256 only, required of public clients, accepted from confidential ones."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.oauth2.flow import Authorization, RegisteredApp, pkce_pair, query_of


def test_public_client_without_a_challenge_is_refused_at_authorization(logged_in: TestClient, public):
    response = Authorization(logged_in, public).request(code_challenge=None, code_challenge_method=None)
    assert query_of(response)["error"] == "invalid_request"
    assert "PKCE" in query_of(response)["error_description"]


def test_public_client_with_s256_gets_tokens_without_a_secret(logged_in: TestClient, public: RegisteredApp):
    tokens = Authorization(logged_in, public).tokens()
    assert tokens["access_token"].startswith("tdo_") and tokens["refresh_token"].startswith("tdr_")


def test_public_client_must_send_the_verifier(logged_in: TestClient, public: RegisteredApp):
    flow = Authorization(logged_in, public)
    response = flow.redeem(flow.code(), code_verifier=None)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_confidential_client_may_skip_pkce(flow: Authorization):
    code = flow.code(code_challenge=None, code_challenge_method=None)
    response = flow.redeem(code, code_verifier=None)
    assert response.status_code == 200


def test_confidential_client_using_pkce_must_prove_it(flow: Authorization):
    response = flow.redeem(flow.code(), code_verifier=None)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("method", ["plain", "s256", "S512"])
def test_only_s256_is_accepted(flow: Authorization, method):
    response = flow.request(code_challenge=flow.verifier, code_challenge_method=method)
    assert query_of(response)["error"] == "invalid_request"


def test_a_challenge_without_a_method_is_plain_and_refused(flow: Authorization):
    # RFC 7636 4.3: no method means "plain", which would hand the verifier to anyone who sees the request.
    response = flow.request(code_challenge_method=None)
    query = query_of(response)
    assert query["error"] == "invalid_request" and "S256" in query["error_description"]


@pytest.mark.parametrize("app_kind", ["confidential", "public"])
def test_a_wrong_verifier_is_invalid_grant(request, logged_in: TestClient, app_kind):
    flow = Authorization(logged_in, request.getfixturevalue(app_kind))
    other_verifier, _ = pkce_pair()
    response = flow.redeem(flow.code(), code_verifier=other_verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_the_challenge_itself_is_not_a_verifier(flow: Authorization):
    response = flow.redeem(flow.code(), code_verifier=flow.challenge)
    assert response.json()["error"] == "invalid_grant"


def test_a_verifier_for_a_code_issued_without_a_challenge_is_invalid_grant(flow: Authorization):
    # RFC 9700 4.8.2: the code was not bound to a verifier, so one turning up means it was injected.
    code = flow.code(code_challenge=None, code_challenge_method=None)
    response = flow.redeem(code)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_a_failed_verifier_does_not_burn_the_code(flow: Authorization):
    """Someone who intercepted the code but lacks the verifier must not be able to spoil it for the app."""
    code = flow.code()
    assert flow.redeem(code, code_verifier=pkce_pair()[0]).json()["error"] == "invalid_grant"
    assert flow.redeem(code).status_code == 200
