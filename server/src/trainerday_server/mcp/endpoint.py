"""The HTTP side of /mcp: who is calling, refused as the MCP authorization specification asks, and the
RFC 9728 protected resource metadata that tells an MCP client where to get a token.

A request reaches the SDK's transport only with a token this endpoint accepts: a personal API key (``td_``,
for assistants configured by hand), or an OAuth access token issued for this endpoint (RFC 8707 ``resource``
= ``<base URL>/mcp``). OAuth tokens issued for the REST API are refused here, as MCP-bound tokens are refused
by the REST API: a token is only good at the resource the athlete consented to. Every refusal is a 401 with
``WWW-Authenticate: Bearer resource_metadata="<base URL>/.well-known/oauth-protected-resource/mcp"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, Request
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from trainerday_server.auth.bearer import PRINCIPAL_SCOPE_KEY, REALM, Authenticator
from trainerday_server.auth.principal import Principal
from trainerday_server.auth.scopes import SCOPES
from trainerday_server.auth.tokens import is_wellformed
from trainerday_server.oauth2.server import MCP_PATH, mcp_resource

METADATA_PATH = "/.well-known/oauth-protected-resource"
# The request scope key the tools read their caller from (the SDK hands tools the HTTP request).
CALLER_KEY = "trainerday.caller"

router = APIRouter(include_in_schema=False)


def base_url(state: Any) -> str:
    return str(state.settings.base_url).rstrip("/")


def resource_metadata_url(state: Any) -> str:
    """RFC 9728 3.1: the well-known path inserted between the host and the resource's path."""
    return base_url(state) + METADATA_PATH + MCP_PATH


def protected_resource_metadata(state: Any) -> dict[str, Any]:
    base = base_url(state)
    return {
        "resource": mcp_resource(base),
        "authorization_servers": [base],
        "scopes_supported": sorted(SCOPES),
        "bearer_methods_supported": ["header"],
        "resource_name": "TrainerDay MCP",
        "resource_documentation": f"{base}/docs",
    }


@router.get(METADATA_PATH + MCP_PATH)
@router.get(METADATA_PATH)
def resource_metadata(request: Request) -> JSONResponse:
    """RFC 9728 metadata of the MCP endpoint, at its own well-known path and at the root one (where MCP
    clients look when no path-specific document is found)."""
    return JSONResponse(protected_resource_metadata(request.app.state))


@dataclass(frozen=True)
class Caller:
    """Who an MCP request acts for, and the application state the tools work with."""

    principal: Principal
    state: Any


class McpAuthentication:
    """ASGI wrapper in front of the SDK's transport: refuses foreign origins and requests without a token
    this endpoint accepts; otherwise records the caller in the request scope and calls ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.route: Any = None  # the Route serving this app (``mcp_route``), named in the access log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope["app"].state
        if self.route is not None:
            # A plain Starlette Route does not record itself as FastAPI's routes do: without this the access
            # log and the metrics would file /mcp under "unmatched".
            scope["route"] = self.route
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is not None and origin.rstrip("/") != _origin_of(base_url(state)):
            # A browser page of another site (DNS rebinding, CSRF) never reaches the tools.
            response: Response = JSONResponse(
                {
                    "error": "forbidden_origin",
                    "error_description": f"requests from {origin[:100]} are refused",
                },
                status_code=403,
            )
            await response(scope, receive, send)
            return
        principal, refusal = await _authenticate(state, headers)
        if principal is None:
            await _challenge(state, *refusal)(scope, receive, send)
            return
        scope[CALLER_KEY] = Caller(principal, state)
        scope[PRINCIPAL_SCOPE_KEY] = principal  # for the access log: who called (never their token)
        # The SDK ties request state to the principal it finds here.
        user = _user_of(principal)
        scope["user"] = user
        reset = auth_context_var.set(user)
        try:
            await self.app(scope, receive, send)
        finally:
            auth_context_var.reset(reset)


def _user_of(principal: Principal) -> AuthenticatedUser:
    """The SDK's view of the caller, made once per credential (and scopes) rather than on every call: two
    validated models, a fifth of what a kept answer costs."""
    key = (
        principal.kind,
        principal.credential_id,
        principal.athlete_id,
        principal.scopes,
        principal.audience,
    )
    user = _users.get(key)
    if user is None:
        if len(_users) >= 1024:  # a bound, not a cache policy: rebuilt on the next call
            _users.clear()
        user = _users[key] = AuthenticatedUser(
            AccessToken(
                token=f"{principal.kind}:{principal.credential_id}",
                client_id=f"{principal.kind}:{principal.credential_id}",
                scopes=sorted(principal.scopes),
                resource=principal.audience,
                subject=str(principal.athlete_id),
            )
        )
    return user


_users: dict[tuple[Any, ...], AuthenticatedUser] = {}


def _origin_of(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


async def _authenticate(state: Any, headers: Headers) -> tuple[Principal | None, tuple[str | None, str]]:
    """The caller, or why not: (RFC 6750 error code or None for a bare challenge, description)."""
    header = headers.get("authorization")
    if not header:
        return None, (None, "authentication required: send Authorization: Bearer <token>")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer":
        return None, (None, "authentication required: use the Bearer scheme")
    if not token or not is_wellformed(token):
        return None, ("invalid_token", "the access token is malformed")
    authenticator: Authenticator = state.authenticator
    principal = await authenticator.authenticate(token)
    if principal is None:
        return None, ("invalid_token", "the access token is unknown, revoked or expired")
    if principal.kind == "oauth" and principal.audience != mcp_resource(base_url(state)):
        return None, (
            "invalid_token",
            "this OAuth token was not issued for the MCP endpoint: authorize again with resource="
            + mcp_resource(base_url(state)),
        )
    return principal, (None, "")


def _challenge(state: Any, error: str | None, description: str) -> Response:
    parts = [f'realm="{REALM}"', f'resource_metadata="{resource_metadata_url(state)}"']
    if error:
        parts += [f'error="{error}"', f'error_description="{description}"']
    body = {"error": error or "unauthorized", "error_description": description}
    return Response(
        orjson.dumps(body),
        status_code=401,
        media_type="application/json",
        headers={"WWW-Authenticate": "Bearer " + ", ".join(parts), "Cache-Control": "no-store"},
    )
