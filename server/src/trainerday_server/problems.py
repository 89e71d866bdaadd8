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
import psycopg
from fastapi import FastAPI, Request, params
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
    431: "Request header fields too large",
    500: "Internal server error",
    503: "Service unavailable",
}
# How long a client should wait before retrying a request the database was too busy to take.
BUSY_RETRY_AFTER_SECONDS = 1
UNAVAILABLE_RETRY_AFTER_SECONDS = 5


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


def _is_json_media_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _unsupported_media_type(request: Request) -> Response | None:
    """415 for a route that reads a JSON body sent another media type (FastAPI would not parse it, and
    report the body as invalid): the client learns what is actually wrong. A missing body stays a 400."""
    content_type = request.headers.get("content-type")
    route = request.scope.get("route")
    body = getattr(route, "body_field", None)
    if body is None or isinstance(body.field_info, params.Form):
        return None
    if content_type is None:
        if request.headers.get("content-length", "0") == "0" and "transfer-encoding" not in request.headers:
            return None
        sent = "no Content-Type"
    elif _is_json_media_type(content_type):
        return None
    else:
        sent = f"Content-Type {content_type}"
    return problem_response(
        415,
        "unsupported-media-type",
        f"this endpoint takes a JSON body (Content-Type: application/json); the request has {sent}",
        accepted=["application/json"],
    )


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if any(error.get("loc", ())[:1] == ("body",) for error in exc.errors()):
        unsupported = _unsupported_media_type(request)
        if unsupported is not None:
            return unsupported
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
    # Every 400 carries ``errors``; a framework 400 (an unreadable form or multipart body) names the body.
    errors = [{"field": "body", "message": detail}] if exc.status_code == 400 else None
    return problem_response(
        exc.status_code, slug, detail, errors=errors, headers=getattr(exc, "headers", None)
    )


async def _on_database_data_error(request: Request, exc: Exception) -> Response:
    # Inputs are checked for NUL characters where they enter; this catches any path that was missed, so a
    # client's bad text is still a 400 on PostgreSQL (which cannot store NUL), never a 500.
    if "NUL" in str(getattr(exc, "orig", exc)):
        return problem_response(
            400,
            "validation-error",
            "text must not contain NUL characters",
            errors=[{"field": "body", "message": "must not contain NUL characters"}],
        )
    return await _on_unexpected(request, exc)


def is_database_busy(exc: BaseException) -> bool:
    """The database could not take this request now, and a retry soon may succeed: SQLite's write lock
    held past the busy timeout, or a PostgreSQL lock, deadlock or serialization conflict."""
    original = getattr(exc, "orig", exc)
    if "database is locked" in str(original) or "database is busy" in str(original):
        return True
    # PostgreSQL SQLSTATEs: serialization_failure, deadlock_detected, lock_not_available, query_canceled
    # (a statement timeout: the token lookups set one, see ``db._AsyncLookups``).
    return getattr(original, "sqlstate", None) in ("40001", "40P01", "55P03", "57014")


def busy_response() -> Response:
    return problem_response(
        503,
        "database-busy",
        "the database is busy with other writes; nothing was changed, retry in a moment",
        headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
    )


def is_database_unreachable(exc: BaseException) -> bool:
    """PostgreSQL could not be reached or dropped the connection: down, restarting, or its backends killed
    (a retry is already made once on a new connection where that is safe, see ``db``)."""
    original = getattr(exc, "orig", exc)
    if not isinstance(original, psycopg.OperationalError):
        return False
    # No SQLSTATE: the connection failed or was lost; class 08: connection exception; 57P01-57P03: the
    # server is shutting down, crashed, or not yet accepting connections.
    sqlstate = original.sqlstate
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in ("57P01", "57P02", "57P03")


def unavailable_response() -> Response:
    return problem_response(
        503,
        "database-unavailable",
        "the database cannot be reached at the moment; retry in a moment",
        headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)},
    )


async def _on_database_error(request: Request, exc: Exception) -> Response:
    if is_database_busy(exc):
        log.warning("database busy: answered 503 (%s)", getattr(exc, "orig", exc))
        return busy_response()
    if is_database_unreachable(exc):
        log.error("database unreachable: answered 503 (%s)", getattr(exc, "orig", exc))
        return unavailable_response()
    return await _on_unexpected(request, exc)


async def _on_unexpected(_request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return internal_error_response()


def internal_error_response() -> Response:
    return problem_response(
        500, "internal-error", "the server failed to handle this request; it has been logged"
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TrainerDayError, _on_domain_error)
    app.add_exception_handler(BearerError, _on_bearer_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(sa_exc.DataError, _on_database_data_error)
    app.add_exception_handler(sa_exc.OperationalError, _on_database_error)
    app.add_exception_handler(sa_exc.DBAPIError, _on_database_error)
    app.add_exception_handler(psycopg.OperationalError, _on_database_error)  # raw lookups (db.RawQuery)
    app.add_exception_handler(Exception, _on_unexpected)
