"""Every error the SDK raises is a ``TrainerDayError``:

    TrainerDayError                 anything that went wrong talking to the API
    ├── APIConnectionError          no answer: connection refused, reset or timed out (after the retries)
    └── APIStatusError              the server answered with an error status (``status_code``, ``problem``)
        ├── AuthenticationError     401: no usable token (also the OAuth token endpoint's ``invalid_grant``…)
        │   └── OAuthError          an OAuth endpoint refused (RFC 6749 ``error`` and ``error_description``)
        ├── PermissionDeniedError   403: the token lacks the operation's scope (``required_scope``)
        ├── NotFoundError           404: no such thing, or not yours
        ├── ConflictError           409: a duplicate (``existing_id``) or an Idempotency-Key reused
        ├── RateLimitError          429: too many requests (``retry_after`` seconds, when the server said)
        ├── ValidationError         400/413/415/422: refused as sent (``errors``: each field's problem)
        └── ServerError             5xx: the server failed (a 503 after the retries; ``retry_after``)

Catch ``TrainerDayError`` to handle everything; the subclasses let you handle one situation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "AuthenticationError",
    "ConflictError",
    "FieldError",
    "NotFoundError",
    "OAuthError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "TrainerDayError",
    "ValidationError",
]


class TrainerDayError(Exception):
    """The base of every error the SDK raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class APIConnectionError(TrainerDayError):
    """The server could not be reached, or did not answer in time, even after retrying."""


class APIStatusError(TrainerDayError):
    """The server answered with an error. ``problem`` is its RFC 9457 body (``{}`` when it sent none)."""

    def __init__(self, message: str, *, response: httpx.Response, problem: dict[str, Any]) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = response.status_code
        self.problem = problem

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked to wait before trying again (``Retry-After``, on a 429 or 503)."""
        from trainerday._retry import parse_retry_after

        return parse_retry_after(self.response.headers.get("retry-after"))


class AuthenticationError(APIStatusError):
    """401: the token is missing, unknown, expired or revoked."""


class OAuthError(AuthenticationError):
    """An OAuth endpoint refused the request: ``error`` is the RFC 6749 code (``invalid_grant``...)."""

    def __init__(self, message: str, *, response: httpx.Response, problem: dict[str, Any]) -> None:
        super().__init__(message, response=response, problem=problem)
        self.error = str(problem.get("error", ""))
        self.error_description = problem.get("error_description")


class PermissionDeniedError(APIStatusError):
    """403: the token lacks the scope the operation needs (``required_scope``)."""

    @property
    def required_scope(self) -> str | None:
        scope = self.problem.get("scope")
        if isinstance(scope, str):
            return scope
        found = re.search(r'scope="([^"]*)"', self.response.headers.get("www-authenticate", ""))
        return found.group(1) if found else None


class NotFoundError(APIStatusError):
    """404: no such thing, or another athlete's (the API does not tell them apart)."""


class ConflictError(APIStatusError):
    """409: a duplicate. ``existing_id`` is the id of what is already stored (e.g. the activity a file
    duplicates), or None when the conflict is an Idempotency-Key reused for another request."""

    @property
    def existing_id(self) -> int | None:
        for key, value in self.problem.items():
            if key.startswith("existing") and key.endswith("Id") and isinstance(value, int):
                return value
        return None


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` is how many seconds the server asked to wait, if it said."""


@dataclass(frozen=True)
class FieldError:
    """One invalid field: its path in the request (``embedWorkout.segments[1][2]``) and what is wrong."""

    field: str
    message: str


class ValidationError(APIStatusError):
    """The request was refused as sent (400, 413, 415, 422). ``errors`` lists each invalid field."""

    @property
    def errors(self) -> list[FieldError]:
        found = self.problem.get("errors")
        if not isinstance(found, list):
            return []
        return [
            FieldError(str(item.get("field", "")), str(item.get("message", "")))
            for item in found
            if isinstance(item, dict)
        ]


class ServerError(APIStatusError):
    """5xx: the server failed. Not your request's fault; trying again later may work."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: ValidationError,
    415: ValidationError,
    422: ValidationError,
    429: RateLimitError,
}


def _problem_of(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def error_from_response(response: httpx.Response, *, oauth: bool = False) -> APIStatusError:
    """The exception for an error answer: its class from the status, its message from the problem body."""
    problem = _problem_of(response)
    status = response.status_code
    if oauth and "error" in problem:
        description = problem.get("error_description") or problem["error"]
        return OAuthError(f"{problem['error']}: {description}", response=response, problem=problem)
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else APIStatusError)
    detail = problem.get("detail") or problem.get("title") or response.reason_phrase or "error"
    return kind(f"{status} {detail}", response=response, problem=problem)
