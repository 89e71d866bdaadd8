"""RFC 8707 resource indicators: a token asked for the MCP endpoint is bound to it for its whole family (and
refused by the REST API); the resource can never change after consent; unknown resources are refused."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import bearer
from tests.oauth2.flow import Authorization, RegisteredApp, introspect, query_of, refresh

BASE = "http://127.0.0.1:8000"  # Settings.base_url's default: the issuer the tests' app names
MCP = BASE + "/mcp"


def _mcp_answers(client: TestClient, token: str) -> int:
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {**bearer(token), "Accept": "application/json, text/event-stream"}
    return client.post("/mcp", json=request, headers=headers).status_code


def test_a_token_asked_for_mcp_is_bound_to_it(flow: Authorization, confidential: RegisteredApp):
    tokens = flow.tokens(resource=MCP)
    access = tokens["access_token"]
    refused = flow.browser.get("/api/v1/athlete", headers=bearer(access))
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert "another resource" in refused.json()["detail"]
    assert _mcp_answers(flow.browser, access) == 200
    assert introspect(flow.browser, confidential, access).json()["aud"] == MCP

    # A refresh keeps the audience, with or without naming it again.
    renewed = refresh(flow.browser, confidential, tokens["refresh_token"]).json()
    assert flow.browser.get("/api/v1/athlete", headers=bearer(renewed["access_token"])).status_code == 401
    again = refresh(flow.browser, confidential, renewed["refresh_token"], resource=MCP + "/")
    assert again.status_code == 200 and _mcp_answers(flow.browser, again.json()["access_token"]) == 200


def test_a_token_for_the_api_is_refused_at_mcp(flow: Authorization, confidential: RegisteredApp):
    for resource in (None, BASE + "/api/v1", BASE + "/"):
        tokens = flow.tokens(resource=resource)
        assert flow.browser.get("/api/v1/athlete", headers=bearer(tokens["access_token"])).status_code == 200
        assert _mcp_answers(flow.browser, tokens["access_token"]) == 401
        assert "aud" not in introspect(flow.browser, confidential, tokens["access_token"]).json()


@pytest.mark.parametrize(
    "resource", ["https://evil.example/mcp", BASE + "/mcp/other", "http://127.0.0.1:8001/mcp", "urn:x", ""]
)
def test_an_unknown_resource_is_sent_back_as_invalid_target(flow: Authorization, resource: str):
    response = flow.request(resource=resource)
    assert response.status_code == 303
    answer = query_of(response)
    assert answer["error"] == "invalid_target" and answer["state"] == flow.state


def test_two_resources_at_once_are_refused(flow: Authorization):
    params = [*flow.params().items(), ("resource", MCP), ("resource", BASE + "/api/v1")]
    response = flow.browser.get("/oauth/authorize", params=params)
    assert response.status_code == 303 and query_of(response)["error"] == "invalid_target"


def test_the_token_request_cannot_move_the_audience(flow: Authorization, confidential: RegisteredApp):
    code = flow.code(resource=MCP)
    moved = flow.redeem(code, resource=BASE + "/api/v1")
    assert moved.status_code == 400 and moved.json()["error"] == "invalid_target"
    # nor widen an API grant into an MCP token, at the code or at a refresh
    api_code = flow.code()
    assert flow.redeem(api_code, resource=MCP).json()["error"] == "invalid_target"
    tokens = flow.tokens()
    widened = refresh(flow.browser, confidential, tokens["refresh_token"], resource=MCP)
    assert widened.status_code == 400 and widened.json()["error"] == "invalid_target"


def test_the_code_keeps_the_resource_when_the_token_request_omits_it(flow: Authorization):
    tokens = flow.redeem(flow.code(resource=MCP)).json()
    assert _mcp_answers(flow.browser, tokens["access_token"]) == 200
    assert flow.browser.get("/api/v1/athlete", headers=bearer(tokens["access_token"])).status_code == 401
