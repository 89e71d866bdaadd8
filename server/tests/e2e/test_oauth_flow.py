"""A real OAuth client library (Authlib's OAuth2Session, with PKCE) against a real server process: the whole
flow an app goes through, from the authorization URL to revocation."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.requests_client import OAuth2Session

from tests.conftest import Database, Factory, LiveServer
from tests.oauth2.flow import REDIRECT_URI, csrf_of, log_in, register_app

SCOPE = "athlete:read calendar:read"


def athlete_approves(base_url: str, authorization_url: str, email: str) -> str:
    """What the athlete's browser does: follow the app's link, log in, press Allow. Returns the URL the
    browser is sent back to, with the code on it."""
    with httpx.Client(base_url=base_url, follow_redirects=False) as browser:
        to_login = browser.get(authorization_url)
        assert to_login.status_code == 303
        next_url = parse_qs(urlsplit(to_login.headers["location"]).query)["next"][0]
        logged = log_in(browser, email, next_url=next_url)
        assert logged.status_code == 303 and logged.headers["location"] == next_url
        consent = browser.get(next_url)
        assert consent.status_code == 200 and "Allow" in consent.text
        decided = browser.post(next_url, data={"csrf_token": csrf_of(consent.text), "decision": "allow"})
        assert decided.status_code == 303
        return decided.headers["location"]


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
    callback = athlete_approves(base, authorization_url, athlete.email)
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
