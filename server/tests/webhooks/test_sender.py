"""Calling out safely: redirects not followed, answers read no further than 4 kB, slow receivers cut off."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from trainerday_server.webhooks.sender import MAX_RESPONSE_BYTES, new_client, send, verify_challenge
from trainerday_server.webhooks.urls import Policy

LOCAL = Policy(allow_http=True)
hits: list[str] = []


class Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        hits.append(self.path)
        length = int(self.headers.get("content-length", "0"))
        self.rfile.read(length)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("location", "http://127.0.0.1:1/elsewhere")
            self.send_header("content-length", "0")
            self.end_headers()
        elif self.path.startswith("/huge"):
            self.send_response(200)
            self.send_header("content-length", str(50 * 1024 * 1024))
            self.end_headers()
            try:
                for _ in range(50 * 1024):
                    self.wfile.write(b"x" * 1024)
            except OSError:
                pass  # the client hung up, as it should
        elif self.path.startswith("/drip"):
            self.send_response(200)
            self.send_header("content-length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
        elif self.path.startswith("/silent"):
            time.sleep(3)


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_redirects_are_not_followed(hostile: str):
    hits.clear()
    with new_client(2) as client:
        outcome = send(client, "POST", f"{hostile}/redirect", LOCAL, timeout=2, content=b"{}")
    assert outcome.status_code == 302 and not outcome.ok
    assert hits == ["/redirect"]


def test_a_huge_answer_is_read_no_further_than_4_kb(hostile: str):
    started = time.monotonic()
    with new_client(5) as client:
        outcome = send(client, "POST", f"{hostile}/huge", LOCAL, timeout=5, content=b"{}")
    assert outcome.ok and 0 < len(outcome.body) <= MAX_RESPONSE_BYTES
    assert time.monotonic() - started < 5


def test_a_dripping_answer_is_cut_off_at_the_timeout(hostile: str):
    started = time.monotonic()
    with new_client(1) as client:
        outcome = send(client, "POST", f"{hostile}/drip", LOCAL, timeout=1, content=b"{}")
    assert time.monotonic() - started < 3
    assert len(outcome.body) < 1000


def test_a_silent_receiver_times_out(hostile: str):
    with new_client(0.5) as client:
        outcome = send(client, "POST", f"{hostile}/silent", LOCAL, timeout=0.5, content=b"{}")
    assert outcome.status_code is None and "timed out" in (outcome.error or "")


def test_a_refused_address_is_never_connected_to():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
        with new_client(1) as client:
            outcome = send(client, "POST", url, Policy(), timeout=1, content=b"{}")
        assert outcome.error is not None and outcome.error.startswith("refused")
        with pytest.raises(TimeoutError):
            listener.accept()


def test_the_challenge_must_come_back_exactly(hostile: str):
    with new_client(2) as client:
        problem = verify_challenge(client, f"{hostile}/redirect", LOCAL, 2)
    assert problem is not None and "HTTP 302" in problem
