"""/mcp in process: who gets through to the tools, what the refusals say, and the write tools' idempotency
(the SDK's own client drives the same endpoint over real HTTP in tests/e2e/test_mcp.py)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.conftest import Caller, Factory, bearer
from trainerday_server.api_keys import service as keys
from trainerday_server.db import session_scope
from trainerday_server.mcp.server import build_server

BASE = "http://127.0.0.1:8000"
SEGMENTS = [[10, 50, 50], [20, 88, 88]]


def rpc(
    client: TestClient, token: str | None, method: str, params: dict[str, Any] | None = None, **headers: str
):
    """One JSON-RPC request as a stateless Streamable HTTP client sends it."""
    sent = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-11-25",
        **(bearer(token) if token else {}),
        **headers,
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}
    return client.post("/mcp", json=body, headers=sent)


def tool(client: TestClient, token: str, name: str, **arguments: Any) -> dict[str, Any]:
    response = rpc(client, token, "tools/call", {"name": name, "arguments": arguments})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    return response.json()["result"]  # type: ignore[no-any-return]


def test_a_personal_key_reaches_the_tools_with_a_json_answer(client: TestClient, me: Caller):
    listed = rpc(client, me.key, "tools/list")
    assert listed.status_code == 200 and "mcp-session-id" not in listed.headers  # stateless: no session
    assert "plan_workout" in {t["name"] for t in listed.json()["result"]["tools"]}


@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        (None, None),
        ("Basic dTpw", None),
        ("Bearer ", "invalid_token"),
        ("Bearer td_0_unknownunknownunknownunknownunknown0000", "invalid_token"),
        ("Bearer tdo_unknownunknownunknownunknownunknown00000", "invalid_token"),
    ],
)
def test_without_a_good_token_the_answer_is_a_401_pointing_at_the_metadata(
    client: TestClient, authorization: str | None, error: str | None
):
    headers = {"Authorization": authorization} if authorization else {}
    response = rpc(client, None, "tools/list", **headers)
    assert response.status_code == 401 and response.headers["cache-control"] == "no-store"
    challenge = response.headers["www-authenticate"]
    assert f'resource_metadata="{BASE}/.well-known/oauth-protected-resource/mcp"' in challenge
    assert (f'error="{error}"' in challenge) if error else ("error=" not in challenge)


def test_a_revoked_key_is_refused(client: TestClient, me: Caller):
    with session_scope(client.app.state.write_sessions) as session:  # type: ignore[attr-defined]
        [key] = keys.list_keys(session, me.athlete.id)
        keys.revoke_key(session, key.id, athlete_id=me.athlete.id)
    assert rpc(client, me.key, "tools/list").status_code == 401


def test_the_resource_metadata_names_this_server(client: TestClient):
    by_path = client.get("/.well-known/oauth-protected-resource/mcp")
    at_root = client.get("/.well-known/oauth-protected-resource")
    assert by_path.status_code == at_root.status_code == 200 and by_path.json() == at_root.json()
    document = by_path.json()
    assert document["resource"] == BASE + "/mcp" and document["authorization_servers"] == [BASE]
    assert (
        document["bearer_methods_supported"] == ["header"]
        and "calendar:write" in document["scopes_supported"]
    )


def test_a_page_of_another_site_is_refused_before_the_token_is_looked_at(client: TestClient, me: Caller):
    refused = rpc(client, me.key, "tools/list", Origin="https://evil.example")
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden_origin"
    assert rpc(client, me.key, "tools/list", Origin=BASE).status_code == 200


def test_an_app_started_without_its_lifespan_answers_503(app: FastAPI, me: Caller):
    unstarted = TestClient(app)  # not entered: no lifespan, so no session manager
    assert rpc(unstarted, me.key, "tools/list").status_code == 503


def test_an_explicit_idempotency_key_replays_and_refuses_another_request(client: TestClient, me: Caller):
    first = tool(
        client, me.key, "plan_workout", date="2026-12-08", title="A", segments=SEGMENTS, idempotencyKey="k1"
    )
    again = tool(
        client, me.key, "plan_workout", date="2026-12-08", title="A", segments=SEGMENTS, idempotencyKey="k1"
    )
    assert again["structuredContent"]["replayed"] is True
    assert again["structuredContent"]["event"]["id"] == first["structuredContent"]["event"]["id"]
    other = tool(
        client, me.key, "plan_workout", date="2026-12-09", title="A", segments=SEGMENTS, idempotencyKey="k1"
    )
    assert other["isError"] and "different request" in other["content"][0]["text"]
    # a new key plans a deliberate duplicate
    twin = tool(
        client, me.key, "plan_workout", date="2026-12-08", title="A", segments=SEGMENTS, idempotencyKey="k2"
    )
    assert twin["structuredContent"]["event"]["id"] != first["structuredContent"]["event"]["id"]
    events = client.get("/api/v1/calendar?startDate=2026-12-01&endDate=2026-12-31", headers=me.headers).json()
    assert len(events["data"]) == 2


def test_the_same_plan_after_deleting_it_is_planned_again(client: TestClient, me: Caller):
    first = tool(client, me.key, "plan_workout", date="2026-12-08", title="A", segments=SEGMENTS)
    event_id = first["structuredContent"]["event"]["id"]
    assert not tool(client, me.key, "delete_event", eventId=event_id)["isError"]
    again = tool(client, me.key, "plan_workout", date="2026-12-08", title="A", segments=SEGMENTS)
    assert again["structuredContent"]["replayed"] is False
    assert again["structuredContent"]["event"]["id"] != event_id
    assert (
        client.get(
            f"/api/v1/calendar/events/{again['structuredContent']['event']['id']}", headers=me.headers
        ).status_code
        == 200
    )


def test_another_athletes_event_is_as_absent_as_a_missing_one(
    client: TestClient, me: Caller, factory: Factory
):
    other = factory.athlete()
    theirs = tool(client, factory.key(other.id), "add_note", date="2026-12-08", title="Mine")
    event_id = theirs["structuredContent"]["event"]["id"]
    for name, arguments in (
        ("move_event", {"eventId": event_id, "date": "2026-12-09"}),
        ("delete_event", {"eventId": event_id}),
    ):
        answer = tool(client, me.key, name, **arguments)
        assert answer["isError"] and f"no calendar event with id {event_id}" in answer["content"][0]["text"]
    assert tool(client, me.key, "get_activity", activityId=event_id)["isError"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"date": "2026-12-08"}, "segments"),
        ({"date": "08/12/2026", "title": "x", "segments": SEGMENTS}, "date"),
        ({"date": "2026-12-08", "title": "x" * 201, "segments": SEGMENTS}, "title"),
        ({"date": "2026-12-08", "title": "x", "segments": [[10, 50, 50, 90, 90, "sprint"]]}, "type"),
        ({"date": "2026-12-08", "title": "nul\x00", "segments": SEGMENTS}, "NUL"),
        ({"date": "2026-12-08", "title": "x", "segments": [[1e9, 50, 50]]}, "minutes"),
        ({"date": "2026-12-08", "title": "x", "segments": [[10, 50, 50]] * 2001}, "2000"),
    ],
)
def test_bad_plans_are_tool_errors_that_write_nothing(
    client: TestClient, me: Caller, arguments: dict[str, Any], message: str
):
    answer = tool(client, me.key, "plan_workout", **arguments)
    assert answer["isError"] and message in answer["content"][0]["text"], answer
    events = client.get("/api/v1/calendar?startDate=2026-12-01&endDate=2026-12-31", headers=me.headers).json()
    assert events["data"] == []


def test_building_the_server_leaves_the_process_logging_alone():
    root = logging.getLogger()
    kept = list(root.handlers)  # pytest's own capture handlers: without them basicConfig would act
    for handler in kept:
        root.removeHandler(handler)
    try:
        build_server()
        assert root.handlers == []  # the SDK would have added a Rich console handler to the root logger
    finally:
        for handler in root.handlers:
            root.removeHandler(handler)
        for handler in kept:
            root.addHandler(handler)


def test_fitness_answers_a_year_at_most_and_refuses_a_reversed_range(client: TestClient, me: Caller):
    year = tool(client, me.key, "get_fitness", startDate="2026-01-01", endDate="2026-12-31")
    assert not year["isError"] and len(year["structuredContent"]["days"]) == 365
    longer = tool(client, me.key, "get_fitness", startDate="2026-01-01", endDate="2027-01-02")  # 367 days
    assert longer["isError"] and "366" in longer["content"][0]["text"]
    reversed_range = tool(client, me.key, "get_fitness", startDate="2026-02-01", endDate="2026-01-01")
    assert reversed_range["isError"] and "before startDate" in reversed_range["content"][0]["text"]


def test_malformed_requests_get_a_4xx_never_a_500(client: TestClient, me: Caller):
    accept = {"Accept": "application/json, text/event-stream", **me.headers}
    cases = [
        client.post("/mcp", content=b"{not json", headers={**accept, "Content-Type": "application/json"}),
        client.post("/mcp", content=b"[]", headers={**accept, "Content-Type": "application/json"}),
        client.post("/mcp", content=b"{}", headers={**accept, "Content-Type": "text/plain"}),
        client.post(
            "/mcp", content=b"x" * (2 * 1024 * 1024), headers={**accept, "Content-Type": "application/json"}
        ),
        client.get("/mcp", headers=accept),
        client.delete("/mcp", headers=accept),
        rpc(client, me.key, "no/such/method"),
        rpc(client, me.key, "tools/call", {"name": "no_such_tool", "arguments": {}}),
        rpc(client, me.key, "tools/call", {"name": "get_calendar", "arguments": {"startDate": 5}}),
    ]
    for response in cases:
        assert response.status_code < 500, (
            response.request.method,
            response.status_code,
            response.text[:200],
        )
    assert cases[3].status_code == 413
    assert cases[4].status_code == cases[5].status_code == 405  # stateless: no event stream, no session
