"""The token endpoint's responses (behaviour 5): shape, caching headers, client authentication, errors."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.conftest import Database
from tests.oauth2.flow import Authorization, RegisteredApp
from trainerday_server.models import OAuthToken


def _no_store(response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"] == "application/json"


def test_a_token_response_has_every_field_and_is_not_cached(flow: Authorization):
    response = flow.redeem(flow.code(scope="calendar:read athlete:read"))
    assert response.status_code == 200
    _no_store(response)
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 21600
    assert body["scope"] == "athlete:read calendar:read"
    assert body["access_token"].startswith("tdo_") and body["refresh_token"].startswith("tdr_")


def test_tokens_are_stored_only_as_hashes(flow: Authorization, db: Database):
    body = flow.tokens()
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(OAuthToken)).one()
    stored = {str(v) for v in row}
    assert body["access_token"] not in stored and body["refresh_token"] not in stored


def test_errors_are_not_cached_either(flow: Authorization):
    response = flow.redeem("tdc_not-a-code")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    _no_store(response)


def test_client_secret_post_works_too(flow: Authorization):
    code = flow.code()
    response = flow.browser.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": flow.app.redirect_uri,
            "code_verifier": flow.verifier,
            "client_id": flow.app.client_id,
            "client_secret": flow.app.secret,
        },
    )
    assert response.status_code == 200


@pytest.mark.parametrize("method", ["basic", "post"])
def test_a_bad_client_secret_is_401_with_a_basic_challenge(flow: Authorization, method):
    code = flow.code()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": flow.app.redirect_uri}
    if method == "basic":
        response = flow.browser.post("/oauth/token", data=form, auth=(flow.app.client_id, "tds_wrong"))
    else:
        form |= {"client_id": flow.app.client_id, "client_secret": "tds_wrong"}
        response = flow.browser.post("/oauth/token", data=form)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic ")
    _no_store(response)
    assert flow.redeem(code).status_code == 200  # a failed attempt does not use the code up


@pytest.mark.parametrize(
    "auth",
    [("no-such-client", "secret"), None],
    ids=["unknown-client", "no-authentication"],
)
def test_unknown_or_missing_client_is_401(flow: Authorization, auth):
    form = {"grant_type": "authorization_code", "code": "x", "redirect_uri": flow.app.redirect_uri}
    response = flow.browser.post("/oauth/token", data=form, auth=auth)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic ")


def test_a_confidential_client_cannot_pass_as_public(flow: Authorization):
    code = flow.code()
    response = flow.browser.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": flow.app.redirect_uri,
            "code_verifier": flow.verifier,
            "client_id": flow.app.client_id,
        },
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_two_client_authentication_methods_at_once_is_invalid_request(flow: Authorization):
    response = flow.redeem(flow.code(), client_id=flow.app.client_id, client_secret=flow.app.secret)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    _no_store(response)


def test_client_id_in_the_body_must_match_the_basic_header(flow: Authorization):
    response = flow.redeem(flow.code(), client_id="someone-else")
    assert response.json()["error"] == "invalid_request"
    assert flow.redeem(flow.code(), client_id=flow.app.client_id).status_code == 200


@pytest.mark.parametrize("grant_type", ["password", "client_credentials", "implicit", "urn:x"])
def test_unknown_grant_type_is_unsupported_grant_type(flow: Authorization, grant_type):
    response = flow.browser.post("/oauth/token", data={"grant_type": grant_type}, auth=flow.app.basic)
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"
    _no_store(response)


@pytest.mark.parametrize("missing", ["grant_type", "code", "redirect_uri"])
def test_a_missing_parameter_is_invalid_request(flow: Authorization, missing):
    code = flow.code()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": flow.app.redirect_uri}
    del form[missing]
    response = flow.browser.post("/oauth/token", data=form, auth=flow.app.basic)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_a_repeated_parameter_is_invalid_request(flow: Authorization):
    code = flow.code()
    body = f"grant_type=authorization_code&code={code}&code=other&redirect_uri={flow.app.redirect_uri}"
    response = flow.browser.post(
        "/oauth/token",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=flow.app.basic,
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_the_token_endpoint_takes_only_post(flow: Authorization):
    assert flow.browser.get("/oauth/token").status_code == 405


def test_a_malformed_basic_header_is_not_a_crash(flow: Authorization):
    for header in ["Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic "]:
        response = flow.browser.post(
            "/oauth/token", data={"grant_type": "authorization_code"}, headers={"Authorization": header}
        )
        assert response.status_code in (400, 401) and "error" in response.json()


@pytest.mark.parametrize(
    "credentials",
    [b"\xff\xfe:secret", b"no-colon", b":no-id"],
    ids=["not-utf8", "no-colon", "empty-id"],
)
def test_undecodable_basic_credentials_are_invalid_client(flow: Authorization, credentials):
    header = "Basic " + base64.b64encode(credentials).decode()
    response = flow.browser.post(
        "/oauth/token", data={"grant_type": "authorization_code"}, headers={"Authorization": header}
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_basic_credentials_are_form_urlencoded(flow: Authorization):
    # RFC 6749 2.3.1: a client library may percent-encode the id and secret before joining them.
    encoded = "".join(f"%{b:02X}" for b in flow.app.client_id.encode())
    header = "Basic " + base64.b64encode(f"{encoded}:{flow.app.secret}".encode()).decode()
    code = flow.code()
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flow.app.redirect_uri,
        "code_verifier": flow.verifier,
    }
    assert flow.browser.post("/oauth/token", data=form, headers={"Authorization": header}).status_code == 200


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/token/revoke", "/oauth/token/introspection"])
def test_token_endpoints_over_plain_http_are_refused(app, confidential: RegisteredApp, path: str):
    """Client secrets and tokens never cross the network in the clear (loopback aside)."""
    with TestClient(app, base_url="http://testserver") as insecure:
        form = {"grant_type": "refresh_token", "token": "x", "refresh_token": "x"}
        response = insecure.post(path, data=form, auth=confidential.basic)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request" and "HTTPS" in response.json()["error_description"]
    assert response.headers["cache-control"] == "no-store" and response.headers["pragma"] == "no-cache"
