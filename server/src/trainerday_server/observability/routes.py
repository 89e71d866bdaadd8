"""Operator endpoints outside the API: ``/readyz`` and ``/metrics`` (not in the OpenAPI document)."""

from __future__ import annotations

import hmac

import orjson
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from trainerday_server.observability import metrics
from trainerday_server.observability.readiness import readiness
from trainerday_server.problems import problem_response

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> Response:
    """200 when ready; 503 and the failing checks otherwise (a load balancer then stops sending traffic)."""
    ready, checks = await run_in_threadpool(readiness, request.app.state)
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    return Response(
        orjson.dumps(body), status_code=200 if ready else 503, media_type="application/json", headers=NO_STORE
    )


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    """Prometheus text exposition; with ``TRAINERDAY_METRICS_TOKEN`` set, only for a scraper that sends it."""
    token = request.app.state.settings.metrics_token
    if token:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return problem_response(
                401,
                "unauthorized",
                "send Authorization: Bearer <TRAINERDAY_METRICS_TOKEN>",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"', **NO_STORE},
            )
    body, content_type = await run_in_threadpool(metrics.exposition)
    return Response(body, media_type=content_type, headers=NO_STORE)
