"""Rate limits with the ``limits`` library: per token on the API, per client address on log-in, sign-up
and the OAuth token endpoints, and a lower limit on activity uploads per athlete.

Fixed windows, counted in process memory by default, or in Redis (``TRAINERDAY_REDIS_URL``) so that every
server process shares one count. Refusals are 429 problems with ``Retry-After``; every ``/api/`` response
carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` (seconds until the window
resets), as the IETF RateLimit header fields draft describes. ``TRAINERDAY_RATE_LIMIT=off`` disables the
API limit (as load tests need); each limit has its own setting.

If Redis stops answering, requests are let through (and a warning logged): a limiter outage must not
become an API outage; ``/readyz`` reports Redis as down meanwhile.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, NamedTuple

import orjson
from fastapi import Depends, FastAPI, Request
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage, Storage
from limits.storage import MemoryStorage as SyncMemoryStorage
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trainerday_server.auth.principal import Principal
from trainerday_server.config import Settings
from trainerday_server.deps import require_scope
from trainerday_server.oauth2.server import MCP_PATH
from trainerday_server.observability import metrics
from trainerday_server.problems import problem_response

log = logging.getLogger(__name__)
API_PREFIX = "/api/"
UPLOAD_PATH = "/api/v1/activities/upload"
# Unauthenticated POSTs where each try costs a password hash or a client-secret check, or (open dynamic
# client registration) writes a row.
CREDENTIAL_PATHS = frozenset(
    {
        "/login",
        "/signup",
        "/oauth/token",
        "/oauth/token/revoke",
        "/oauth/token/introspection",
        "/oauth/register",
    }
)
OFF = "off"
KEY_PREFIX = "trainerday-rl"
# The API-limit decision for a request already counted (by the fast lane, before it handed the request on).
COUNTED_SCOPE_KEY = "trainerday.ratelimit.counted"


class RateLimitSettingError(ValueError):
    pass


def parse_limit(value: str, setting: str) -> RateLimitItem | None:
    """``"600/minute"`` → the limit; ``"off"`` → None; anything else is a configuration error."""
    if value.strip().lower() == OFF:
        return None
    try:
        return parse(value)
    except ValueError:
        raise RateLimitSettingError(
            f"{setting}={value!r} is not a rate limit: use e.g. 600/minute, 10/second, or off"
        ) from None


class Decision(NamedTuple):  # a tuple: built on every API request, and cheaper than a frozen dataclass
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the window resets

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset_seconds).encode()),
        ]


class Limiter:
    """Counts hits per key in fixed windows, in memory or in Redis, and says whether each is allowed.

    Uses the storage's ``incr`` and ``get_expiry`` directly (what ``limits``' fixed-window strategy does,
    less its per-call key formatting, which cost more than the count itself on the hottest request).
    """

    def __init__(self, redis_url: str | None = None) -> None:
        self._redis: Storage | None = (
            RedisStorage(_async_redis_uri(redis_url), implementation="redispy", key_prefix=KEY_PREFIX)
            if redis_url
            else None
        )
        self._memory = None if redis_url else _QuietMemoryStorage()
        self._last_warning = 0.0

    async def hit(self, item: RateLimitItem, name: str, identifier: str) -> Decision:
        expiry = item.get_expiry()
        key = f"{name}/{item.amount}/{expiry}/{identifier}"
        if self._memory is not None:  # in process: plain calls, nothing to wait for
            count = self._memory.incr(key, expiry)
            reset_at = self._memory.get_expiry(key)
        else:
            assert self._redis is not None
            try:
                count = await self._redis.incr(key, expiry)
                reset_at = await self._redis.get_expiry(key)
            except Exception as exc:  # Redis down: fail open (see the module docstring)
                self._warn(exc)
                return Decision(True, item.amount, item.amount, expiry)
        reset = max(0, math.ceil(reset_at - time.time()))
        return Decision(count <= item.amount, item.amount, max(0, item.amount - count), reset)

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warning > 60:
            self._last_warning = now
            log.warning("rate limits are not enforced: Redis does not answer (%s)", exc)


class _QuietMemoryStorage(SyncMemoryStorage):
    """``limits``' in-memory storage, sweeping expired windows at most every 10 s.

    Its sweeper is a ``threading.Timer`` of 10 ms restarted by any hit after the last one fired: under load,
    a hundred thread starts a second, each stalling the event loop (measured: the month calendar read fell to
    a fifth of its rate). Expired windows are also dropped when read, so sweeping less often only leaves idle
    counters in memory a little longer.
    """

    SWEEP_SECONDS = 10.0
    _next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # the name ``limits`` calls (name-mangled)
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]


# ``limits`` wraps each storage method to turn the backend's exceptions into its own, and again for every
# subclass: a hit here went through six wrappers that only re-raise (memory raises nothing to translate),
# which cost as much as the count. The in-memory storage calls the methods themselves.
for _name in ("incr", "get", "get_expiry", "check", "reset", "clear"):
    setattr(_QuietMemoryStorage, _name, inspect.unwrap(getattr(_QuietMemoryStorage, _name)))


def _async_redis_uri(url: str) -> str:
    return url if url.startswith("async+") else f"async+{url}"


@dataclass(frozen=True)
class Limits:
    api: RateLimitItem | None
    credentials: RateLimitItem | None
    upload: RateLimitItem | None

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            api=parse_limit(settings.rate_limit, "TRAINERDAY_RATE_LIMIT"),
            credentials=parse_limit(settings.login_rate_limit, "TRAINERDAY_LOGIN_RATE_LIMIT"),
            upload=parse_limit(settings.upload_rate_limit, "TRAINERDAY_UPLOAD_RATE_LIMIT"),
        )


def _client_address(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def api_identity(scope: Scope) -> str:
    """Whom the API limit counts a request against: its credential, else its client address."""
    token = _token_identity(scope)
    return f"token:{token}" if token else f"ip:{_client_address(scope)}"


def _token_identity(scope: Scope) -> str | None:
    """A digest of the Authorization header: the count is per credential, and no token is ever stored."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return hashlib.blake2b(value, digest_size=16).hexdigest()
    return None


def too_many_requests(decision: Decision, what: str) -> Response:
    retry_after = max(1, decision.reset_seconds)
    response = problem_response(
        429,
        "rate-limited",
        f"too many {what}: at most {decision.limit} per window; retry in {retry_after} s",
        title="Too many requests",
        headers={"Retry-After": str(retry_after)},
        limit=decision.limit,
        retryAfterSeconds=retry_after,
    )
    response.raw_headers.extend(decision.headers())
    return response


class RateLimitMiddleware:
    """The per-token API limit and the per-address credential limit, checked before any route runs."""

    def __init__(self, app: ASGIApp, *, limiter: Limiter, limits: Limits) -> None:
        self.app = app
        self.limiter = limiter
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if _is_api(path) and self.limits.api is not None:
            decision = scope.pop(COUNTED_SCOPE_KEY, None)
            if decision is None:
                decision = await self.limiter.hit(self.limits.api, "api", api_identity(scope))
            if not decision.allowed:
                metrics.observe_rate_limited("api")
                await too_many_requests(decision, "requests")(scope, receive, send)
                return
            await self.app(scope, receive, _with_headers(send, decision.headers()))
            return
        if scope["method"] == "POST" and path in CREDENTIAL_PATHS and self.limits.credentials is not None:
            decision = await self.limiter.hit(self.limits.credentials, "credentials", _client_address(scope))
            if not decision.allowed:
                metrics.observe_rate_limited("credentials")
                await _credential_refusal(path, decision)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _is_api(path: str) -> bool:
    """The REST API and /mcp, whose tools are the same reads and writes: one budget per token for both."""
    return path.startswith(API_PREFIX) or path == MCP_PATH or path.startswith(MCP_PATH + "/")


def _credential_refusal(path: str, decision: Decision) -> Response:
    if path.startswith("/oauth/"):  # OAuth endpoints answer in RFC 6749's shape, whatever the error
        retry_after = str(max(1, decision.reset_seconds))
        return Response(
            orjson.dumps(
                {"error": "slow_down", "error_description": f"too many requests; retry in {retry_after} s"}
            ),
            status_code=429,
            media_type="application/json",
            headers={"Retry-After": retry_after, "Cache-Control": "no-store"},
        )
    return too_many_requests(decision, "attempts from this address")


def _with_headers(send: Send, headers: list[tuple[bytes, bytes]]) -> Callable[[Message], Awaitable[None]]:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *headers]
        await send(message)

    return send_with_headers


class RateLimited(Exception):
    """Raised inside a route (the per-athlete upload limit); rendered as the same 429 problem."""

    def __init__(self, decision: Decision, what: str) -> None:
        self.decision = decision
        self.what = what


async def upload_allowance(
    request: Request, me: Annotated[Principal, require_scope("activities:write")]
) -> None:
    """The per-athlete upload limit: a dependency of the upload route, checked before any decoding."""
    state = request.app.state
    item = state.rate_limits.upload
    if item is None:
        return
    decision = await state.rate_limiter.hit(item, "upload", str(me.athlete_id))
    if not decision.allowed:
        metrics.observe_rate_limited("upload")
        raise RateLimited(decision, "uploads")


UploadAllowance = Annotated[None, Depends(upload_allowance)]


async def _on_rate_limited(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RateLimited)
    return too_many_requests(exc.decision, exc.what)


def install(app: FastAPI, settings: Settings) -> None:
    """The limiter on ``app.state`` and its middleware (add before the observability layer, so 429s are
    logged and counted)."""
    app.state.rate_limits = limits = Limits.from_settings(settings)
    app.state.rate_limiter = limiter = Limiter(settings.redis_url)
    app.add_exception_handler(RateLimited, _on_rate_limited)
    if limits.api is not None or limits.credentials is not None:
        app.add_middleware(RateLimitMiddleware, limiter=limiter, limits=limits)
