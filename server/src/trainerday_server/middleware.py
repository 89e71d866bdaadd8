"""ASGI middleware: request guards that must hold before any route runs."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trainerday_server.errors import PayloadTooLarge
from trainerday_server.problems import problem_response


class BodySizeLimit:
    """Refuse request bodies over ``limit_for(path)`` bytes with a 413 problem.

    Checked against Content-Length up front and against the bytes actually received, for chunked bodies.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > limit:
                    await _refuse(scope, send, limit)
                    return
                break
        received = 0
        responded = False  # by us (413) or by the app

        async def limited_receive() -> Message:
            nonlocal received, responded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer now and tell the app the client has gone: it stops reading, and whatever it
                    # tries to send afterwards is dropped. (Raising would be swallowed by body parsing.)
                    if not responded:
                        responded = True
                        await _refuse(scope, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal responded
            if message["type"] == "http.response.start":
                if responded:
                    return
                responded = True
            elif received > limit:
                return
            await send(message)

        await self.app(scope, limited_receive, guarded_send)


class QueryStringGuard:
    """Refuse a NUL character in the query string (raw or percent-encoded) with a 400 problem.

    No parameter has a use for one, PostgreSQL text cannot store one, and checking the raw bytes here is
    cheaper than checking every parameter of every route (JSON bodies are checked by ``ApiModel``).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and query_has_nul(scope.get("query_string", b"")):
            response = problem_response(
                400,
                "validation-error",
                "the query string contains a NUL character",
                title="Invalid request",
                errors=[{"field": "query", "message": "must not contain NUL characters"}],
            )
            await response(scope, _no_body, send)
            return
        await self.app(scope, receive, send)


def query_has_nul(query: bytes) -> bool:
    return b"%00" in query or b"\x00" in query


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    detail = f"the request body is larger than the {limit:,} bytes this endpoint accepts"
    response = problem_response(
        PayloadTooLarge.status, PayloadTooLarge.slug, detail, title=PayloadTooLarge.title, limit=limit
    )
    await response(scope, _no_body, send)


async def _no_body() -> Message:  # the responses sent here never read the request
    return {"type": "http.disconnect"}
