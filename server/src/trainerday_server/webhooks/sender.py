"""One HTTP request to a callback, made safely: to the address checked by ``urls.resolve`` (TLS still checks
the certificate against the host name), with short timeouts, no redirects, no proxy from the environment,
and never more than a few kB of the answer read."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import httpx

from trainerday_server import __version__
from trainerday_server.webhooks.urls import Policy, UnsafeCallback, resolve

MAX_RESPONSE_BYTES = 4096
USER_AGENT = f"TrainerDay-Webhooks/{__version__}"


@dataclass(frozen=True)
class Outcome:
    status_code: int | None  # None: no HTTP answer (refused address, connection error, timeout)
    body: bytes  # at most MAX_RESPONSE_BYTES of the answer
    error: str | None  # why it failed, for the deliveries list; None for any HTTP answer

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def describe(self) -> str:
        if self.status_code is None:
            return self.error or "no answer"
        shown = self.body[:200].decode("utf-8", "replace")
        return f"HTTP {self.status_code} with body {shown!r}"


def new_client(timeout: float) -> httpx.Client:
    """A client for callbacks: one per thread (it pools connections to each checked address)."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
        follow_redirects=False,
        trust_env=False,  # an HTTP(S)_PROXY in the environment must not carry callbacks elsewhere
        headers={"user-agent": USER_AGENT},
    )


def send(
    client: httpx.Client,
    method: str,
    url: str,
    policy: Policy,
    *,
    timeout: float,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> Outcome:
    """Make one request; every failure is an Outcome, never an exception."""
    try:
        target = resolve(url, policy)
    except UnsafeCallback as exc:
        return Outcome(None, b"", f"refused: {exc}")
    pinned = httpx.URL(url)
    if params:
        pinned = pinned.copy_merge_params(params)
    host_header = pinned.netloc.decode("ascii")
    pinned = pinned.copy_with(host=str(target.address))
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    request = client.build_request(
        method,
        pinned,
        content=content,
        headers={**(headers or {}), "host": host_header},
        extensions=extensions,
    )
    started = time.monotonic()
    try:
        response = client.send(request, stream=True)
        try:
            body = b""
            for chunk in response.iter_raw():
                body += chunk
                # A receiver dripping bytes must not hold the worker past its timeout.
                if len(body) >= MAX_RESPONSE_BYTES or time.monotonic() - started > timeout:
                    break
            return Outcome(response.status_code, body[:MAX_RESPONSE_BYTES], None)
        finally:
            response.close()
    except httpx.TimeoutException:
        return Outcome(None, b"", f"timed out after {timeout:g} s")
    except httpx.HTTPError as exc:
        return Outcome(None, b"", f"{type(exc).__name__}: {exc}"[:300])


def verify_challenge(client: httpx.Client, url: str, policy: Policy, timeout: float) -> str | None:
    """Ask the callback to echo a random challenge (``GET url?challenge=...``); None if it did, else what came
    back instead."""
    challenge = secrets.token_urlsafe(24)
    outcome = send(client, "GET", url, policy, timeout=timeout, params={"challenge": challenge})
    if outcome.status_code == 200 and outcome.body.strip() == challenge.encode():
        return None
    if outcome.status_code is None:
        return f"the challenge request failed: {outcome.error}"
    return (
        f"the callback must answer GET ?challenge=... with 200 and the challenge as its body; "
        f"it answered {outcome.describe()}"
    )


def challenge_callback(url: str, policy: Policy, timeout: float) -> str | None:
    """``verify_challenge`` with a client of its own: for the API and the web page alike. None if the
    callback echoed the challenge, else what came back instead."""
    with new_client(timeout) as client:
        return verify_challenge(client, url, policy, timeout)
