"""Prometheus metrics (``prometheus-client``), safe with several worker processes.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``serve --workers N`` sets it to a fresh directory when N > 1 and the
operator has not), every process writes its samples to memory-mapped files there and ``/metrics`` sums them,
so a scrape that lands on any one worker sees them all. The variable must be set before this module is first
imported, which is why ``serve`` sets it before the workers start.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.engine import Engine

from trainerday_server.observability.multiprocess import MULTIPROCESS_ENV

REQUESTS = Histogram(
    "trainerday_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status (its _count counts requests).",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
UPLOADS = Counter("trainerday_activity_uploads_total", "Activity uploads stored, by file format.", ["format"])
UPLOAD_BYTES = Histogram(
    "trainerday_activity_upload_bytes",
    "Size of stored activity uploads as sent, by file format.",
    ["format"],
    buckets=(16e3, 64e3, 256e3, 1e6, 4e6, 16e6, 64e6),
)
RATE_LIMITED = Counter(
    "trainerday_rate_limited_total", "Requests refused with 429, by the limit that refused them.", ["limit"]
)
DB_CONNECTIONS_IN_USE = Gauge(
    "trainerday_db_pool_connections_in_use",
    "Database connections checked out of the pool now (all processes).",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "trainerday_db_pool_size",
    "Connections the pool keeps open without overflow, per process.",
    multiprocess_mode="max",
)

# One child per (method, route, status): labels() takes a lock and builds a key on every call; a dict read
# does not. Routes are templates, methods and statuses few, so this stays small.
_request_children: dict[tuple[str, str, int], Any] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status)
    child = _request_children.get(key)
    if child is None:
        child = _request_children[key] = REQUESTS.labels(method, route, str(status))
    child.observe(seconds)


def observe_upload(file_format: str, size: int) -> None:
    UPLOADS.labels(file_format).inc()
    UPLOAD_BYTES.labels(file_format).observe(size)


def observe_rate_limited(limit: str) -> None:
    RATE_LIMITED.labels(limit).inc()


def watch_pool(engine: Engine) -> None:
    """Count connections in use through pool events (cheap, and summed across processes)."""
    size = getattr(engine.pool, "size", None)
    if callable(size):
        DB_POOL_SIZE.set(size())
    if getattr(engine, "_trainerday_pool_watched", False):  # one engine may serve several apps (tests)
        return
    engine._trainerday_pool_watched = True  # type: ignore[attr-defined]
    event.listen(engine, "checkout", lambda *_: DB_CONNECTIONS_IN_USE.inc())
    event.listen(engine, "checkin", lambda *_: DB_CONNECTIONS_IN_USE.dec())


def exposition() -> tuple[bytes, str]:
    """The metrics in the text exposition format: this process's, or every process's in multi-process mode."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def process_exited(pid: int) -> None:
    """Drop a finished worker's live gauges from the sums (its counters stay counted)."""
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.mark_process_dead(pid)
