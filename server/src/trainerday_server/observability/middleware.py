"""One ASGI layer for every request: its id, its access log line and its metrics.

It replaces uvicorn's access logger (``serve`` turns that off), which formatted each line through
``logging`` and cost more than the month calendar read itself. Here a line is one ``orjson.dumps`` and one
``write`` to standard error, after the response has been sent.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trainerday_server.auth.bearer import PRINCIPAL_SCOPE_KEY  # where authentication leaves the caller
from trainerday_server.observability import metrics
from trainerday_server.observability.redact import redact_path, redact_query
from trainerday_server.problems import internal_error_response

REQUEST_ID_HEADER = b"x-request-id"
REQUEST_ID_SCOPE_KEY = "trainerday.request_id"
UNMATCHED_ROUTE = "unmatched"
# A request id from a proxy is kept only if it is short and plain: it is echoed in a header and written to
# the log, so it must not be able to forge either.
_ACCEPTABLE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:@/+=\-]{1,128}")


def _write_stderr(line: bytes) -> None:
    os.write(sys.stderr.fileno(), line)


class _Clock:
    """ISO 8601 UTC timestamps, formatted once per second and reused within it."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def iso(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int((now - second) * 1000):03d}Z"


class RequestRecorder:
    """What every request leaves behind: its id (taken from ``X-Request-Id`` when sent, else made), one JSON
    access log line when ``access_log``, and its metrics by route template and status. Used by the
    ``Observability`` middleware and by the fast lane (``fastlane``), so both leave the same trace.

    The line names the route template (``/api/v1/activities/{activity_id}``), not the path, so ids and any
    token in a path stay out of it; query strings are logged with credentials redacted.
    """

    def __init__(self, *, access_log: bool = True, sink: Callable[[bytes], None] | None = None) -> None:
        self.access_log = access_log
        self.sink = sink or _write_stderr
        self._clock = _Clock()

    def request_id(self, scope: Scope) -> bytes:
        """The request's id, also left in the scope for whoever logs on its behalf."""
        request_id = b""
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                if _ACCEPTABLE_REQUEST_ID.fullmatch(value):
                    request_id = value
                break
        if not request_id:
            request_id = os.urandom(16).hex().encode()
        scope[REQUEST_ID_SCOPE_KEY] = request_id.decode()
        return request_id

    def record(self, scope: Scope, route: str | None, status: int, seconds: float, size: int) -> None:
        method = scope["method"]
        metrics.observe_request(method, route or UNMATCHED_ROUTE, status, seconds)
        if self.access_log:
            self._log(scope, method, route, status, seconds, size)

    def _log(
        self, scope: Scope, method: str, route: str | None, status: int, seconds: float, size: int
    ) -> None:
        line: dict[str, Any] = {
            "time": self._clock.iso(time.time()),
            "event": "request",
            "requestId": scope[REQUEST_ID_SCOPE_KEY],
            "method": method,
            "route": route or UNMATCHED_ROUTE,
            "status": status,
            "durationMs": round(seconds * 1000, 2),
            "bytes": size,
        }
        if route is None:
            line["path"] = redact_path(scope["path"][:512])
        query: bytes = scope.get("query_string", b"")
        if query:
            line["query"] = redact_query(query[:2048].decode("latin-1"))
        principal = scope.get(PRINCIPAL_SCOPE_KEY)
        if principal is not None:
            line["athleteId"] = principal.athlete_id
            line["credential"] = f"{principal.kind}:{principal.credential_id}"
        client_id = scope.get("trainerday.client_id")
        if client_id is not None:
            line["clientId"] = client_id
        client = scope.get("client")
        if client:
            line["ip"] = client[0]
        # A closed or full standard error must not fail a request that was already answered.
        with contextlib.suppress(OSError):
            self.sink(orjson.dumps(line) + b"\n")


class Observability:
    """ASGI middleware: the ``RequestRecorder``'s id on every response (``X-Request-Id``), and its log
    line and metrics once the response is sent."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        access_log: bool = True,
        sink: Callable[[bytes], None] | None = None,
        recorder: RequestRecorder | None = None,
    ) -> None:
        self.app = app
        self.recorder = recorder or RequestRecorder(access_log=access_log, sink=sink)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = self.recorder.request_id(scope)
        status = 500  # if the app raises before answering, the server answers 500
        response_bytes = 0
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_bytes, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id)]
            elif message["type"] == "http.response.body":
                response_bytes += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if not response_started:
                # Answered here rather than by Starlette's outermost error layer, which sits outside this one
                # (its answer had no request id, and the log line counted no bytes): a 500 is where the id
                # matters most, to find the traceback. Raised on: that layer logs it (and answers nothing
                # more), and a test client still sees it.
                await internal_error_response()(scope, receive, _nosniff_send(send_with_id))
            raise
        finally:
            route = getattr(scope.get("route"), "path", None)
            self.recorder.record(scope, route, status, time.perf_counter() - started, response_bytes)


def _nosniff_send(send: Send) -> Send:
    async def with_nosniff(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), (b"x-content-type-options", b"nosniff")]
        await send(message)

    return with_nosniff
