"""RFC 8414 authorization server metadata, checked with Authlib's own validator."""

from __future__ import annotations

from authlib.oauth2 import rfc8414, rfc9207
from starlette.testclient import TestClient

from tests.conftest import Database
from trainerday_server.app import create_app


def test_metadata_describes_what_the_server_does(browser: TestClient):
    response = browser.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    meta = response.json()
    assert meta["issuer"] == "http://127.0.0.1:8000"
    assert meta["authorization_endpoint"] == "http://127.0.0.1:8000/oauth/authorize"
    assert meta["token_endpoint"] == "http://127.0.0.1:8000/oauth/token"
    assert meta["revocation_endpoint"] == "http://127.0.0.1:8000/oauth/token/revoke"
    assert meta["introspection_endpoint"] == "http://127.0.0.1:8000/oauth/token/introspection"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert meta["response_types_supported"] == ["code"]
    assert {"client_secret_basic", "client_secret_post"} <= set(meta["token_endpoint_auth_methods_supported"])
    assert len(meta["scopes_supported"]) == 8


def test_metadata_is_valid_for_an_https_deployment(settings, db: Database):
    https = settings.model_copy(update={"base_url": "https://trainerday.example/"})
    with TestClient(create_app(https, engine=db.engine), base_url="https://trainerday.example") as client:
        meta = client.get("/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == "https://trainerday.example"
    rfc8414.AuthorizationServerMetadata(meta).validate(metadata_classes=[rfc9207.AuthorizationServerMetadata])
