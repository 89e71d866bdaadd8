"""The OAuth 2.0 endpoints: authorization (with the consent page), token, revocation, introspection and
RFC 8414 metadata. Errors are RFC 6749 error JSON (or, at the authorization endpoint, a redirect back to the
client or an error page), never problem+json: OAuth client libraries expect exactly this shape.

Handlers are synchronous (Authlib is); FastAPI runs them in a worker thread after the form has been read.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749.errors import (
    InsecureTransportError,
    InvalidRequestError,
    OAuth2Error,
)
from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import JSONResponse, Response

from trainerday_server.auth.scopes import SCOPES
from trainerday_server.deps import SessionDep
from trainerday_server.models import Athlete
from trainerday_server.oauth2.server import (
    AuthorizationCodeGrant,
    AuthorizationServer,
    OAuthRequest,
    metadata,
)
from trainerday_server.web.forms import FormDep, text
from trainerday_server.web.routes import expired_form, login_url, redirect
from trainerday_server.web.sessions import Visitor, VisitorDep
from trainerday_server.web.templates import render

router = APIRouter(include_in_schema=False)

INSECURE = "OAuth needs HTTPS: reach this server over https (plain http only to localhost)"


def issuer(request: Request) -> str:
    return str(request.app.state.settings.base_url).rstrip("/")


def _server(request: Request, session: Session) -> AuthorizationServer:
    state = request.app.state
    return AuthorizationServer(
        session,
        secret_key=state.secret_key,
        issuer=issuer(request),
        now=state.clock(),
        refresh_grace_seconds=state.settings.refresh_token_grace_seconds,
    )


def _error_page(request: Request, visitor: Visitor, error: OAuth2Error) -> Response:
    # Without a client and redirect URI known to be good, the error must not go anywhere: show it.
    return render(
        request,
        "error.html",
        visitor,
        status=400,
        title="This app's request cannot be completed",
        message=f"{error.description or error.error} ({error.error}). Go back to the app and try again.",
    )


def _authorization(
    request: Request, session: Session, visitor: Visitor
) -> tuple[AuthorizationServer, AuthorizationCodeGrant] | Response:
    """Validate the authorization request in the query string: the grant, or the response refusing it, or
    (for a visitor not logged in) the way to the log-in page and back."""
    server = _server(request, session)
    try:
        oauth_request = OAuthRequest(request, request.query_params.multi_items())
    except InsecureTransportError:
        return _error_page(request, visitor, InvalidRequestError(INSECURE))
    try:
        grant = server.validate_authorization(oauth_request)
    except OAuth2Error as error:
        if error.redirect_uri:
            return server.handle_error_response(oauth_request, error)
        return _error_page(request, visitor, error)
    if visitor.athlete_id is None:
        return redirect(login_url(_this_url(request)))
    return server, grant


def _this_url(request: Request) -> str:
    return request.url.path + ("?" + request.url.query if request.url.query else "")


@router.get("/oauth/authorize")
def authorize(request: Request, session: SessionDep, visitor: VisitorDep) -> Response:
    validated = _authorization(request, session, visitor)
    if isinstance(validated, Response):
        return validated
    _, grant = validated
    athlete = session.get(Athlete, visitor.athlete_id)
    assert athlete is not None  # sessions cascade-delete with their athlete
    return render(
        request,
        "consent.html",
        visitor,
        client_name=grant.client.row.name,
        self_registered=grant.client.row.self_registered,
        athlete_email=athlete.email,
        scopes=[SCOPES[s] for s in grant.request.scope.split()],
        redirect_host=urlsplit(grant.redirect_uri).hostname or grant.redirect_uri,
        action=_this_url(request),
    )


@router.post("/oauth/authorize")
def decide(request: Request, form: FormDep, session: SessionDep, visitor: VisitorDep) -> Response:
    """The athlete's answer on the consent page: a 303 back to the client with a code, or access_denied."""
    validated = _authorization(request, session, visitor)
    if isinstance(validated, Response):
        return validated
    if not visitor.check_csrf(request.app.state.secret_key, text(form, "csrf_token")):
        return expired_form(request, visitor)
    server, grant = validated
    athlete = session.get(Athlete, visitor.athlete_id) if text(form, "decision") == "allow" else None
    return server.decision_response(grant, athlete)


def _form_endpoint(
    request: Request,
    form: FormData,
    session: Session,
    answer: Callable[[AuthorizationServer, OAuthRequest], Response],
) -> Response:
    """A token endpoint: the form body as an OAuth request (refused over plain http), then ``answer``."""
    try:
        oauth_request = OAuthRequest(request, form.multi_items())
    except InsecureTransportError:
        body = {"error": "invalid_request", "error_description": INSECURE}
        return JSONResponse(
            body, status_code=400, headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
        )
    return answer(_server(request, session), oauth_request)


@router.post("/oauth/token")
def token(request: Request, form: FormDep, session: SessionDep) -> Response:
    return _form_endpoint(request, form, session, AuthorizationServer.token_response)


@router.post("/oauth/token/revoke")
def revoke(request: Request, form: FormDep, session: SessionDep) -> Response:
    return _form_endpoint(request, form, session, lambda s, r: s.endpoint_response("revocation", r))


@router.post("/oauth/token/introspection")
def introspect(request: Request, form: FormDep, session: SessionDep) -> Response:
    return _form_endpoint(request, form, session, lambda s, r: s.endpoint_response("introspection", r))


@router.get("/.well-known/oauth-authorization-server")
def server_metadata(request: Request) -> JSONResponse:
    registration_open = request.app.state.settings.mcp_clients == "open"
    return JSONResponse(metadata(issuer(request), registration_open=registration_open))
