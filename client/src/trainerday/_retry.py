"""When to try a request again, and how long to wait first.

Retried: a connection that could not be made (nothing reached the server), a 429 and a 503. A request that
may have reached the server (a read timeout, a dropped connection) is retried only when repeating it cannot
do anything twice: GET, HEAD, PUT, DELETE, PATCH, or a POST carrying an ``Idempotency-Key`` (every create the
SDK sends carries one). Waits grow exponentially with full jitter, so many clients do not retry in step, and
a ``Retry-After`` from the server is honoured; one longer than ``max_delay`` is not waited for: the
``RateLimitError`` or ``ServerError`` is raised at once, carrying it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from dataclasses import dataclass, field

import httpx

RETRY_STATUSES = frozenset({429, 503})
_REPEATABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None if absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """``max_retries`` further attempts after the first; waits of ``base_delay`` x 2**attempt seconds with
    full jitter, at most ``max_delay``."""

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    random: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def repeatable(self, request: httpx.Request) -> bool:
        return request.method in _REPEATABLE_METHODS or "idempotency-key" in request.headers

    def retry_on_error(self, request: httpx.Request, error: httpx.TransportError, attempt: int) -> bool:
        if attempt >= self.max_retries:
            return False
        if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            return True  # the request never reached the server
        return self.repeatable(request)

    def retry_on_status(self, response: httpx.Response, attempt: int) -> bool:
        if attempt >= self.max_retries or response.status_code not in RETRY_STATUSES:
            return False
        asked = parse_retry_after(response.headers.get("retry-after"))
        # Asked to wait longer than we ever would: retrying sooner would only be refused again, so the
        # error (with its retry_after) goes to the caller at once.
        return asked is None or asked <= self.max_delay

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """How long to wait before retry number ``attempt + 1`` (attempt counts from 0)."""
        if response is not None:
            asked = parse_retry_after(response.headers.get("retry-after"))
            if asked is not None:
                return min(asked, self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * 2**attempt)
        return self.random.uniform(0, ceiling)
