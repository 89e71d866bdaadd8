"""``CoalescingTransport``: a response's writes within one turn of the event loop leave in one
``writelines``; nothing is lost, reordered or held past the turn, and closing sends what is held first."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import run_async
from trainerday_server.serving import CoalescingTransport


class RecordingTransport:
    """What the event loop's transport was asked to do, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.closing = False

    def writelines(self, data: list[bytes]) -> None:
        self.calls.append(("writelines", list(data)))

    def write_eof(self) -> None:
        self.calls.append(("write_eof", None))

    def close(self) -> None:
        self.closing = True
        self.calls.append(("close", None))

    def abort(self) -> None:
        self.closing = True
        self.calls.append(("abort", None))

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


async def one_turn() -> None:
    await asyncio.sleep(0)


def test_writes_in_one_turn_leave_together_at_its_end() -> None:
    async def scenario() -> None:
        inner = RecordingTransport()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"body")
        assert inner.calls == [] and transport.get_write_buffer_size() == len(b"HTTP/1.1 200 OK\r\n\r\nbody")
        await one_turn()
        assert inner.calls == [("writelines", [b"HTTP/1.1 200 OK\r\n\r\n", b"body"])]
        transport.write(b"next chunk")  # a streamed response's later chunk: its own turn, its own write
        await one_turn()
        assert inner.calls[-1] == ("writelines", [b"next chunk"])
        assert len(inner.calls) == 2

    run_async(scenario())


def test_closing_sends_what_is_held_first_and_abort_drops_it() -> None:
    async def scenario() -> None:
        inner = RecordingTransport()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"last words")
        transport.close()
        assert inner.calls == [("writelines", [b"last words"]), ("close", None)]
        await one_turn()  # the scheduled flush finds nothing more to send, and the transport closing
        assert len(inner.calls) == 2

        inner = RecordingTransport()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"half")
        transport.write_eof()
        assert inner.calls == [("writelines", [b"half"]), ("write_eof", None)]

        inner = RecordingTransport()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"never sent")
        transport.abort()
        await one_turn()
        assert inner.calls == [("abort", None)]

    run_async(scenario())


def test_a_transport_closed_underneath_is_not_written_to() -> None:
    async def scenario() -> None:
        inner = RecordingTransport()
        transport = CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
        transport.write(b"too late")
        inner.closing = True  # the peer went away before the turn ended
        await one_turn()
        assert inner.calls == []
        assert transport.is_closing() and transport.get_extra_info("peername") == "info:peername"

    run_async(scenario())
