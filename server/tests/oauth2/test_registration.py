"""RFC 7591 dynamic client registration: refused unless TRAINERDAY_MCP_CLIENTS=open; then public clients
only, exact redirect URIs under the usual rules, RFC 7591 errors that write nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.conftest import TEST_SECRET, Database
from tests.oauth2.flow import Authorization, RegisteredApp
from trainerday_server.app import create_app
from trainerday_server.config import Settings
from trainerday_server.db import make_session_factory, session_scope
from trainerday_server.models import OAuthClient
from trainerday_server.models.base import utcnow
from trainerday_server.web.sessions import start_session

GOOD = {
    "client_name": "My Assistant",
    "redirect_uris": ["http://127.0.0.1:33418/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "none",
}


@pytest.fixture
def open_app(db: Database, tmp_path: Path) -> FastAPI:
    settings = Settings(
        data_dir=tmp_path / "data", database_url=db.url, secret_key=TEST_SECRET, mcp_clients="open"
    )
    return create_app(settings, engine=db.engine)


@pytest.fixture
def open_client(open_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(open_app, base_url="https://testserver", follow_redirects=False) as client:
        yield client


def _clients(db: Database) -> list[OAuthClient]:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.select(OAuthClient.__table__)).all())  # type: ignore[arg-type]


def test_registration_is_refused_unless_opened(browser: TestClient, db: Database):
    response = browser.post("/oauth/register", json=GOOD)
    assert response.status_code == 403 and response.json()["error"] == "access_denied"
    assert "TRAINERDAY_MCP_CLIENTS=open" in response.json()["error_description"]
    assert "registration_endpoint" not in browser.get("/.well-known/oauth-authorization-server").json()
    assert _clients(db) == []


def test_an_open_server_registers_a_public_client(open_client: TestClient, db: Database):
    metadata = open_client.get("/.well-known/oauth-authorization-server").json()
    assert metadata["registration_endpoint"] == "http://127.0.0.1:8000/oauth/register"
    response = open_client.post("/oauth/register", json={**GOOD, "logo_uri": "https://x.example/l.png"})
    assert response.status_code == 201 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["client_name"] == "My Assistant" and body["redirect_uris"] == GOOD["redirect_uris"]
    assert body["token_endpoint_auth_method"] == "none" and "client_secret" not in body
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert set(body["scope"].split()) == {
        "athlete:read", "athlete:write", "workout:read", "workout:write",
        "calendar:read", "calendar:write", "activities:read", "activities:write",
    }  # fmt: skip
    [row] = _clients(db)
    assert row.client_id == body["client_id"] and row.secret_hash is None and row.self_registered


def test_a_registered_client_is_an_ordinary_public_client(
    open_client: TestClient, db: Database, athlete: Any
):
    body = open_client.post("/oauth/register", json={**GOOD, "scope": "calendar:read"}).json()
    with session_scope(make_session_factory(db.engine, writer=True)) as session:  # logged in, as the fixture
        open_client.cookies.set(
            "td_session", start_session(session, TEST_SECRET.encode(), athlete.id, utcnow())
        )
    app = RegisteredApp(body["client_id"], None, GOOD["redirect_uris"][0])
    flow = Authorization(open_client, app)
    page = flow.request(scope="calendar:read")
    assert page.status_code == 200 and "My Assistant" in page.text and "registered itself" in page.text
    assert flow.tokens(scope="calendar:read")["scope"] == "calendar:read"
    # its registered scope is all it may ask for, and its redirect URI is matched exactly
    assert "invalid_scope" in flow.request(scope="calendar:write").headers["location"]
    assert flow.request(redirect_uri=GOOD["redirect_uris"][0] + "x").status_code == 400
    # without PKCE a public client is refused
    assert (
        "invalid_request"
        in flow.request(scope="calendar:read", code_challenge=None, code_challenge_method=None).headers[
            "location"
        ]
    )


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": None}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://evil.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://a.example/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": "https://a.example/cb"}, "invalid_client_metadata"),
        ({"redirect_uris": [f"https://a.example/{i}" for i in range(11)]}, "invalid_redirect_uri"),
        ({"token_endpoint_auth_method": "client_secret_basic"}, "invalid_client_metadata"),
        ({"grant_types": ["client_credentials"]}, "invalid_client_metadata"),
        ({"grant_types": ["refresh_token"]}, "invalid_client_metadata"),
        ({"response_types": ["token"]}, "invalid_client_metadata"),
        ({"scope": "calendar:read admin"}, "invalid_client_metadata"),
        ({"client_name": 42}, "invalid_client_metadata"),
        # Shown on the consent page: NUL (stored by SQLite, a problem+json 400 from PostgreSQL), other control
        # characters and a right-to-left override that would show "ti nuR Official" as "Official Run it".
        ({"client_name": "a\x00b"}, "invalid_client_metadata"),
        ({"client_name": "line\nbreak"}, "invalid_client_metadata"),
        ({"client_name": "\u202eevil"}, "invalid_client_metadata"),
    ],
)
def test_bad_metadata_gets_an_rfc7591_error_and_registers_nothing(
    open_client: TestClient, db: Database, change: dict[str, Any], error: str
):
    response = open_client.post("/oauth/register", json={**GOOD, **change})
    assert response.status_code == 400 and response.json()["error"] == error, response.text
    assert response.json()["error_description"]
    assert _clients(db) == []


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"not json", "application/json"), (b"[1, 2]", "application/json"), (b"{}", "text/plain"), (b"", "")],
)
def test_a_body_that_is_no_json_object_is_refused(
    open_client: TestClient, db: Database, content: bytes, content_type: str
):
    response = open_client.post("/oauth/register", content=content, headers={"Content-Type": content_type})
    assert response.status_code == 400 and response.json()["error"] in ("invalid_client_metadata",)
    assert _clients(db) == []


def test_a_huge_body_is_refused_before_it_is_read(open_client: TestClient, db: Database):
    huge = {**GOOD, "client_name": "x" * (2 * 1024 * 1024)}
    assert open_client.post("/oauth/register", json=huge).status_code == 413
    assert _clients(db) == []


def test_a_long_name_is_cut_to_what_the_consent_page_shows(open_client: TestClient):
    body = open_client.post("/oauth/register", json={**GOOD, "client_name": "  " + "n" * 500}).json()
    assert body["client_name"] == "n" * 100


def test_open_registration_is_limited_per_address(db: Database, tmp_path: Path):
    # Registration is unauthenticated: without a limit one address could fill the clients table at will.
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db.url,
        secret_key=TEST_SECRET,
        mcp_clients="open",
        login_rate_limit="2/minute",
    )
    with TestClient(create_app(settings, engine=db.engine), base_url="https://testserver") as client:
        answers = [client.post("/oauth/register", json=GOOD) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    refused = answers[2]
    assert refused.json()["error"] == "slow_down" and 0 < int(refused.headers["retry-after"]) <= 60
    assert len(_clients(db)) == 2
