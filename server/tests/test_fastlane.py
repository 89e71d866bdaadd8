"""The fast lane answers the hottest reads exactly as the general stack does, and only when it can.

Each request goes to two apps on the same database: the app as served, and the same app without its fast
lane. Status, headers (request ids are sent, so they are echoed alike), body and access-log line must agree;
rate-limit counters are per app, so the same sequence of requests counts the same in both.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Router
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from tests.conftest import Database, Factory, bearer, run_async
from trainerday_server.app import create_app
from trainerday_server.config import Settings
from trainerday_server.fastlane import FastLane
from trainerday_server.observability.middleware import Observability, RequestRecorder
from trainerday_server.ratelimit import Limiter
from trainerday_server.routing import DirectRoute

CALENDAR = "/api/v1/calendar"
MONTH = CALENDAR + "?startDate=2026-01-01&endDate=2026-01-31"
BAD_THEN_GOOD = CALENDAR + "?startDate=2026-13-01&" + MONTH.partition("?")[2]
KEY_HEADER = ("Authorization", "Bearer {key}")  # {key}: the test athlete's key
JUNK_HEADER = ("Authorization", "Bearer td_x")
VOLATILE_LOG_FIELDS = ("time", "durationMs")


def without_fast_lane(app: FastAPI) -> FastAPI:
    """The app answering every request through FastAPI's whole stack: no fast lane, no direct routes."""
    app.fast_lane = None  # type: ignore[attr-defined]
    app.direct_routes = {}  # type: ignore[attr-defined]
    return app


@pytest.fixture
def pair(settings: Settings, db: Database) -> Iterator[Any]:
    """make(**settings) -> (client with the fast lane, client without it)."""
    opened: list[TestClient] = []

    def make(**overrides: Any) -> tuple[TestClient, TestClient]:
        chosen = settings.model_copy(update=overrides)
        fast = TestClient(create_app(chosen, engine=db.engine), raise_server_exceptions=False)
        general_app = without_fast_lane(create_app(chosen, engine=db.engine))
        general = TestClient(general_app, raise_server_exceptions=False)
        for client in (fast, general):
            client.__enter__()
            opened.append(client)
        return fast, general

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def log_lines(capfd: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith('{"time"')]
    for line in lines:
        for field in VOLATILE_LOG_FIELDS:
            line.pop(field)
    return lines


def dict_or_pairs(headers: dict[str, str] | list[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(headers.items()) if isinstance(headers, dict) else list(headers)


def same_answer(
    fast: TestClient, general: TestClient, capfd: pytest.CaptureFixture[str], method: str, url: str, **kw: Any
) -> Any:
    capfd.readouterr()
    headers = [("X-Request-Id", "compare-1"), *dict_or_pairs(kw.pop("headers", {}))]
    kw.setdefault("follow_redirects", False)
    one = fast.request(method, url, headers=headers, **kw)
    one_log = log_lines(capfd)
    other = general.request(method, url, headers=headers, **kw)
    other_log = log_lines(capfd)
    assert one.status_code == other.status_code
    assert one.headers.multi_items() == other.headers.multi_items()
    assert one.content == other.content
    assert one_log == other_log and len(one_log) == 1
    return one


@pytest.fixture
def planned(factory: Factory, settings: Settings, db: Database) -> dict[str, Any]:
    athlete = factory.athlete()
    key = factory.key(athlete.id)
    with TestClient(create_app(settings, engine=db.engine)) as client:
        for day, title in (("2026-01-05", "Easy"), ("2026-01-12", "Hard")):
            body = {"calendarDate": day, "embedWorkout": {"title": title, "segments": [[20, 60, 60]]}}
            assert client.post("/api/v1/calendar/events", json=body, headers=bearer(key)).status_code == 201
    return {"athlete": athlete, "key": key, "reader": factory.key(athlete.id, "athlete:read")}


CASES = [
    pytest.param("GET", MONTH, "key", {}, 200, id="month"),
    pytest.param("GET", MONTH + "&segments=false", "key", {}, 200, id="without-segments"),
    pytest.param("GET", CALENDAR + "?startDate=2026-02-01&endDate=2026-02-28", "key", {}, 200, id="empty"),
    pytest.param("GET", MONTH, None, {}, 401, id="no-token"),
    pytest.param("GET", MONTH, "td_unknownunknownunknownunknownunknown0000", {}, 401, id="unknown-token"),
    pytest.param("GET", MONTH, "reader", {}, 403, id="no-scope"),
    pytest.param("GET", CALENDAR + "?startDate=2026-13-01&endDate=2026-01-31", "key", {}, 400, id="bad-date"),
    pytest.param("GET", CALENDAR + "?startDate=2026-01-01", "key", {}, 400, id="missing-date"),
    pytest.param("GET", CALENDAR + "?startDate=2020-01-01&endDate=2026-01-31", "key", {}, 400, id="range"),
    pytest.param("GET", MONTH + "&access_token=x", "key", {}, 400, id="token-in-url"),
    pytest.param("GET", MONTH + "&note=%00", "key", {}, 400, id="nul"),
    pytest.param("HEAD", MONTH, "key", {}, 200, id="head"),
    pytest.param("GET", MONTH, "key", {"Origin": "https://elsewhere.example"}, 200, id="origin"),
    pytest.param("GET", MONTH, "key", {"X-Filler": "x" * 20_000}, 431, id="huge-headers"),
    # A hostile client's variations: each answered alike, and refused where the general stack refuses.
    pytest.param("GET", MONTH + "&access%5Ftoken=x", "key", {}, 400, id="token-in-url-percent-encoded-name"),
    pytest.param("GET", MONTH + "&access_token", "key", {}, 400, id="token-in-url-without-value"),
    pytest.param("GET", MONTH + "&%61ccess_token=x", "key", {}, 400, id="token-in-url-encoded-letter"),
    pytest.param("GET", MONTH + "&startDate=2026-13-01", "key", {}, 400, id="start-date-repeated-bad-last"),
    pytest.param("GET", BAD_THEN_GOOD, "key", {}, 200, id="start-date-repeated-bad-first"),
    pytest.param("GET", MONTH + "&segments=TRUE", "key", {}, 400, id="segments-upper-case"),
    pytest.param("GET", MONTH + "&filler=" + "x" * 60_000, "key", {}, 200, id="huge-query-string"),
    pytest.param("GET", MONTH + "&note=%2500", "key", {}, 200, id="encoded-percent-then-00"),
    pytest.param("GET", MONTH, None, [("Authorization", "bearer {key}")], 200, id="lower-case-scheme"),
    pytest.param("GET", MONTH, None, [("AUTHORIZATION", "Bearer {key}")], 200, id="upper-case-name"),
    pytest.param("GET", MONTH, None, [KEY_HEADER, JUNK_HEADER], 200, id="second-auth-ignored"),
    pytest.param("GET", MONTH, None, [JUNK_HEADER, KEY_HEADER], 401, id="first-auth-counts"),
    pytest.param("GET", MONTH, None, [("Authorization", "Basic {key}")], 401, id="basic-scheme"),
    pytest.param("GET", MONTH, None, [("Authorization", "Bearer  {key} ")], 200, id="padded-token"),
    pytest.param("GET", MONTH, "key", [("Origin", "null")], 200, id="null-origin"),
    pytest.param("GET", MONTH, "key", [("X-Request-Id", "second")], 200, id="second-request-id"),
    pytest.param("GET", MONTH, "key", [("X-Filler", "x")] * 99, 431, id="too-many-headers"),
    pytest.param("GET", MONTH.replace("?", "/?"), "key", {}, 307, id="trailing-slash"),
    pytest.param("GET", MONTH.replace("/calendar", "/%63alendar"), "key", {}, 200, id="percent-encoded-path"),
]


@pytest.mark.parametrize(("method", "url", "credential", "extra", "status"), CASES)
def test_the_fast_lane_answers_as_the_general_stack(
    pair: Any,
    planned: dict[str, Any],
    capfd: pytest.CaptureFixture[str],
    method: str,
    url: str,
    credential: str | None,
    extra: dict[str, str] | list[tuple[str, str]],
    status: int,
) -> None:
    fast, general = pair()
    headers = [(name, value.format(key=planned["key"])) for name, value in dict_or_pairs(extra)]
    if credential is not None:
        headers += bearer(planned.get(credential, credential)).items()
    answer = same_answer(fast, general, capfd, method, url, headers=headers)
    assert answer.status_code == status


def test_rate_limit_counts_and_refusals_agree(pair: Any, planned: dict[str, Any], capfd: Any) -> None:
    fast, general = pair(rate_limit="2/minute")
    statuses = [
        same_answer(fast, general, capfd, "GET", MONTH, headers=bearer(planned["key"])).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_with_cors_configured_an_allowed_origin_gets_the_same_cors_headers(
    pair: Any, planned: dict[str, Any], capfd: Any
) -> None:
    fast, general = pair(cors_origins="https://app.example")
    headers = {"Origin": "https://app.example", **bearer(planned["key"])}
    answer = same_answer(fast, general, capfd, "GET", MONTH, headers=headers)
    assert answer.headers["access-control-allow-origin"] == "https://app.example"


def test_a_plain_successful_read_never_reaches_the_general_stack(
    settings: Settings, db: Database, planned: dict[str, Any]
) -> None:
    """The fast lane is taken (the bench figures depend on it), and only for what it can answer."""
    app = create_app(settings, engine=db.engine)
    reached: list[str] = []
    general_stack = app.build_middleware_stack()

    async def recording_general_stack(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            reached.append(scope["query_string"].decode())
        await general_stack(scope, receive, send)

    app.middleware_stack = recording_general_stack

    with TestClient(app) as client:
        assert client.get(MONTH, headers=bearer(planned["key"])).status_code == 200
        assert reached == []
        assert client.get(MONTH.replace("01-31", "99-99"), headers=bearer(planned["key"])).status_code == 400
        assert reached == ["startDate=2026-01-01&endDate=2026-99-99"]


def test_only_fixed_api_paths_of_direct_routes_may_take_the_fast_lane(app: FastAPI) -> None:
    with pytest.raises(ValueError, match="fixed /api/ paths"):
        FastLane(
            routes=app.router.routes[:1],  # /openapi.json
            recorder=RequestRecorder(),
            limiter=app.state.rate_limiter,
            limit=None,
        )


def test_a_refused_request_costs_no_read(pair: Any, planned: dict[str, Any], capfd: Any) -> None:
    """Over its limit, a client gets its 429 before the endpoint runs, as on the general stack: a read of
    a range not cached yet (milliseconds of work) must not be done for a request that is refused."""
    fast, general = pair(rate_limit="1/minute")
    key = bearer(planned["key"])
    assert same_answer(fast, general, capfd, "GET", MONTH, headers=key).status_code == 200
    cached = fast.app.state.calendar_cache.size_bytes  # type: ignore[attr-defined]
    other_month = CALENDAR + "?startDate=2026-03-01&endDate=2026-03-31"
    assert same_answer(fast, general, capfd, "GET", other_month, headers=key).status_code == 429
    assert fast.app.state.calendar_cache.size_bytes == cached  # type: ignore[attr-defined]


def test_a_request_the_lane_hands_on_is_counted_once(pair: Any, planned: dict[str, Any], capfd: Any) -> None:
    fast, general = pair(rate_limit="5/minute")
    key = bearer(planned["key"])
    bad = CALENDAR + "?startDate=2026-13-01&endDate=2026-01-31"
    remaining = [
        same_answer(fast, general, capfd, "GET", url, headers=key).headers["ratelimit-remaining"]
        for url in (bad, MONTH, bad, MONTH)
    ]
    assert remaining == ["4", "3", "2", "1"]


@pytest.mark.parametrize("interruption", [asyncio.CancelledError, KeyboardInterrupt])
def test_an_interrupted_endpoint_leaves_the_same_trace(interruption: type[BaseException]) -> None:
    """Not an ``Exception``: it is not handed down (that would run the endpoint again), but logged and
    counted as the general stack's observability layer does, and raised on."""

    async def interrupted(request: Request) -> Response:
        raise interruption

    route = DirectRoute("/api/v1/interrupted", interrupted, methods=["GET"])
    lines: list[dict[str, Any]] = []
    recorder = RequestRecorder(sink=lambda line: lines.append(json.loads(line)))
    general = Observability(Router([route]), recorder=recorder)
    lane = FastLane(routes=[route], recorder=recorder, limiter=Limiter(), limit=None)

    async def in_front(scope: Scope, receive: Receive, send: Send) -> None:
        if not await lane.answer(general, scope, receive, send):
            await general(scope, receive, send)

    async def call(app: Any) -> None:
        scope = {"type": "http", "method": "GET", "path": route.path, "query_string": b"", "root_path": "",
                 "headers": [(b"x-request-id", b"interrupted-1")], "client": ("127.0.0.1", 1)}  # fmt: skip

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(message: Message) -> None:
            raise AssertionError("nothing is sent")

        with pytest.raises(interruption):
            await app(scope, receive, send)

    run_async(call(general))
    run_async(call(in_front))
    for line in lines:
        for field in VOLATILE_LOG_FIELDS:
            line.pop(field)
    assert len(lines) == 2 and lines[0] == lines[1]
    assert lines[0]["status"] == 500 and lines[0]["route"] == route.path


# --- /mcp, a direct route: our middleware and exception handlers, not FastAPI's layers or router ------------

MCP_JSON = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
LEGACY_VERSION = {"MCP-Protocol-Version": "2025-11-25"}


def rpc(method: str, params: dict[str, Any] | None = None, **extra: Any) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": params or {}, **extra}).encode()


MONTH_ARGUMENTS = {"startDate": "2026-01-01", "endDate": "2026-01-31"}
CALENDAR_CALL = rpc("tools/call", {"name": "get_calendar", "arguments": MONTH_ARGUMENTS})
MCP_CASES = [
    pytest.param("POST", "key", {**MCP_JSON, **LEGACY_VERSION}, CALENDAR_CALL, 200, id="get-calendar"),
    pytest.param(
        "POST", "reader", {**MCP_JSON, **LEGACY_VERSION}, CALENDAR_CALL, 200, id="tool-without-scope"
    ),
    pytest.param(
        "POST",
        "key",
        MCP_JSON,
        rpc(
            "initialize",
            {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        ),
        200,
        id="initialize",
    ),
    pytest.param("POST", "key", {**MCP_JSON, **LEGACY_VERSION}, rpc("tools/list"), 200, id="tools-list"),
    pytest.param(
        "POST",
        "key",
        MCP_JSON,
        b'{"jsonrpc":"2.0","method":"notifications/initialized"}',
        202,
        id="notification",
    ),
    pytest.param("POST", None, MCP_JSON, CALENDAR_CALL, 401, id="no-token"),
    pytest.param(
        "POST", "td_unknownunknownunknownunknownunknown0000", MCP_JSON, CALENDAR_CALL, 401, id="unknown-token"
    ),
    pytest.param("POST", "key", MCP_JSON, b"{not json", 400, id="not-json"),
    pytest.param(
        "POST", "key", {**MCP_JSON, "Content-Type": "text/plain"}, CALENDAR_CALL, 415, id="not-json-type"
    ),
    pytest.param("POST", "key", {**MCP_JSON, "Accept": "text/html"}, CALENDAR_CALL, 406, id="not-acceptable"),
    pytest.param("POST", "key", MCP_JSON, b'{"a":"' + b"x" * (1024 * 1024) + b'"}', 413, id="too-large"),
    pytest.param(
        "POST",
        "key",
        {**MCP_JSON, "Origin": "https://elsewhere.example"},
        CALENDAR_CALL,
        403,
        id="foreign-origin",
    ),
    pytest.param(
        "POST", "key", {**MCP_JSON, "X-Filler": "x" * 20_000}, CALENDAR_CALL, 431, id="huge-headers"
    ),
    pytest.param("GET", "key", MCP_JSON, b"", 405, id="get"),
    pytest.param("DELETE", "key", MCP_JSON, b"", 405, id="delete"),
    pytest.param("HEAD", "key", MCP_JSON, b"", 405, id="head"),
    pytest.param("OPTIONS", "key", MCP_JSON, b"", 405, id="options"),
    pytest.param("OPTIONS", "key", {**MCP_JSON, "Origin": "https://app.example"}, b"", 403, id="preflight"),
]


@pytest.mark.parametrize(("method", "credential", "headers", "body", "status"), MCP_CASES)
def test_mcp_answers_as_through_the_general_stack(
    pair: Any,
    planned: dict[str, Any],
    capfd: pytest.CaptureFixture[str],
    method: str,
    credential: str | None,
    headers: dict[str, str],
    body: bytes,
    status: int,
) -> None:
    direct, general = pair()
    sent = dict(headers)
    if credential is not None:
        sent |= bearer(planned.get(credential, credential))
    answer = same_answer(direct, general, capfd, method, "/mcp", headers=sent, content=body)
    assert answer.status_code == status, answer.content[:300]


def test_mcp_rate_limit_counts_and_refusals_agree(pair: Any, planned: dict[str, Any], capfd: Any) -> None:
    direct, general = pair(rate_limit="2/minute")
    headers = {**MCP_JSON, **LEGACY_VERSION, **bearer(planned["key"])}
    statuses = [
        same_answer(
            direct, general, capfd, "POST", "/mcp", headers=headers, content=CALENDAR_CALL
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_mcp_takes_the_direct_route(settings: Settings, db: Database, planned: dict[str, Any]) -> None:
    """/mcp never reaches FastAPI's router (the figures in bench/mcp_load.py depend on it)."""
    app = create_app(settings, engine=db.engine)
    reached: list[str] = []
    general_stack = app.build_middleware_stack()

    async def recording_general_stack(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            reached.append(scope["path"])
        await general_stack(scope, receive, send)

    app.middleware_stack = recording_general_stack
    headers = {**MCP_JSON, **LEGACY_VERSION, **bearer(planned["key"])}
    with TestClient(app) as client:
        assert client.post("/mcp", content=CALENDAR_CALL, headers=headers).status_code == 200
        assert client.get("/healthz").status_code == 200
    assert reached == ["/healthz"]
