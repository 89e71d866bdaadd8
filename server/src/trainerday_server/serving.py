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

Two things make each request cheaper than uvicorn alone: a response's writes within one turn of the event loop
(its head, then its body) leave in one system call (``CoalescingTransport``), where uvicorn makes one per
message; and the deadlines above are kept as times, checked by one timer per connection that is re-armed only
when it fires, where arming a timer for each request's head and body cost more than the checks.

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


class CoalescingTransport:
    """A transport whose writes within one turn of the event loop go out together, in one ``writelines``
    (one ``writev``) at the end of the turn: a response's head and body, written one after the other, cost
    one system call and one TCP segment instead of two. Closing or ending the stream sends what is held
    first; anything else is the wrapped transport's."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._held is None:
            self._held = [data]
            self._loop.call_soon(self.flush)
        else:
            self._held.append(data)

    def writelines(self, data: Any) -> None:
        for chunk in data:
            self.write(chunk)

    def flush(self) -> None:
        held, self._held = self._held, None
        if held and not self._transport.is_closing():
            self._transport.writelines(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        held = sum(len(chunk) for chunk in self._held) if self._held else 0
        return held + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


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
        self._timer: asyncio.TimerHandle | None = None  # at most one per connection, see _arm
        self._deadline: float | None = None  # when on_expiry is due, None when nothing is
        self._on_expiry: Any = None

    def _arm(self, seconds: float, on_expiry: Any) -> None:
        """``on_expiry`` is due in ``seconds`` unless re-armed or disarmed before. Only the time is noted:
        the connection's one timer, when it fires, acts if a deadline passed, or waits for the one now set."""
        self._deadline = self.loop.time() + seconds
        self._on_expiry = on_expiry
        if self._timer is not None and self._timer.when() > self._deadline:
            # set for a later deadline (a body's, longer than a head's): it would act too late
            self._timer.cancel()
            self._timer = None
        if self._timer is None:
            self._timer = self.loop.call_at(self._deadline, self._check_deadline)

    def _disarm(self) -> None:
        self._deadline = None

    def _check_deadline(self) -> None:
        self._timer = None
        if self._deadline is None:
            return
        if self.loop.time() < self._deadline:
            self._timer = self.loop.call_at(self._deadline, self._check_deadline)
            return
        self._deadline = None
        self._on_expiry()

    def _refuse(self, response: bytes) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(response)
            self.transport.close()

    def _head_too_slow(self) -> None:
        if self._reading_head and (self.cycle is None or self.cycle.response_complete):
            detail = f"the request headers did not arrive within {self._head_timeout:g} seconds"
            self._refuse(_problem(408, "Request Timeout", "request-timeout", detail))

    def _body_stalled(self) -> None:
        if self._reading_body and not self.transport.is_closing():
            self.transport.close()  # the app reads a disconnect; a half-received body is never used

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
        self._arm(self._head_timeout, self._head_too_slow)

    def eof_received(self) -> None:
        # The client ended its side (it may still read): the loop's transport closes itself as this returns,
        # and drops whatever is written to it after that. What the app wrote this turn goes first, as it
        # went at once before writes were held (a response to a pipelined request then still arrives).
        self.transport.flush()  # type: ignore[attr-defined]
        super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
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
