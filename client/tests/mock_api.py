"""Helpers for the unit tests: a scripted ``httpx.MockTransport`` and API-shaped answers (no network)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Script:
    """A MockTransport that answers from a list of responses (or exceptions), recording each request."""

    answers: list[httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def problem(
    status: int, detail: str = "nope", headers: dict[str, str] | None = None, **extra: Any
) -> httpx.Response:
    body = {"type": "about:blank", "title": "t", "status": status, "detail": detail, **extra}
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/problem+json", **(headers or {})},
    )


ATHLETE = {
    "id": 7,
    "name": "Ada",
    "email": "ada@example.com",
    "weightKg": 64.5,
    "ftp": 250,
    "lthr": None,
    "maxHeartRate": None,
    "restingHeartRate": None,
    "timezone": "Europe/Berlin",
    "units": "metric",
    "powerZones": [{"zone": 1, "name": "Active Recovery", "minWatts": 0, "maxWatts": 137}],
    "heartRateZones": [],
}


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


WORKOUT = {
    "id": 3,
    "title": "Easy",
    "description": "",
    "tags": [],
    "durationMinutes": 10,
    "segments": [[10, 50, 50]],
    "metrics": {
        "durationSeconds": 600,
        "normalizedPower": 125.0,
        "intensityFactor": 0.5,
        "tss": 4.2,
        "workKj": 75.0,
        "timeInZones": [600, 0, 0, 0, 0, 0, 0],
        "dominantZone": 1,
    },
    "createdAt": "2026-12-06T05:00:00.000Z",
    "updatedAt": "2026-12-06T05:00:00.000Z",
}
