"""A real webhook receiver for the tests: an HTTP server on 127.0.0.1 that answers the subscription
challenge, records every delivery, and can be told to fail or to be down (connections refused)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def verified(self, secret: str) -> Any:
        """The payload, once its signature verifies with the Standard Webhooks library (else it raises)."""
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    def __init__(self) -> None:
        self.deliveries: list[Received] = []
        self.challenges: list[str] = []
        self.failures_to_come = 0  # answer this many deliveries with fail_status
        self.fail_status = 503
        self.echo_challenge = True
        self.hold: threading.Event | None = None  # set: deliveries wait for it, then are dropped unrecorded
        self.held: list[Received] = []
        self._arrived = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/trainerday"

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                challenge = parse_qs(urlsplit(self.path).query).get("challenge", [""])[0]
                receiver.challenges.append(challenge)
                answer = challenge.encode() if receiver.echo_challenge else b"not the challenge"
                self._answer(200, answer)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                hold = receiver.hold
                if hold is not None:
                    receiver.held.append(Received(dict(self.headers.items()), body))
                    hold.wait(60)
                    return  # never answered: the sender sees the connection close
                with receiver._arrived:
                    if receiver.failures_to_come > 0:
                        receiver.failures_to_come -= 1
                        status = receiver.fail_status
                    else:
                        status = 204
                        receiver.deliveries.append(Received(dict(self.headers.items()), body))
                        receiver._arrived.notify_all()
                self._answer(status, b"")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def down(self) -> None:
        """Stop listening: connections to the port are refused until ``up``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The deliveries received, once there are at least ``count`` (fails after ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.deliveries) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.deliveries)} of {count} deliveries arrived in {timeout} s"
                self._arrived.wait(left)
            return list(self.deliveries)

    def types(self) -> list[str]:
        return [d.json["type"] for d in self.deliveries]
