"""The MCP server behind /mcp: the SDK's ``MCPServer`` with our tools and a resource describing the workout
format, each request answered on its own with a JSON body (``exchange.SingleExchange``), so any process behind
a load balancer can answer any request (no session lives in memory between requests).

The server's lifespan runs inside the application's (``McpEndpoint.running``); the route itself is
``McpAuthentication`` (``endpoint``) in front of it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import orjson
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.mcpserver import MCPServer
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from trainerday_server import __version__
from trainerday_server.mcp.endpoint import CALLER_KEY, Caller, McpAuthentication
from trainerday_server.mcp.exchange import SingleExchange
from trainerday_server.mcp.prompts import register_prompts
from trainerday_server.mcp.tools import TOOLS, UNITS
from trainerday_server.oauth2.server import MCP_PATH
from trainerday_server.workouts.structure import (
    MAX_CADENCE,
    MAX_PERCENT,
    MAX_SEGMENT_MINUTES,
    MAX_SEGMENTS,
    MAX_TEXT,
    MAX_WORKOUT_MINUTES,
    SEGMENT_TYPES,
)

WORKOUT_FORMAT_URI = "trainerday://docs/workout-format"

INSTRUCTIONS = f"""\
TrainerDay: the athlete's training calendar, workout library, rides and training zones. {UNITS}
Start with get_profile (FTP, zones, time zone, today's date), then get_calendar for the days in question.
Plan with plan_workout (segments as [minutes, start %FTP, end %FTP]; read {WORKOUT_FORMAT_URI} first) or a
library workout found with find_workouts. Each tool needs a scope the athlete granted; without it the tool
answers an error saying which, and nothing is changed."""

WORKOUT_FORMAT = f"""\
# TrainerDay workout format

A workout is a list of **segments**, in order. Each segment is a JSON array:

    [minutes, startPercent, endPercent, cadenceStart, cadenceEnd, type, text]

Only the first three are required.

| item | meaning | limits |
|---|---|---|
| minutes | how long the segment lasts, in minutes (0.5 = 30 s) | > 0, at most {MAX_SEGMENT_MINUTES} |
| startPercent | target power at the start, in % of the athlete's FTP (100 = FTP) | 0 to {MAX_PERCENT} |
| endPercent | target power at the end; different from startPercent makes a ramp | 0 to {MAX_PERCENT} |
| cadenceStart, cadenceEnd | optional target cadence in rpm (null for none) | 0 to {MAX_CADENCE} |
| type | optional: {", ".join(sorted(SEGMENT_TYPES))} | |
| text | optional on-screen text for the rider | up to {MAX_TEXT} characters |

A workout has at most {MAX_SEGMENTS} segments and lasts at most {MAX_WORKOUT_MINUTES} minutes in all.
Power is relative, so one workout suits every athlete: 100 % is their FTP in watts (get_profile tells it).

Coggan's power zones, in % FTP: Z1 active recovery < 55, Z2 endurance 55-75, Z3 tempo 76-90,
Z4 threshold 91-105, Z5 VO2max 106-120, Z6 anaerobic 121-150, Z7 neuromuscular > 150.

## Examples

Sweet spot 2 x 20, one hour:

    [[10, 45, 65, "warmup"], [20, 90, 90], [5, 50, 50, "rest"], [20, 90, 90], [5, 60, 40, "cooldown"]]

VO2max 5 x 3 min with 3 min easy between, cadence 95-100 on the efforts:

    [[10, 50, 70], [3, 115, 115, 95, 100], [3, 50, 50], [3, 115, 115, 95, 100], [3, 50, 50],
     [3, 115, 115, 95, 100], [3, 50, 50], [3, 115, 115, 95, 100], [3, 50, 50], [3, 115, 115, 95, 100],
     [10, 50, 40]]

Dates are calendar days (YYYY-MM-DD) in the athlete's own time zone.
"""


def build_server() -> MCPServer:
    # MCPServer() calls logging.basicConfig, which would give the root logger a Rich console handler for the
    # whole process; basicConfig does nothing while the root logger has a handler, so it gets one meanwhile.
    root = logging.getLogger()
    placeholder = logging.NullHandler()
    root.addHandler(placeholder)
    try:
        server: MCPServer = MCPServer(
            "trainerday",
            title="TrainerDay",
            instructions=INSTRUCTIONS,
            version=__version__,
            log_level="WARNING",
            # subscriptions/listen would hold a connection open for change events that never come: the tools
            # and resources are fixed, and a per-process bus could not reach the other processes anyway.
            subscriptions=False,
        )
    finally:
        root.removeHandler(placeholder)
    # The SDK wraps every message in an OpenTelemetry span, a no-op until an exporter is installed, which
    # nothing here does (the app turns FastAPI's off for the same reason): ~15 µs of CPU per call for nothing.
    server.middleware[:] = [m for m in server.middleware if type(m).__name__ != "OpenTelemetryMiddleware"]
    server.middleware[0:0] = [FixedListings(), RevisionCachedCalls()]
    for tool, hints in TOOLS:
        # The docstring, as one paragraph: its line breaks are only source layout.
        server.add_tool(tool, description=" ".join((tool.__doc__ or "").split()), annotations=hints)

    @server.resource(
        WORKOUT_FORMAT_URI,
        name="workout-format",
        title="The workout format",
        description="How to write a workout's segments: minutes, % of FTP, ramps, cadence, zones, examples",
        mime_type="text/markdown",
    )
    def workout_format() -> str:
        return WORKOUT_FORMAT

    register_prompts(server, WORKOUT_FORMAT)
    return server


class FixedListings:
    """Server middleware that answers the listings (tools, resources, prompts) from the first answer the
    SDK's handlers gave at the same protocol version.

    They cannot change while the process runs (nothing is added after ``build_server``, and every caller sees
    every tool), and each costs ~1.5 ms of CPU to build: serialising twelve tools' JSON schemas through the
    protocol's result model. Every client session lists the tools once, before its first call (the SDK's
    client does, to validate structured results against their output schemas). A listing request with
    anything but ``_meta`` in its params (a cursor) goes through as usual.
    """

    METHODS = frozenset({"tools/list", "resources/list", "resources/templates/list", "prompts/list"})

    def __init__(self) -> None:
        self._answers: dict[tuple[str, str], dict[str, Any]] = {}
        self._json: dict[tuple[str, str], bytes] = {}  # the same answers, as written out

    def _listing(self, method: str, params: Mapping[str, Any] | None) -> bool:
        params = params or {}
        return (
            method in self.METHODS
            and all(k == "_meta" for k in params)
            and isinstance(params.get("_meta", {}), Mapping)  # else the SDK's validation refuses it
        )

    def kept(
        self, request: Any, protocol_version: str, method: str, params: Mapping[str, Any] | None
    ) -> bytes | None:
        """The listing's JSON, once the handlers have given it at this protocol version (``exchange`` asks
        before the SDK's kernel runs, as for ``RevisionCachedCalls.kept``)."""
        if not self._listing(method, params):
            return None
        return self._json.get((method, protocol_version))

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if not self._listing(ctx.method, ctx.params):
            return await call_next(ctx)
        key = (ctx.method, ctx.protocol_version)
        answer = self._answers.get(key)
        if answer is None:
            result = await call_next(ctx)
            if not isinstance(result, dict):
                return result
            answer = self._answers[key] = result
            self._json[key] = orjson.dumps(result)
        return answer


class RevisionCachedCalls:
    """Server middleware that answers a call of a tool whose answer depends only on the athlete's data and
    the arguments (``get_calendar``) from the answer the SDK's pipeline gave the same call at the same data
    revision: the REST calendar read's cache (``app.state.calendar_cache``), on the same terms.

    The key holds the athlete, the token's scopes, the protocol version and the exact arguments, so a hit is
    byte for byte the answer the handlers would give again (validated then, arguments and result); every
    write that changes the calendar sets a new revision, so no process can serve a stale one. Only answers
    that are not tool errors are kept. A call answered this way costs about what a ``ping`` costs; the
    pipeline (arguments and result validated, the result serialised twice through the protocol's models)
    costs ~0.25 ms more for a month of events.
    """

    TOOLS = frozenset({"get_calendar"})
    MAX_ARGUMENT_BYTES = 512

    def _key(
        self, request: Any, protocol_version: str, method: str, params: Mapping[str, Any] | None
    ) -> tuple[Caller, tuple[Any, ...]] | None:
        """The caller and the cache key of a call whose answer may be kept, else None."""
        params = params or {}
        caller = getattr(request, "scope", {}).get(CALLER_KEY)
        if (
            method != "tools/call"
            or params.get("name") not in self.TOOLS
            or not isinstance(caller, Caller)
            or any(k not in ("name", "arguments", "_meta") for k in params)
            or not isinstance(params.get("arguments"), Mapping)
        ):
            return None
        try:
            arguments = orjson.dumps(params["arguments"], option=orjson.OPT_SORT_KEYS)
        except TypeError:
            return None
        if len(arguments) > self.MAX_ARGUMENT_BYTES:
            return None
        principal = caller.principal
        scopes = tuple(sorted(principal.scopes))
        return caller, ("mcp-call", principal.athlete_id, scopes, protocol_version, params["name"], arguments)

    def kept(
        self, request: Any, protocol_version: str, method: str, params: Mapping[str, Any] | None
    ) -> bytes | None:
        """The kept answer to this call (its result's JSON), if there is one at the athlete's current data
        revision.

        ``exchange`` asks before the SDK's kernel runs: building its request context and unwinding the
        connection cost ~50 µs, a third of a kept answer's cost, for an answer already known; and it writes
        the JSON out as it is, never parsed again."""
        found = self._key(request, protocol_version, method, params)
        if found is None:
            return None
        caller, key = found
        return caller.state.calendar_cache.get(key, caller.principal.data_revision)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        found = self._key(ctx.request, ctx.protocol_version, ctx.method, ctx.params)
        if found is None:
            return await call_next(ctx)
        caller, key = found
        revision = caller.principal.data_revision
        cached = caller.state.calendar_cache.get(key, revision)
        if cached is not None:  # (``exchange`` answers from ``kept`` first: only a request racing a write)
            kept: dict[str, Any] = orjson.loads(cached)
            return kept
        result = await call_next(ctx)
        if isinstance(result, dict) and not result.get("isError"):
            caller.state.calendar_cache.put(key, revision, orjson.dumps(result))
        return result


class McpEndpoint:
    """/mcp behind its authentication: POST answered by ``SingleExchange`` with the server's registered
    handlers, whose lifespan is entered once, for as long as the application's (``running``)."""

    def __init__(self, server: MCPServer) -> None:
        self.server = server
        self._exchange: SingleExchange | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        # The low-level Server holds the registered handlers, middleware and lifespan; MCPServer has no
        # public accessor for it (the SDK's own in-memory client reaches it the same way).
        lowlevel: Server[Any] = self.server._lowlevel_server
        async with lowlevel.lifespan(lowlevel) as lifespan_state:
            keepers = [
                m.kept for m in lowlevel.middleware if isinstance(m, RevisionCachedCalls | FixedListings)
            ]

            def kept(
                request: Any, version: str, method: str, params: Mapping[str, Any] | None
            ) -> bytes | None:
                for keeper in keepers:
                    if (known := keeper(request, version, method, params)) is not None:
                        return known
                return None

            self._exchange = SingleExchange(lowlevel, lifespan_state, kept=kept)
            try:
                yield
            finally:
                self._exchange = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._exchange is None:  # the application was not started with its lifespan
            response = JSONResponse({"error": "unavailable", "error_description": "MCP is starting"}, 503)
            await response(scope, receive, send)
            return
        if scope["method"] != "POST":
            # Stateless: no session to DELETE, and nothing would ever be sent on a GET's event stream, which
            # would only hold a connection and a task open until the client gives up (MCP allows a 405 here).
            response = JSONResponse(
                {
                    "error": "method_not_allowed",
                    "error_description": "this MCP server is stateless: POST only",
                },
                405,
                headers={"Allow": "POST"},
            )
            await response(scope, receive, send)
            return
        await self._exchange(scope, receive, send)


def mcp_route(endpoint: McpEndpoint) -> Route:
    """/mcp: every method the transport speaks (POST, and GET/DELETE which it answers itself)."""
    authentication = McpAuthentication(endpoint)
    route = Route(MCP_PATH, endpoint=authentication, include_in_schema=False)
    authentication.route = route
    return route
