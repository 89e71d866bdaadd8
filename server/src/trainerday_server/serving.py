"""How ``trainerday-server serve`` runs uvicorn: bounds on what one connection costs before the app sees it.

uvicorn's HTTP protocol (httptools) reads request headers of any size and waits for them, and for a request
body, as long as a client cares to trickle them. ``GuardedHttpToolsProtocol`` adds, per connection:

- a header-size limit: a request whose head (request line and headers) passes ``MAX_HEAD_BYTES`` before it is
  complete is answered 431 and the connection closed, so 100 one-megabyte headers cost 64 KiB, not 100 MB;
- a header deadline: the head must arrive within ``request_header_timeout_seconds`` of the connection opening
  (or of the previous response), else 408 and close - a slow-loris client cannot hold a connection;
- a body idle timeout: a request body that stops arriving for ``request_body_idle_timeout_seconds`` ends the
  connection (the app sees the client disconnect and writes nothing);
- a request the parser refuses answered with a 400 problem (uvicorn's own answer is plain text).

A reverse proxy in front should set the same limits (see docs/operations.md). ``uvicorn_options`` adds the
rest: no ``server`` banner, a short keep-alive.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from trainerday_server.config import get_settings
from trainerday_server.guards import MAX_HEADER_BYTES
from trainerday_server.problems import TYPE_BASE

# The head as sent (request line, header names and values, separators); a little above the parsed limit.
MAX_HEAD_BYTES = MAX_HEADER_BYTES + 8 * 1024
KEEP_ALIVE_SECONDS = 5


def _problem(status: int, reason: str, slug: str, detail: str) -> bytes:
    body = orjson.dumps(
        {
            "type": TYPE_BASE + slug,
            "title": reason,
            "status": status,
            "detail": detail,
        }
    )
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a head size limit, a head deadline and a body idle timeout."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self._head_timeout = settings.request_header_timeout_seconds
        self._body_idle_timeout = settings.request_body_idle_timeout_seconds
        self._reading_head = True
        self._head_bytes = 0
        self._reading_body = False
        self._timer: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float, on_expiry: Any) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, on_expiry)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _refuse(self, response: bytes) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(response)
            self.transport.close()

    def _head_too_slow(self) -> None:
        self._timer = None
        if self._reading_head and (self.cycle is None or self.cycle.response_complete):
            detail = f"the request headers did not arrive within {self._head_timeout:g} seconds"
            self._refuse(_problem(408, "Request Timeout", "request-timeout", detail))

    def _body_stalled(self) -> None:
        self._timer = None
        if self._reading_body and not self.transport.is_closing():
            self.transport.close()  # the app reads a disconnect; a half-received body is never used

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._head_timeout, self._head_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_head:
            self._head_bytes += len(data)
        elif self._reading_body:
            self._arm(self._body_idle_timeout, self._body_stalled)
        super().data_received(data)
        if self._reading_head and self._head_bytes > MAX_HEAD_BYTES:
            detail = (
                f"the request head passed {MAX_HEAD_BYTES:,} bytes; at most {MAX_HEADER_BYTES:,} of headers"
            )
            self._refuse(_problem(431, "Request Header Fields Too Large", "header-fields-too-large", detail))

    def send_400_response(self, msg: str) -> None:
        """A request the HTTP parser refuses (a bad request line, a malformed header, broken framing): a 400
        problem like every other refusal, not uvicorn's plain-text one."""
        detail = "the request is not well-formed HTTP/1.1 (its request line, a header or its framing)"
        self._refuse(_problem(400, "Bad Request", "malformed-request", detail))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._reading_head:  # the next request on a kept-alive connection: a new deadline
            self._reading_head = True
            self._head_bytes = 0
            self._arm(self._head_timeout, self._head_too_slow)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._reading_body = True
        self._arm(self._body_idle_timeout, self._body_stalled)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._reading_body = False
        self._disarm()
        super().on_message_complete()


def uvicorn_options() -> dict[str, Any]:
    """What ``serve`` passes to ``uvicorn.run`` besides host, port and workers."""
    return {
        "http": f"{__name__}:GuardedHttpToolsProtocol",
        "server_header": False,  # no version banner
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    }
