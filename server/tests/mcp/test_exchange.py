"""/mcp answers each POST as one exchange (``mcp.exchange``): what the SDK's transports promised clients still
holds in both protocol eras: version negotiation, 202 for notifications, JSON-RPC errors with the statuses
each era uses, the 2026-07-28 routing-header checks; and the cached answers are never stale nor shared
across scopes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from mcp_types import JSONRPCRequest
from starlette.datastructures import Headers
from starlette.testclient import TestClient

from tests.conftest import Caller, Factory, bearer
from trainerday_server.mcp.exchange import _first_values, _plainly_a_request

LEGACY = "2025-11-25"
MODERN = "2026-07-28"
ENVELOPE = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
}
MONTH = {"startDate": "2026-12-01", "endDate": "2026-12-31"}


def post(client: TestClient, token: str, body: Any, **headers: str):
    sent = {"Accept": "application/json, text/event-stream", **bearer(token), **headers}
    return client.post("/mcp", json=body, headers=sent)


def legacy(client: TestClient, token: str, method: str, params: dict[str, Any] | None = None):
    body = {"jsonrpc": "2.0", "id": 7, "method": method, **({"params": params} if params is not None else {})}
    return post(client, token, body, **{"MCP-Protocol-Version": LEGACY})


def modern(client: TestClient, token: str, method: str, params: dict[str, Any] | None = None, **headers: str):
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": {**(params or {}), "_meta": ENVELOPE}}
    routing = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method}
    if method == "tools/call" and params:
        routing["Mcp-Name"] = params["name"]
    return post(client, token, body, **{**routing, **headers})


@pytest.mark.parametrize(("asked", "negotiated"), [("2025-06-18", "2025-06-18"), ("1999-01-01", LEGACY)])
def test_initialize_negotiates_the_version_as_the_sdk_does(
    client: TestClient, me: Caller, asked: str, negotiated: str
):
    params = {"protocolVersion": asked, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
    answer = post(client, me.key, body)  # no version header: it is being negotiated
    assert answer.status_code == 200 and "mcp-session-id" not in answer.headers
    result = answer.json()["result"]
    assert result["protocolVersion"] == negotiated and result["serverInfo"]["name"] == "trainerday"
    assert "tools" in result["capabilities"]


def test_notifications_and_posted_responses_are_accepted_with_202(client: TestClient, me: Caller):
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert post(client, me.key, initialized, **{"MCP-Protocol-Version": LEGACY}).status_code == 202
    assert post(client, me.key, {"jsonrpc": "2.0", "id": 3, "result": {}}).status_code == 202
    enveloped = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}
    assert post(client, me.key, enveloped, **{"MCP-Protocol-Version": MODERN}).status_code == 202
    answer = post(client, me.key, enveloped, **{"MCP-Protocol-Version": "2099-01-01"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == -32022


def test_errors_are_json_rpc_errors_with_each_eras_status(client: TestClient, me: Caller):
    old = legacy(client, me.key, "no/such/method")
    assert old.status_code == 200  # the handshake era's transport answers JSON-RPC errors with 200
    assert old.json() == {
        "jsonrpc": "2.0",
        "id": 7,
        "error": {"code": -32601, "message": "Method not found", "data": "no/such/method"},
    }
    new = modern(client, me.key, "no/such/method")
    assert new.status_code == 404 and new.json()["error"]["code"] == -32601 and new.json()["id"] == 7
    invalid = legacy(client, me.key, "tools/call", {"arguments": {}})  # no tool name
    assert invalid.status_code == 200 and invalid.json()["error"]["code"] == -32602
    # subscriptions/listen would hold a connection open for changes that never come: not served
    listen = modern(client, me.key, "subscriptions/listen", {"notifications": {}})
    assert listen.json()["error"]["code"] == -32601, listen.json()


def test_the_2026_routing_headers_are_checked(client: TestClient, me: Caller):
    call = {"name": "get_calendar", "arguments": MONTH}
    mismatch = modern(client, me.key, "tools/call", call, **{"Mcp-Name": "get_profile"})
    assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == -32020
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {"_meta": ENVELOPE}}
    wrong_version = post(
        client, me.key, body, **{"MCP-Protocol-Version": "2099-01-01", "Mcp-Method": "tools/list"}
    )
    assert wrong_version.status_code == 400 and wrong_version.json()["error"]["code"] == -32020
    no_envelope = post(
        client,
        me.key,
        {"jsonrpc": "2.0", "id": 7, "method": "tools/list"},
        **{"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/list"},
    )
    assert no_envelope.status_code == 400 and no_envelope.json()["error"]["code"] == -32602
    fine = modern(client, me.key, "tools/call", call)
    assert fine.status_code == 200 and fine.json()["result"]["resultType"] == "complete"


def test_what_is_not_one_json_rpc_message_is_refused(client: TestClient, me: Caller):
    headers = {**bearer(me.key), "Content-Type": "application/json"}
    no_json = client.post("/mcp", content=b"{}", headers={**headers, "Accept": "text/html"})
    assert no_json.status_code == 406
    form = client.post(
        "/mcp", content=b"a=1", headers={**headers, "Content-Type": "text/plain", "Accept": "*/*"}
    )
    assert form.status_code == 415
    for body in (
        b"[]",
        b"[{}]",
        b"5",
        b'{"jsonrpc": "2.0", "id": 1}',
        b'{"jsonrpc": "1.0", "id": 1, "method": "x"}',
    ):
        refused = client.post("/mcp", content=body, headers={**headers, "Accept": "application/json"})
        assert refused.status_code == 400, body
        assert refused.json()["error"]["code"] in (-32600, -32700) and refused.json()["id"] is None


def test_listings_are_the_same_answer_every_time_in_each_era(client: TestClient, me: Caller):
    answers = [legacy(client, me.key, "tools/list") for _ in range(2)]
    assert answers[0].content == answers[1].content  # byte for byte: the kept JSON is the pipeline's
    first = answers[0].json()["result"]
    assert len(first["tools"]) == 12 and "resultType" not in first
    enveloped_answers = [modern(client, me.key, "tools/list") for _ in range(2)]
    assert enveloped_answers[0].content == enveloped_answers[1].content
    enveloped = enveloped_answers[0].json()["result"]
    assert enveloped["resultType"] == "complete" and enveloped["tools"] == first["tools"]
    paged = legacy(client, me.key, "tools/list", {"cursor": "nonsense"})
    assert paged.status_code == 200  # a cursor is the SDK's to judge: not answered from the kept listing


def test_a_kept_calendar_answer_follows_every_write(client: TestClient, me: Caller):
    def calendar() -> dict[str, Any]:
        answer = legacy(client, me.key, "tools/call", {"name": "get_calendar", "arguments": MONTH})
        result: dict[str, Any] = answer.json()["result"]
        assert not result["isError"]
        return result

    assert calendar()["structuredContent"]["data"] == [] and calendar()["structuredContent"]["data"] == []
    note = {"calendarDate": "2026-12-08", "title": "Rest", "notes": "Legs up"}
    assert client.post("/api/v1/calendar/events", json=note, headers=me.headers).status_code == 201
    fresh, kept = calendar(), calendar()
    assert kept == fresh  # the kept answer is the pipeline's, member for member
    [event] = kept["structuredContent"]["data"]
    assert event["title"] == "Rest" and "Rest" in kept["content"][0]["text"]
    assert client.delete(f"/api/v1/calendar/events/{event['id']}", headers=me.headers).status_code == 204
    assert calendar()["structuredContent"]["data"] == []


def test_a_kept_answer_is_not_given_to_a_token_without_the_scope(client: TestClient, factory: Factory):
    athlete = factory.athlete()
    reader = factory.key(athlete.id, "calendar:read")
    other = factory.key(athlete.id, "athlete:read")
    call = {"name": "get_calendar", "arguments": MONTH}
    assert not legacy(client, reader, "tools/call", call).json()["result"]["isError"]
    refused = legacy(client, other, "tools/call", call).json()["result"]
    assert refused["isError"] and "calendar:read" in refused["content"][0]["text"]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
MESSAGE_KEYS = st.sampled_from(["jsonrpc", "id", "method", "params", "extra"])


@given(st.dictionaries(MESSAGE_KEYS, JSON_VALUES | st.just("2.0"), max_size=5))
@example({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "get_calendar"}})
@example({"jsonrpc": "2.0", "id": "7", "method": "ping"})
@example({"jsonrpc": "2.0", "id": True, "method": "ping"})
def test_a_message_taken_without_the_model_is_one_the_model_takes_alike(message: dict[str, Any]) -> None:
    """``_plainly_a_request`` lets a kept answer skip ``JSONRPCRequest``: only for what it accepts as is."""
    if not _plainly_a_request(message):
        return
    validated = JSONRPCRequest.model_validate(message)
    assert (validated.id, validated.method, validated.params) == (
        message["id"],
        message["method"],
        message.get("params"),
    )
    assert type(validated.id) is type(message["id"])


@given(st.lists(st.tuples(st.sampled_from([b"a", b"mcp-method", b"x-y"]), st.binary(max_size=4)), max_size=6))
def test_headers_read_as_starlette_reads_them(raw: list[tuple[bytes, bytes]]) -> None:
    assert _first_values(raw) == dict(Headers(raw=raw))
