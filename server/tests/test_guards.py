"""The guards every route gets: HEAD, 415, errors on 400s, RFC 6749 shapes on the token endpoints, nosniff,
the explorer's CSP, header limits and CORS (trainerday_server.guards, problems)."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.testclient import TestClient

from tests.conftest import Caller, Database, iter_routes
from trainerday_server.app import create_app
from trainerday_server.config import Settings
from trainerday_server.guards import MAX_HEADER_BYTES, MAX_HEADER_COUNT, explorer_csp, parse_origins

WORKOUT = b'{"title": "Tempo", "segments": [[20, 85, 85]]}'
ORIGIN = "https://coach.example"


# --- HEAD ------------------------------------------------------------------------------------------------


def test_head_answers_like_get_without_a_body(client: TestClient, me: Caller):
    get = client.get("/api/v1/athlete", headers=me.headers)
    head = client.head("/api/v1/athlete", headers=me.headers)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["content-type"] == get.headers["content-type"]


def test_every_get_route_takes_head(app: FastAPI, client: TestClient):
    """No GET route answers 405 to HEAD (unauthenticated: 401, 404 or 200, whatever GET would)."""
    for route in iter_routes(app.routes):
        if isinstance(route, APIRoute) and "GET" in route.methods and "{" not in route.path:
            get, head = client.get(route.path), client.head(route.path)
            assert head.status_code == get.status_code != 405, route.path
            assert head.content == b""


def test_head_on_a_post_only_route_is_405(client: TestClient, me: Caller):
    response = client.head("/api/v1/calendar/events", headers=me.headers)
    assert response.status_code == 405


# --- 415 and errors on 400s ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_json_route_sent_another_media_type_is_415(client: TestClient, me: Caller, content_type: str):
    headers = {**me.headers, "Content-Type": content_type}
    response = client.post("/api/v1/workouts", content=WORKOUT, headers=headers)
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/unsupported-media-type") and content_type in body["detail"]
    assert body["accepted"] == ["application/json"]


def test_a_json_body_without_a_content_type_is_415(client: TestClient, me: Caller):
    response = client.post("/api/v1/workouts", content=WORKOUT, headers=me.headers)
    assert response.status_code == 415 and "no Content-Type" in response.json()["detail"]


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_json_with_parameters_and_json_suffixes_are_accepted(client: TestClient, me: Caller, content_type):
    headers = {**me.headers, "Content-Type": content_type}
    assert client.post("/api/v1/workouts", content=WORKOUT, headers=headers).status_code == 201


def test_an_empty_body_is_a_400_naming_it(client: TestClient, me: Caller):
    response = client.post("/api/v1/workouts", headers=me.headers)
    assert response.status_code == 400 and response.json()["errors"]


def test_an_unreadable_multipart_body_is_a_400_with_errors(client: TestClient, me: Caller):
    headers = {**me.headers, "Content-Type": "multipart/form-data; boundary=x"}
    response = client.post("/api/v1/workouts/import", content=b"--x\r\nnot a part", headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"]


# --- the OAuth token endpoints keep RFC 6749's shape -----------------------------------------------------


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/token/revoke", "/oauth/token/introspection"])
def test_a_too_large_token_request_is_rfc6749_json(browser: TestClient, path: str):
    body = b"grant_type=authorization_code&code=" + b"a" * 2_000_000
    response = browser.post(path, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["error"] == "invalid_request" and "bytes" in response.json()["error_description"]


def test_an_unparsable_token_form_is_rfc6749_json(browser: TestClient):
    headers = {"Content-Type": "multipart/form-data; boundary=x"}
    response = browser.post("/oauth/token", content=b"--x\r\ngarbage", headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == "invalid_request"


def test_get_on_the_token_endpoint_is_rfc6749_json(browser: TestClient):
    response = browser.get("/oauth/token")
    assert response.status_code == 405 and response.json()["error"] == "invalid_request"


# --- response headers ------------------------------------------------------------------------------------


def test_api_responses_say_nosniff(client: TestClient, me: Caller):
    for response in (
        client.get("/api/v1/athlete", headers=me.headers),
        client.get("/api/v1/athlete"),
        client.get("/api/v1/nothing-here"),
        client.get("/openapi.json"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/docs", "/docs/oauth2-redirect"])
def test_the_explorer_has_a_csp_allowing_exactly_its_own_scripts(client: TestClient, path: str):
    response = client.get(path)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert inline, "the page has inline scripts; each must be allowed by its hash"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    if path == "/docs":
        assert "/static/swagger-ui/swagger-ui-bundle.js" in response.text  # served from 'self'


def test_the_csp_of_a_page_without_inline_scripts_allows_none():
    policy = explorer_csp(b'<html><script src="/static/a.js"></script></html>')
    assert "script-src 'self' ;" in policy or "script-src 'self';" in policy.replace(" ;", ";")


# --- header limits ---------------------------------------------------------------------------------------


def test_too_many_headers_is_431(client: TestClient):
    headers = {f"x-filler-{i}": "1" for i in range(MAX_HEADER_COUNT + 1)}
    response = client.get("/healthz", headers=headers)
    assert response.status_code == 431
    assert response.json()["type"].endswith("/header-fields-too-large")


def test_too_large_headers_are_431(client: TestClient):
    response = client.get("/healthz", headers={"x-filler": "a" * (MAX_HEADER_BYTES + 1)})
    assert response.status_code == 431


def test_ordinary_headers_pass(client: TestClient):
    assert client.get("/healthz", headers={"x-filler": "a" * 4096}).status_code == 200


# --- CORS ------------------------------------------------------------------------------------------------


@pytest.fixture
def cors_client(settings: Settings, db: Database):
    configured = settings.model_copy(update={"cors_origins": f"{ORIGIN}, https://other.example"})
    with TestClient(create_app(configured, engine=db.engine), raise_server_exceptions=False) as client:
        yield client


def test_origins_are_read_comma_or_space_separated():
    assert parse_origins("https://a.example, https://b.example/  https://c.example") == [
        "https://a.example",
        "https://b.example",
        "https://c.example",
    ]
    assert parse_origins("") == []


def test_a_configured_origin_may_call_the_api(cors_client: TestClient, me: Caller):
    preflight = cors_client.options(
        "/api/v1/calendar/events",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "idempotency-key" in allowed
    assert "access-control-allow-credentials" not in preflight.headers
    response = cors_client.get("/api/v1/athlete", headers={**me.headers, "Origin": ORIGIN})
    assert response.status_code == 200 and response.headers["access-control-allow-origin"] == ORIGIN
    refused = cors_client.get("/api/v1/athlete", headers={"Origin": ORIGIN})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ORIGIN
    assert "www-authenticate" in refused.headers["access-control-expose-headers"].lower()


def test_a_configured_origin_may_call_the_token_endpoint(cors_client: TestClient):
    preflight = cors_client.options(
        "/oauth/token",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == ORIGIN
    response = cors_client.post("/oauth/token", data={"grant_type": "nope"}, headers={"Origin": ORIGIN})
    assert response.headers["access-control-allow-origin"] == ORIGIN


def test_other_origins_and_other_paths_get_no_cors(cors_client: TestClient, me: Caller):
    stranger = cors_client.get("/api/v1/athlete", headers={**me.headers, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in stranger.headers
    page = cors_client.get("/login", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in page.headers


def test_without_configured_origins_there_is_no_cors(client: TestClient, me: Caller):
    response = client.get("/api/v1/athlete", headers={**me.headers, "Origin": ORIGIN})
    assert "access-control-allow-origin" not in response.headers
