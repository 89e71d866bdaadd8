"""RFC 7591 dynamic client registration, for MCP clients (AI assistants) that register themselves.

Open only when the operator sets ``TRAINERDAY_MCP_CLIENTS=open``: otherwise apps apply for access and the
operator registers them (``trainerday-server clients create``), and this endpoint refuses every request.
What it registers is deliberately narrow: a *public* client (no secret: an assistant on someone's computer
cannot keep one), the authorization code grant with PKCE S256 and refresh tokens, and redirect URIs matched
exactly, under the same rules as every client. The athlete still approves it on the consent page, which says
that the app registered itself, and sees it under connected apps like any other.

Errors are RFC 7591 JSON (``invalid_redirect_uri``, ``invalid_client_metadata``), never problem+json.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from trainerday_server.auth.scopes import ALL_SCOPES, format_scopes
from trainerday_server.db import session_scope
from trainerday_server.errors import ValidationFailed
from trainerday_server.oauth2 import service
from trainerday_server.oauth2.service import unix_seconds

router = APIRouter(include_in_schema=False)

MAX_REDIRECT_URIS = 10
DEFAULT_CLIENT_NAME = "AI assistant"
GRANT_TYPES = ("authorization_code", "refresh_token")
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class RegistrationRefused(Exception):
    """An RFC 7591 error response: ``error`` is one of its codes, ``status`` the HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def _text_field(metadata: dict[str, Any], name: str) -> str | None:
    value = metadata.get(name)
    if value is not None and not isinstance(value, str):
        raise RegistrationRefused("invalid_client_metadata", f"{name} must be a string")
    return value


def _list_field(metadata: dict[str, Any], name: str, default: tuple[str, ...]) -> list[str]:
    value = metadata.get(name)
    if value is None:
        return list(default)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RegistrationRefused("invalid_client_metadata", f"{name} must be an array of strings")
    return value


def register_public_client(session: Session, secret_key: bytes, metadata: Any) -> dict[str, Any]:
    """Register the client ``metadata`` describes (RFC 7591 2) and return the registration response (3.2.1);
    raises RegistrationRefused for metadata this server will not register."""
    if not isinstance(metadata, dict):
        raise RegistrationRefused("invalid_client_metadata", "the body must be a JSON object")
    redirect_uris = _list_field(metadata, "redirect_uris", ())
    if not redirect_uris:
        raise RegistrationRefused("invalid_redirect_uri", "redirect_uris is required: at least one")
    if len(redirect_uris) > MAX_REDIRECT_URIS:
        raise RegistrationRefused("invalid_redirect_uri", f"at most {MAX_REDIRECT_URIS} redirect_uris")
    auth_method = _text_field(metadata, "token_endpoint_auth_method") or "none"
    if auth_method != "none":
        raise RegistrationRefused(
            "invalid_client_metadata",
            "only public clients may register themselves: token_endpoint_auth_method must be none "
            "(PKCE S256 protects the code instead of a secret)",
        )
    grant_types = _list_field(metadata, "grant_types", GRANT_TYPES)
    if "authorization_code" not in grant_types or not set(grant_types) <= set(GRANT_TYPES):
        raise RegistrationRefused(
            "invalid_client_metadata", "grant_types must be authorization_code, optionally with refresh_token"
        )
    if _list_field(metadata, "response_types", ("code",)) != ["code"]:
        raise RegistrationRefused("invalid_client_metadata", 'response_types must be ["code"]')
    scope_text = _text_field(metadata, "scope")
    scopes = frozenset(scope_text.split()) if scope_text and scope_text.strip() else ALL_SCOPES
    unknown = sorted(scopes - ALL_SCOPES)
    if unknown:
        raise RegistrationRefused(
            "invalid_client_metadata",
            f"unknown scope(s) {' '.join(unknown)}; valid scopes are {format_scopes(ALL_SCOPES)}",
        )
    name = (_text_field(metadata, "client_name") or "").strip() or DEFAULT_CLIENT_NAME
    if not name.isprintable():
        # The athlete reads this name on the consent page: no control characters (NUL, line breaks) and no
        # invisible formatting such as a right-to-left override that would make it read as another app's.
        raise RegistrationRefused(
            "invalid_client_metadata", "client_name must not contain control or formatting characters"
        )
    try:
        new = service.create_client(
            session, secret_key, name=name[:100], redirect_uris=redirect_uris, scopes=scopes, public=True
        )
    except ValidationFailed as error:
        code = (
            "invalid_redirect_uri" if error.errors[0].field == "redirect_uri" else "invalid_client_metadata"
        )
        raise RegistrationRefused(code, error.errors[0].message) from None
    client = new.client
    client.self_registered = True
    session.flush()
    return {
        "client_id": client.client_id,
        "client_id_issued_at": unix_seconds(client.created_at),
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "grant_types": sorted(set(grant_types)),
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "scope": client.scopes,
    }


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=_NO_STORE)


def _register(state: Any, metadata: Any) -> dict[str, Any]:
    with session_scope(state.write_sessions) as session:
        return register_public_client(session, state.secret_key, metadata)


@router.post("/oauth/register")
async def register(request: Request) -> Response:
    """POST /oauth/register (RFC 7591): 201 with the new client, or an RFC 7591 error. The body is read here,
    the database written in the thread pool."""
    state = request.app.state
    try:
        if state.settings.mcp_clients != "open":
            raise RegistrationRefused(
                "access_denied",
                "this server does not let apps register themselves; ask its operator to register yours "
                "(or to set TRAINERDAY_MCP_CLIENTS=open)",
                status=403,
            )
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            raise RegistrationRefused("invalid_client_metadata", "send the metadata as application/json")
        try:
            metadata = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise RegistrationRefused("invalid_client_metadata", "the body is not valid JSON") from None
        created = await run_in_threadpool(_register, state, metadata)
    except RegistrationRefused as refused:
        return _json({"error": refused.error, "error_description": refused.description}, refused.status)
    return _json(created, 201)
