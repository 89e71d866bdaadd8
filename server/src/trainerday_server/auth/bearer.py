"""Bearer authentication (RFC 6750) and scope checks: the one dependency every /api/v1 route uses.

A token's prefix says which resolver knows it (``td_`` personal API keys; OAuth access tokens register their
own), so new kinds of token plug in without touching this module. Failures answer as RFC 6750 asks:
401 with a ``WWW-Authenticate: Bearer`` challenge (``error="invalid_token"`` when a token was sent), 403
``insufficient_scope`` naming the scope needed, 400 ``invalid_request`` for a token in the query string.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from fastapi import Request
from fastapi.openapi.models import OAuth2 as OAuth2Model
from fastapi.openapi.models import OAuthFlowAuthorizationCode, OAuthFlows
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase

from trainerday_server.auth.principal import Principal
from trainerday_server.auth.scopes import SCOPES
from trainerday_server.auth.tokens import is_wellformed

REALM = "trainerday"
PRINCIPAL_SCOPE_KEY = "trainerday.principal"  # read by observability.middleware
log = logging.getLogger(__name__)


class TokenResolver(Protocol):
    """Knows one kind of bearer token: its principal, or None when it is unknown, revoked or expired."""

    prefix: str

    async def resolve(self, token: str) -> Principal | None: ...

    def touch(self, principal: Principal) -> None:
        """Record that the credential was just used (called at most once a minute per credential)."""


@dataclass
class BearerError(Exception):
    """An authentication or authorisation failure, rendered with its RFC 6750 challenge."""

    status: int
    error: str | None  # RFC 6750 error code; None for a bare challenge (no credentials sent)
    detail: str
    scope: str | None = None

    def challenge(self) -> str:
        parts = [f'realm="{REALM}"']
        if self.error:
            parts.append(f'error="{self.error}"')
            parts.append(f'error_description="{self.detail}"')
        if self.scope:
            parts.append(f'scope="{self.scope}"')
        return "Bearer " + ", ".join(parts)


TOUCH_INTERVAL_SECONDS = 60.0
MAX_TRACKED_CREDENTIALS = 10_000


class Authenticator:
    """Turns a bearer token into a Principal through the resolver that owns the token's prefix.

    Lookups never block the event loop and never hop to a thread: on SQLite they are in-process calls of
    ~10 µs, on PostgreSQL queries over an asyncio connection (see ``db.RawQuery``). Recording ``last used``
    is a write, so it always happens off the event loop, at most once a minute per credential per process,
    and never delays the request.
    """

    def __init__(
        self,
        resolvers: Sequence[TokenResolver],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolvers: list[TokenResolver] = []
        self._clock = clock
        self._last_touch: dict[tuple[str, int], float] = {}
        for resolver in resolvers:
            self.add(resolver)

    def add(self, resolver: TokenResolver) -> None:
        # Longest prefix first, so "td_" cannot shadow a longer prefix that starts with it.
        self._resolvers = sorted([*self._resolvers, resolver], key=lambda r: len(r.prefix), reverse=True)

    def _resolver_for(self, token: str) -> TokenResolver | None:
        return next((r for r in self._resolvers if token.startswith(r.prefix)), None)

    async def authenticate(self, token: str) -> Principal | None:
        resolver = self._resolver_for(token)
        if resolver is None:
            return None
        principal = await resolver.resolve(token)
        if principal is not None and self._touch_due(principal):
            asyncio.get_running_loop().run_in_executor(None, _touch_quietly, resolver, principal)
        return principal

    def _touch_due(self, principal: Principal) -> bool:
        key = (principal.kind, principal.credential_id)
        now = self._clock()
        if now - self._last_touch.get(key, -TOUCH_INTERVAL_SECONDS) < TOUCH_INTERVAL_SECONDS:
            return False
        if len(self._last_touch) >= MAX_TRACKED_CREDENTIALS:
            # Entries older than the interval are due anyway; dropping them loses nothing.
            self._last_touch = {k: t for k, t in self._last_touch.items() if now - t < TOUCH_INTERVAL_SECONDS}
        self._last_touch[key] = now
        return True


def _touch_quietly(resolver: TokenResolver, principal: Principal) -> None:
    try:
        resolver.touch(principal)
    except Exception:  # bookkeeping only: never worth failing or logging loudly for
        log.warning(
            "could not record last use of %s %s", principal.kind, principal.credential_id, exc_info=True
        )


def bearer_token(request: Request) -> str:
    """The token from ``Authorization: Bearer``; raises the RFC 6750 error for anything else."""
    # Read from the raw request: every API request passes here, and parsing the whole query string and
    # header list into Starlette's structures cost more than the check (the substring tests rule most out).
    scope = request.scope
    query = scope.get("query_string", b"")
    # Parsed only when the name may be there, spelt out or percent-encoded (``access%5Ftoken`` is the same
    # parameter to every client library and proxy log, so it is refused alike).
    if (b"access_token" in query or b"%" in query) and "access_token" in request.query_params:
        raise BearerError(400, "invalid_request", "send the token in the Authorization header, not the URL")
    header = next((v for k, v in scope["headers"] if k == b"authorization"), b"").decode("latin-1")
    if not header:
        raise BearerError(401, None, "authentication required: send Authorization: Bearer <token>")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        raise BearerError(401, None, "authentication required: use the Bearer scheme")
    token = token.strip()
    if not token or not is_wellformed(token):
        raise BearerError(401, "invalid_token", "the access token is malformed")
    return token


class BearerAuth(SecurityBase):
    """FastAPI security dependency: authenticates the request and checks the route's scopes.

    Declared as OAuth 2.0 in OpenAPI so each route documents the scope it needs; personal API keys are sent
    the same way (``Authorization: Bearer td_...``) and carry the same scopes.
    """

    def __init__(self) -> None:
        self.scheme_name = "oauth2"
        self.model = OAuth2Model(
            flows=OAuthFlows(
                authorizationCode=OAuthFlowAuthorizationCode(
                    authorizationUrl="/oauth/authorize", tokenUrl="/oauth/token", scopes=SCOPES
                )
            ),
            description="OAuth 2.0 access tokens, or personal API keys (td_...) sent as Bearer tokens.",
        )

    async def __call__(self, request: Request, security_scopes: SecurityScopes) -> Principal:
        return await authenticate_request(request, *security_scopes.scopes)


async def authenticate_request(request: Request, *scopes: str) -> Principal:
    """The caller's principal, holding every scope given; raises BearerError otherwise."""
    token = bearer_token(request)
    authenticator: Authenticator = request.app.state.authenticator
    principal = await authenticator.authenticate(token)
    if principal is None:
        raise BearerError(401, "invalid_token", "the access token is unknown, revoked or expired")
    if principal.audience is not None:
        # RFC 8707: a token for another resource (the MCP endpoint) is no good here, whatever its scopes.
        raise BearerError(
            401, "invalid_token", "the access token was issued for another resource (RFC 8707), not this API"
        )
    request.scope[PRINCIPAL_SCOPE_KEY] = principal  # for the access log: who called (never their token)
    for scope in scopes:
        check_scope(principal, scope)
    return principal


def check_scope(principal: Principal, scope: str, needed_for: str = "this request") -> None:
    """Require one more scope of an authenticated caller, for what only some requests to a route do."""
    if scope not in principal.scopes:
        raise BearerError(403, "insufficient_scope", f"{needed_for} needs the {scope} scope", scope=scope)


bearer_auth = BearerAuth()
