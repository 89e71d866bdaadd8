"""The fast lane: the hottest reads answered without the general ASGI stack, with the same result.

The month calendar read is the request clients make most (every app polls it). Through the general stack it
passes a dozen ASGI layers — FastAPI's exception, body-limit and exit-stack middleware, our observability,
guards, rate limits, query-string and body guards, the router — each wrapping the response's ``send``. Their
bookkeeping cost more than the read itself: measured in process, 61 µs a request against 27 µs for the
endpoint alone (bench/throughput.py and docs/architecture.md have the HTTP figures).

``FastLane`` sits in front of the whole application, FastAPI's own outermost layers included
(``Application.__call__`` asks it first). A GET of a hot route (a ``DirectRoute`` of a fixed path
under /api/) from a plain request — no ``Origin`` (so CORS has nothing to add), headers within the guards'
limits, no NUL in the query — runs the endpoint, counts the rate limit, and sends the endpoint's response
with exactly what the layers it skipped would have added: ``nosniff``, the ``RateLimit-*`` fields, the request
id; then it writes the same access-log line and metrics through the same ``RequestRecorder``.

The rate limit is counted first, as the general stack counts it: a refused request never reaches the
endpoint (a client over its limit must not cost a read). Only a success is answered here. If the endpoint
raises (no token, a bad date) or the rate limit refuses, the request goes down the general stack as if this
layer did not exist, and the answer is whatever it gives: the endpoint runs again there, so hot endpoints
must have no effect before they can fail (reads do not). The decision already made travels with the request
(``ratelimit.COUNTED_SCOPE_KEY``), so the general stack's limiter does not count it a second time.
``tests/test_fastlane.py`` checks, request by request, that both ways give the same answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from fastapi import FastAPI
from limits import RateLimitItem
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from trainerday_server.guards import NOSNIFF, headers_within_limits
from trainerday_server.middleware import query_has_nul
from trainerday_server.observability.middleware import REQUEST_ID_HEADER, RequestRecorder
from trainerday_server.ratelimit import API_PREFIX, COUNTED_SCOPE_KEY, Limiter, api_identity
from trainerday_server.routing import DirectRoute


class FastLane:
    def __init__(
        self,
        *,
        routes: Iterable[BaseRoute],
        recorder: RequestRecorder,
        limiter: Limiter,
        limit: RateLimitItem | None,
    ) -> None:
        self.routes: dict[str, DirectRoute] = {}
        for route in routes:
            if not (
                isinstance(route, DirectRoute) and "{" not in route.path and route.path.startswith(API_PREFIX)
            ):
                raise ValueError(f"the fast lane serves DirectRoutes of fixed /api/ paths, not {route!r}")
            if "GET" in (route.methods or ()):
                self.routes[route.path] = route
        self.recorder = recorder
        self.limiter = limiter
        self.limit = limit

    async def answer(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the request for ``app`` and return True, or return False having sent nothing: then the
        request is ``app``'s to answer as usual."""
        if scope["type"] == "http" and scope["method"] == "GET":
            route = self.routes.get(scope["path"])
            if route is not None and _plain(scope):
                scope["app"] = app  # as Starlette sets it: the endpoint reads app.state through the request
                return await self._serve(route, scope, receive, send)
        return False

    async def _serve(self, route: DirectRoute, request_scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the request and return True, or return False having sent nothing and left the request's
        scope as it was (what the endpoint notes there, such as the caller, must not leak into a refusal),
        but for the rate-limit decision already counted (``COUNTED_SCOPE_KEY``)."""
        started = time.perf_counter()
        decision = None
        if self.limit is not None:
            # Counted first, as the general stack does: a refused client must not cost a read.
            decision = await self.limiter.hit(self.limit, "api", api_identity(request_scope))
            request_scope[COUNTED_SCOPE_KEY] = decision  # for the general stack, should the request go on
            if not decision.allowed:
                return False
        scope = dict(request_scope)
        try:
            response = await route.endpoint(Request(scope, receive))
        except Exception:
            return False
        except BaseException:  # cancelled: logged and counted as the general stack's layers do (a 500)
            scope["route"] = route
            self.recorder.request_id(scope)
            self.recorder.record(scope, route.path, 500, time.perf_counter() - started, 0)
            raise
        headers = response.raw_headers  # in the order the layers would add theirs:
        if decision is not None:
            headers += decision.headers()  # rate limits,
        headers.append(NOSNIFF)  # guards,
        headers.append((REQUEST_ID_HEADER, self.recorder.request_id(scope)))  # observability
        scope["route"] = route
        body = response.body
        try:
            await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        finally:
            seconds = time.perf_counter() - started
            self.recorder.record(scope, route.path, response.status_code, seconds, len(body))
        return True


def _plain(scope: Scope) -> bool:
    """No guard, CORS or query-string check would act on this request (each refuses or adds nothing)."""
    headers = scope["headers"]
    return (
        headers_within_limits(headers)
        and all(name != b"origin" for name, _ in headers)
        and not query_has_nul(scope.get("query_string", b""))
    )


class Application(FastAPI):
    """FastAPI with two ways around its own layers, each of which wraps the response's ``send`` and adds an
    await, paid on every request:

    - ``fast_lane``: the hottest reads, answered in front of everything (see ``FastLane``);
    - ``direct_routes``: paths whose route is an ASGI app of its own (``/mcp``, where every tool call is a
      POST), sent through our middleware (``user_middleware``, in the same order) and the same exception
      handlers, but not FastAPI's error, telemetry, body-limit and exit-stack layers or its router.

    With neither set the app answers every request the usual way (as the tests compare)."""

    fast_lane: FastLane | None = None
    direct_routes: dict[str, ASGIApp] = {}
    _direct_stacks: dict[str, ASGIApp] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.root_path:
            lane = self.fast_lane
            if lane is not None and await lane.answer(self, scope, receive, send):
                return
            if self.direct_routes and scope["path"] in self.direct_routes:
                if self._direct_stacks is None:
                    self._direct_stacks = {path: self._stack(app) for path, app in self.direct_routes.items()}
                scope["app"] = self
                await self._direct_stacks[scope["path"]](scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def _stack(self, endpoint: ASGIApp) -> ASGIApp:
        """``endpoint`` inside our middleware, as ``build_middleware_stack`` puts the router inside it."""
        handlers = {
            key: value for key, value in self.exception_handlers.items() if key not in (500, Exception)
        }
        app: ASGIApp = ExceptionMiddleware(endpoint, handlers=handlers, debug=self.debug)
        for middleware in reversed(self.user_middleware):
            app = middleware.cls(app, *middleware.args, **middleware.kwargs)
        return app
