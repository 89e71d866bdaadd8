"""The MCP server behind /mcp: the SDK's ``MCPServer`` with our tools and a resource describing the workout
format, served by the SDK's Streamable HTTP transport in stateless mode with JSON responses, so any process
behind a load balancer can answer any request (no session lives in memory between requests).

The transport's session manager runs inside the application's lifespan (``McpEndpoint.running``); the route
itself is ``McpAuthentication`` (``endpoint``) in front of it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from trainerday_server import __version__
from trainerday_server.mcp.endpoint import McpAuthentication
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

# The app's own body limit (1 MiB for JSON) applies first; this is the SDK's, set to the same.
MAX_REQUEST_BYTES = 1024 * 1024
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
        )
    finally:
        root.removeHandler(placeholder)
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

    return server


class McpEndpoint:
    """The SDK's Streamable HTTP transport as an ASGI app whose session manager lives as long as the
    application's lifespan (a manager runs once: each lifespan gets a new one)."""

    def __init__(self, server: MCPServer) -> None:
        self.server = server
        self._handle: ASGIApp | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self.server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=True,
            max_request_body_size=MAX_REQUEST_BYTES,
            # Origins are checked (against TRAINERDAY_BASE_URL) before the token, by McpAuthentication; the
            # Host header is whatever the proxy in front sends, and a bearer token is no ambient credential.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        manager = self.server.session_manager
        async with manager.run():
            self._handle = manager.handle_request
            try:
                yield
            finally:
                self._handle = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._handle is None:  # the application was not started with its lifespan
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
        await self._handle(scope, receive, send)


def mcp_route(endpoint: McpEndpoint) -> Route:
    """/mcp: every method the transport speaks (POST, and GET/DELETE which it answers itself)."""
    authentication = McpAuthentication(endpoint)
    route = Route(MCP_PATH, endpoint=authentication, include_in_schema=False)
    authentication.route = route
    return route
