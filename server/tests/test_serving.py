"""The served process bounds what a connection costs: header size, slow heads, stalled bodies; no banner
(trainerday_server.serving, through ``trainerday-server serve`` over real sockets)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Database, free_port, run_async, server_env, serving
from trainerday_server.serving import MAX_HEAD_BYTES, GuardedHttpToolsProtocol

TIMEOUT = 1.0  # the served process's header deadline and body idle timeout, in seconds


@pytest.fixture(scope="module")
def server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = server_env(database.url, tmp_path_factory.mktemp("serving"), f"http://127.0.0.1:{port}")
    env["TRAINERDAY_REQUEST_HEADER_TIMEOUT_SECONDS"] = str(TIMEOUT)
    env["TRAINERDAY_REQUEST_BODY_IDLE_TIMEOUT_SECONDS"] = str(TIMEOUT)
    log = tmp_path_factory.mktemp("serving-log") / "server.log"
    with serving(env, f"http://127.0.0.1:{port}", log):
        yield ("127.0.0.1", port)


def read_all(sock: socket.socket, limit: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection (or ``limit`` seconds pass)."""
    sock.settimeout(limit)
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except (TimeoutError, ConnectionResetError):
        pass
    return b"".join(chunks)


def test_no_server_banner(server: tuple[str, int]):
    response = httpx.get(f"http://{server[0]}:{server[1]}/healthz")
    assert response.status_code == 200 and "server" not in response.headers


def test_a_huge_header_is_refused_with_431_and_the_connection_closed(server: tuple[str, int]):
    sent = 0
    with socket.create_connection(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
        try:
            for _ in range(100):  # up to 100 headers of 1 MB each
                sock.sendall(b"X-Filler: " + b"a" * 1_000_000 + b"\r\n")
                sent += 1
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"application/problem+json" in answer and b"header-fields-too-large" in answer
    assert sent < 100  # refused long before the 100 MB were taken in
    assert MAX_HEAD_BYTES < 64 * 1024


@pytest.mark.parametrize(
    "request_head",
    [
        b"get /healthz HTTP/1.1\r\nHost: test\r\n\r\n",  # a method the parser does not know
        b"GET /healthz HTTP/1.1\r\nHost: test\r\nBad Header: x\r\n\r\n",  # a space in a name
        b"GET /healthz HTTP/1.1\r\nHost: test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
        b"GET /healthz HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["lower-case-method", "space-in-name", "two-lengths", "bad-chunk"],
)
def test_a_malformed_request_is_a_400_problem(server: tuple[str, int], request_head: bytes) -> None:
    with socket.create_connection(server) as sock:
        sock.sendall(request_head)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"application/problem+json" in answer and b"malformed-request" in answer


def test_many_small_headers_within_the_limit_still_work(server: tuple[str, int]):
    headers = {f"x-h{i}": "v" * 50 for i in range(60)}
    assert httpx.get(f"http://{server[0]}:{server[1]}/healthz", headers=headers).status_code == 200


def test_a_slow_head_is_cut_off_with_408(server: tuple[str, int]):
    with socket.create_connection(server) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
        for _ in range(3):  # a slow-loris: a header byte now and then, never the end of the head
            time.sleep(TIMEOUT / 2)
            try:
                sock.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = read_all(sock, limit=TIMEOUT * 5)
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert elapsed < TIMEOUT * 5


def test_an_idle_connection_that_never_sends_is_closed(server: tuple[str, int]):
    with socket.create_connection(server) as sock:
        answer = read_all(sock, limit=TIMEOUT * 5)
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_stalled_body_ends_the_connection(server: tuple[str, int]):
    with socket.create_connection(server) as sock:
        sock.sendall(
            b"POST /api/v1/workouts HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b'Authorization: Bearer td_nothing\r\nContent-Length: 1000\r\n\r\n{"title": '
        )
        started = time.monotonic()
        answer = read_all(sock, limit=TIMEOUT * 5)
        elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT * 4
    assert not answer.startswith(b"HTTP/1.1 2")


def test_a_slow_but_steady_body_is_not_cut_off(server: tuple[str, int]):
    """A body that keeps arriving (each pause shorter than the idle timeout) is read to its end."""
    body = b'{"title": "x", "segments": [[10, 50, 50]]}'
    with socket.create_connection(server) as sock:
        sock.sendall(
            b"POST /api/v1/workouts HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer td_nothing\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        for i in range(0, len(body), 15):
            time.sleep(TIMEOUT / 3)
            sock.sendall(body[i : i + 15])
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 401 ")  # read whole, then refused for its token


def test_a_kept_alive_connection_gets_a_new_head_deadline_for_each_request(server: tuple[str, int]):
    """Deadlines are times checked by one timer per connection: when it fires for a deadline that a later
    request moved, it waits for the new one instead of cutting the connection off."""
    request = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"
    with socket.create_connection(server) as sock:
        sock.settimeout(TIMEOUT * 5)
        for _ in range(3):  # each pause is within the deadline; together they pass it twice over
            time.sleep(TIMEOUT * 0.7)
            sock.sendall(request)
            answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
        started = time.monotonic()
        read_all(sock, limit=20)  # then idle: closed by the keep-alive timeout
        assert time.monotonic() - started < 10


def test_a_response_that_closes_the_connection_is_sent_whole_first(server: tuple[str, int]):
    """With ``Connection: close`` uvicorn closes the transport right after writing: the writes it holds for
    the end of the turn (``CoalescingTransport``) must go out before, or the client gets nothing."""
    with socket.create_connection(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        answer = read_all(sock)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and body == b'{"status":"ok"}'


def test_a_deadline_set_sooner_than_the_connections_timer_is_kept_in_time():
    """The connection's one timer may be waiting for a later deadline (a body's, when the body idle timeout
    is longer than the head's): a sooner one set meanwhile (the next request's head) must still act on time,
    not when that timer fires."""

    async def main() -> tuple[str, float]:
        loop = asyncio.get_running_loop()
        protocol = GuardedHttpToolsProtocol.__new__(GuardedHttpToolsProtocol)
        protocol.loop = loop
        protocol._timer = None
        protocol._deadline = None
        protocol._on_expiry = None
        fired: asyncio.Future[str] = loop.create_future()
        started = loop.time()
        protocol._arm(30, lambda: fired.set_result("body"))
        protocol._disarm()
        protocol._arm(0.05, lambda: fired.set_result("head"))
        try:
            which = await asyncio.wait_for(fired, 2)
        finally:
            if protocol._timer is not None:
                protocol._timer.cancel()
        return which, loop.time() - started

    which, elapsed = run_async(main())
    assert which == "head"
    assert elapsed < 1


def test_a_client_that_ends_its_side_after_pipelined_requests_still_gets_the_first_answer(
    server: tuple[str, int],
):
    """The client sends two requests and shuts its side (half-close): the loop's transport closes itself on
    that end of stream, so the answer the app writes in the same turn must be handed to it first, not held
    and then dropped (the first answer arrived before writes were coalesced)."""
    with socket.create_connection(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n" * 2)
        sock.shutdown(socket.SHUT_WR)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert b'{"status":"ok"}' in answer
