"""HTTP hygiene that holds for every route, present and future, as ASGI middleware.

- ``RequestGuards``: header limits (431), ``HEAD`` for every ``GET`` route, ``nosniff`` on every response,
  RFC 6749 error JSON on the OAuth token endpoints even for errors raised before their handler runs (413,
  an unreadable form), and the API explorer's Content-Security-Policy and framing headers.
- ``ApiCors``: CORS for the API, the token endpoints and the OAuth metadata, from ``TRAINERDAY_CORS_ORIGINS``
  only; requests from other origins pass as if CORS did not exist (the browser then refuses them).

``install_guards`` adds them all; call it last in ``create_app`` so they wrap everything else.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

import orjson
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trainerday_server.problems import PROBLEM_MEDIA_TYPE, problem_response

MAX_HEADER_COUNT = 100
MAX_HEADER_BYTES = 16 * 1024  # every name and value together; browsers send 1-3 KiB, nginx allows 32 KiB
OAUTH_FORM_PATHS = ("/oauth/token",)  # the token, revocation and introspection endpoints
CORS_PATHS = ("/api/", "/oauth/token", "/.well-known/oauth-authorization-server")
EXPLORER_PATHS = ("/docs", "/docs/oauth2-redirect")


NOSNIFF = (b"x-content-type-options", b"nosniff")


def headers_within_limits(headers: list[tuple[bytes, bytes]]) -> bool:
    return len(headers) <= MAX_HEADER_COUNT and sum(len(n) + len(v) for n, v in headers) <= MAX_HEADER_BYTES


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class RequestGuards:
    """Every guard but CORS, in one middleware layer (each layer costs the hottest request a few µs):

    - 431 for more than ``MAX_HEADER_COUNT`` request headers or ``MAX_HEADER_BYTES`` of them in all (the
      served protocol in ``serving`` refuses them earlier, while they are read; this holds under any
      ASGI server);
    - ``HEAD`` served as ``GET`` without the body: the same status and headers, Content-Length included;
    - ``X-Content-Type-Options: nosniff`` on every response;
    - on the OAuth token endpoints, problem+json answers given before their handler runs (413, an
      unreadable form, 405...) turned into RFC 6749 error JSON (``_OAuthErrorShape``);
    - on the API explorer (/docs), a Content-Security-Policy allowing exactly its own scripts, and no
      framing (``_explorer``).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not headers_within_limits(scope["headers"]):
            await _refuse_headers(scope, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        path = scope["path"]
        if path in EXPLORER_PATHS:
            await _explorer(self.app, scope, receive, _without_body(send) if head else send)
            return
        if path.startswith(OAUTH_FORM_PATHS):
            await _OAuthErrorShape(self.app)(scope, receive, _nosniff(_without_body(send) if head else send))
            return

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = _add_nosniff(message)
            elif head:
                if message.get("more_body", False):
                    return
                message = _EMPTY_BODY
            await send(message)

        await self.app(scope, receive, guarded_send)


_NOSNIFF = (NOSNIFF,)
_EMPTY_BODY: Message = {"type": "http.response.body", "body": b""}


_NOSNIFF_NAME = b"x-content-type-options"


def _add_nosniff(message: Message) -> Message:
    """The response start with ``nosniff`` added, unless the app set the header itself. (The hottest path:
    Starlette's header list is extended in place rather than copied.)"""
    headers = message.get("headers")
    if isinstance(headers, list):
        for name, _value in headers:
            if name == _NOSNIFF_NAME:
                return message
        headers.append(_NOSNIFF[0])
        return message
    return _with_headers(message, _NOSNIFF)


def _without_body(send: Send) -> Send:
    async def without_body(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = _EMPTY_BODY
        await send(message)

    return without_body


def _nosniff(send: Send) -> Send:
    async def with_nosniff(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = _add_nosniff(message)
        await send(message)

    return with_nosniff


async def _refuse_headers(scope: Scope, send: Send) -> None:
    headers = scope["headers"]
    size = sum(len(name) + len(value) for name, value in headers)
    response = problem_response(
        431,
        "header-fields-too-large",
        f"the request has {len(headers)} header fields of {size:,} bytes in all; at most "
        f"{MAX_HEADER_COUNT} fields and {MAX_HEADER_BYTES:,} bytes are accepted",
        headers={"Connection": "close", "X-Content-Type-Options": "nosniff"},
    )
    await response(scope, _no_body, send)


_OAUTH_ERRORS = {
    413: "invalid_request",
    415: "invalid_request",
    400: "invalid_request",
    405: "invalid_request",
    429: "temporarily_unavailable",
    503: "temporarily_unavailable",
}


class _OAuthErrorShape:
    """On the OAuth form endpoints, turn any problem+json answer (413, 415, a form that cannot be parsed, 405,
    503...) into RFC 6749 error JSON with the same status, so OAuth client libraries can read it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(OAUTH_FORM_PATHS):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def reshape(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if content_type.startswith(PROBLEM_MEDIA_TYPE.encode()):
                    start = message
                    return
                await send(message)
            elif start is not None:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await _send_oauth_error(start, b"".join(chunks), send)
            else:
                await send(message)

        await self.app(scope, receive, reshape)


async def _send_oauth_error(start: Message, problem: bytes, send: Send) -> None:
    status = start["status"]
    try:
        detail = str(orjson.loads(problem).get("detail", ""))
    except (orjson.JSONDecodeError, AttributeError):
        detail = ""
    error = _OAUTH_ERRORS.get(status, "server_error" if status >= 500 else "invalid_request")
    body = orjson.dumps({"error": error, "error_description": detail} if detail else {"error": error})
    kept = [
        (k, v)
        for k, v in start.get("headers", [])
        if k not in (b"content-type", b"content-length", b"cache-control")
    ]
    headers = [
        *kept,
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"pragma", b"no-cache"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def explorer_csp(html: bytes) -> str:
    """The explorer's policy: its own scripts and styles, plus exactly the inline scripts on this page."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        "default-src 'none'; "
        f"script-src 'self' {hashes}; "
        "style-src 'self' 'unsafe-inline'; "  # Swagger UI sets style attributes from its script
        "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


async def _explorer(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """The explorer page with its policy: the page is buffered (a few KiB) to hash its inline scripts."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def with_policy(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False) or start is None:
            return
        page = b"".join(chunks)
        extra = [
            (b"x-content-type-options", b"nosniff"),
            (b"content-security-policy", explorer_csp(page).encode()),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
        ]
        await send(_with_headers(start, extra))
        await send({"type": "http.response.body", "body": page})

    await app(scope, receive, with_policy)


def _with_headers(message: Message, extra: Iterable[tuple[bytes, bytes]]) -> Message:
    headers = list(message.get("headers", []))
    present = {name.lower() for name, _ in headers}
    headers += [(name, value) for name, value in extra if name not in present]
    return {**message, "headers": headers}


def parse_origins(value: str | None) -> list[str]:
    """``TRAINERDAY_CORS_ORIGINS``: origins separated by commas or spaces (``*`` for any)."""
    return [o.strip().rstrip("/") for o in re.split(r"[,\s]+", value or "") if o.strip()]


class ApiCors:
    """CORS from the configured origins on the API and token endpoints only. No credentials: the API is
    called with bearer tokens, never cookies, so a page from an allowed origin gains nothing from a
    visitor's session on this site."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.any_origin = "*" in origins
        self.origins = {o.encode() for o in origins}
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            expose_headers=["Location", "WWW-Authenticate", "Retry-After", "Content-Disposition"],
            allow_credentials=False,
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(CORS_PATHS):
            origin = _header(scope, b"origin")
            if origin is not None and (self.any_origin or origin in self.origins):
                await self.cors(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install_guards(app: FastAPI, cors_origins: list[str]) -> None:
    """Wrap the app in the guards (outermost last): CORS sees every answer, HEAD is GET for all inside."""
    app.add_middleware(RequestGuards)
    if cors_origins:
        app.add_middleware(ApiCors, origins=cors_origins)
