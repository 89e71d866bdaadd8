"""One renderer for every API error: RFC 9457 ``application/problem+json``.

Domain errors (``errors.TrainerDayError``), bearer failures (with their RFC 6750 challenge), request
validation and routing errors all come out in the same shape: ``type``, ``title``, ``status``, ``detail`` and,
for invalid input, ``errors`` listing each field. Unexpected exceptions are logged and answered with a
bare 500 problem.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from trainerday_server.auth.bearer import BearerError
from trainerday_server.errors import FieldError, TrainerDayError

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://trainerday.example/problems/"  # stable identifiers; documented in docs/api.md

_HTTP_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    411: "Length required",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
}


def problem_response(
    status: int,
    slug: str,
    detail: str,
    *,
    title: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title or _HTTP_TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    # ("body", "embedWorkout", "segments", 0) -> "embedWorkout.segments[0]"; ("query", "endDate") -> "endDate"
    parts = (
        [p for p in loc[1:]] if loc and loc[0] in ("body", "query", "path", "header", "form") else list(loc)
    )
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or (str(loc[0]) if loc else "request")


def _validation_errors(exc: RequestValidationError) -> list[FieldError]:
    errors = []
    for error in exc.errors():
        message = error.get("msg", "invalid value")
        if error.get("type") == "missing":
            message = "is required"
        elif error.get("type") == "json_invalid":
            message = f"the body is not valid JSON ({error.get('ctx', {}).get('error', 'parse error')})"
        errors.append(FieldError(_field_path(tuple(error.get("loc", ()))), message))
    return errors


async def _on_domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TrainerDayError)
    errors = [e.as_dict() for e in getattr(exc, "errors", ())] or None
    if errors is None and exc.status in (400, 422):
        errors = []
    return problem_response(exc.status, exc.slug, exc.detail, title=exc.title, errors=errors, **exc.extra)


async def _on_bearer_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BearerError)
    slug = {401: "unauthorized", 403: "insufficient-scope", 400: "invalid-request"}[exc.status]
    extra: dict[str, Any] = {"scope": exc.scope} if exc.scope else {}
    if exc.status == 400:  # the only one: a token in the query string
        extra["errors"] = [{"field": "access_token", "message": exc.detail}]
    return problem_response(
        exc.status, slug, exc.detail, headers={"WWW-Authenticate": exc.challenge()}, **extra
    )


async def _on_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    first = errors[0] if errors else FieldError("request", "invalid")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return problem_response(
        400,
        "validation-error",
        f"{first.field}: {first.message}{more}",
        title="Invalid request",
        errors=[e.as_dict() for e in errors],
    )


async def _on_http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, f"http-{exc.status_code}")
    detail = exc.detail if isinstance(exc.detail, str) else _HTTP_TITLES.get(exc.status_code, "Error")
    return problem_response(exc.status_code, slug, detail, headers=getattr(exc, "headers", None))


async def _on_database_data_error(request: Request, exc: Exception) -> Response:
    # Inputs are checked for NUL characters where they enter; this catches any path that was missed, so a
    # client's bad text is still a 400 on PostgreSQL (which cannot store NUL), never a 500.
    if "NUL" in str(getattr(exc, "orig", exc)):
        return problem_response(400, "validation-error", "text must not contain NUL characters", errors=[])
    return await _on_unexpected(request, exc)


async def _on_unexpected(_request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return problem_response(
        500, "internal-error", "the server failed to handle this request; it has been logged"
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TrainerDayError, _on_domain_error)
    app.add_exception_handler(BearerError, _on_bearer_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(sa_exc.DataError, _on_database_data_error)
    app.add_exception_handler(Exception, _on_unexpected)
