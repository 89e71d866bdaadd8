"""A real OAuth client library (Authlib's OAuth2Session, with PKCE) against a real server process: the whole
flow an app goes through, from the authorization URL to revocation."""

from __future__ import annotations

import secrets

import pytest
from authlib.integrations.requests_client import OAuth2Session

from tests.conftest import Database, Factory, LiveServer
from tests.oauth2.flow import REDIRECT_URI, approve_in_browser, register_app

SCOPE = "athlete:read calendar:read"


@pytest.mark.parametrize("kind", ["confidential", "public"])
def test_an_oauth_client_library_runs_the_whole_flow(
    live_server: LiveServer, factory: Factory, db: Database, kind: str
):
    base = live_server.base_url
    athlete = factory.athlete(ftp=275)
    app = register_app(db.engine, public=kind == "public")
    client = OAuth2Session(
        client_id=app.client_id,
        client_secret=app.secret,
        scope=SCOPE,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="none" if app.secret is None else "client_secret_basic",
    )
    verifier = secrets.token_urlsafe(48)

    authorization_url, state = client.create_authorization_url(
        base + "/oauth/authorize", code_verifier=verifier
    )
    callback = approve_in_browser(base, authorization_url, athlete.email)
    assert callback.startswith(REDIRECT_URI + "?") and f"state={state}" in callback

    token = client.fetch_token(base + "/oauth/token", authorization_response=callback, code_verifier=verifier)
    assert token["token_type"] == "Bearer" and token["expires_in"] == 21600 and token["scope"] == SCOPE
    profile = client.get(base + "/api/v1/athlete")
    assert profile.status_code == 200 and profile.json()["ftp"] == 275

    first_refresh_token = token["refresh_token"]
    refreshed = client.refresh_token(base + "/oauth/token")
    assert refreshed["refresh_token"] != first_refresh_token
    assert client.get(base + "/api/v1/athlete").status_code == 200

    revoked = client.revoke_token(base + "/oauth/token/revoke", refreshed["refresh_token"])
    assert revoked.status_code == 200
    assert client.get(base + "/api/v1/athlete").status_code == 401

    if app.secret is not None:  # only a client that can authenticate may introspect
        inactive = client.introspect_token(base + "/oauth/token/introspection", refreshed["access_token"])
        assert inactive.status_code == 200 and inactive.json() == {"active": False}
