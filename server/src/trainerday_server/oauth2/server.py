"""The OAuth 2.0 authorization server: Authlib's framework-agnostic core, set to what we promise.

Authlib's defaults differ from our promises, so these classes override them: tokens live 6 hours, codes
10 minutes; client_secret_basic and client_secret_post are accepted everywhere (a client using both at once
is refused); refresh tokens rotate, and a replayed one revokes its whole family; PKCE is S256 only and
required of public clients; redirect_uri is always required and matched exactly; unknown scopes and scopes
beyond the client's are refused with invalid_scope, never dropped; a ``token_type_hint`` is ignored (the
token's prefix says what it is); codes are single-use even under concurrent redemption, and a reused code
revokes its tokens; secrets, codes and tokens are stored as HMACs.

Authlib is synchronous: routes read the form first, then build one server per request around that request's
database session, in a worker thread.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import orjson
from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import rfc6749, rfc7009, rfc7636, rfc7662
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Error,
    UnsupportedResponseTypeError,
)
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from trainerday_server.auth.scopes import ALL_SCOPES, SCOPES, format_scopes
from trainerday_server.auth.tokens import new_token, token_hash
from trainerday_server.models import Athlete, OAuthAuthorizationCode, OAuthClient, OAuthToken
from trainerday_server.oauth2 import service
from trainerday_server.oauth2.service import (
    ACCESS_TOKEN_PREFIX,
    ACCESS_TOKEN_SECONDS,
    CODE_PREFIX,
    CODE_SECONDS,
    REFRESH_TOKEN_PREFIX,
    REFRESH_TOKEN_SECONDS,
    unix_seconds,
)

SECRET_METHODS = ["client_secret_basic", "client_secret_post"]
# "none" is how a public client names itself (client_id, no secret); confidential clients never may use it.
AUTH_METHODS = [*SECRET_METHODS, "none"]
# Parameters that may not repeat at the authorization endpoint (RFC 6749 3.1). Until client_id and
# redirect_uri are known to be single and valid, an error cannot be sent back to the client.
REDIRECT_PARAMETERS = ("client_id", "redirect_uri")
OTHER_AUTHORIZE_PARAMETERS = ("response_type", "scope", "state", "code_challenge", "code_challenge_method")
MCP_PATH = "/mcp"
# RFC 8707 resources naming the REST API: a token asked for one of them is an ordinary, audience-free one.
REST_RESOURCE_PATHS = ("", "/", "/api/v1", "/api/v1/")


def mcp_resource(issuer: str) -> str:
    """The MCP endpoint's resource identifier (RFC 8707, RFC 9728): the audience its tokens are bound to."""
    return issuer + MCP_PATH


class InvalidTargetError(OAuth2Error):
    """RFC 8707 2: the resource asked for is not one this server issues tokens for."""

    error = "invalid_target"


def requested_audience(payload: Payload, issuer: str) -> tuple[bool, str | None]:
    """Whether a ``resource`` was sent and the audience it asks for: the MCP endpoint's URL, or None for the
    REST API. One resource at most: a token serves one audience here."""
    resources = payload.datalist.get("resource", [])
    if not resources:
        return False, None
    if len(resources) > 1:
        raise InvalidTargetError("ask for one resource at a time: each token serves one")
    resource = resources[0]
    if resource.rstrip("/") == mcp_resource(issuer):
        return True, mcp_resource(issuer)
    if resource.startswith(issuer) and resource[len(issuer) :] in REST_RESOURCE_PATHS:
        return True, None
    raise InvalidTargetError(
        f"unknown resource {resource[:200]!r}: this server issues tokens for {mcp_resource(issuer)} "
        f"(the MCP endpoint) or {issuer}/api/v1 (the API, the same as sending no resource)"
    )


class Payload(rfc6749.requests.OAuth2Payload):
    """OAuth parameters from a query string or form: the first value of each, and every value to spot repeats.
    Uploaded files are not parameters and are ignored."""

    def __init__(self, items: list[tuple[str, Any]]) -> None:
        self._datalist: dict[str, list[str]] = {}
        for key, value in items:
            if isinstance(value, str):
                self._datalist.setdefault(key, []).append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist

    def repeated(self, names: tuple[str, ...] | None = None) -> str | None:
        """The first parameter sent more than once (of ``names``, or of all)."""
        return next(
            (k for k, v in self._datalist.items() if len(v) > 1 and (names is None or k in names)), None
        )

    def refuse_repeated(self, names: tuple[str, ...] | None = None) -> None:
        """Raise invalid_request for a parameter sent more than once (of ``names``, or of all)."""
        name = self.repeated(names)
        if name:
            raise InvalidRequestError(f"the {name} parameter was sent more than once")


class OAuthRequest(rfc6749.OAuth2Request):
    """Authlib's view of a Starlette request, with its OAuth parameters already read: from the query string
    at the authorization endpoint, from the form body at every other endpoint.

    Raises Authlib's InsecureTransportError for plain http other than to the loopback interface."""

    def __init__(self, request: Request, params: list[tuple[str, Any]]) -> None:
        super().__init__(request.method, str(request.url), headers=request.headers)
        self.payload = Payload(params)
        self.audience: str | None = None  # RFC 8707, from the authorization request's resource

    @property
    def form(self) -> dict[str, str]:
        return self.payload.data


@dataclass
class Client(rfc6749.ClientMixin):
    """A registered client as Authlib sees it."""

    row: OAuthClient
    secret_key: bytes

    @property
    def is_public(self) -> bool:
        return self.row.secret_hash is None

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # redirect_uri is always required, even with a single registered URI

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The scope asked for, or all the client's scopes if none was; None (invalid_scope) if it asks for
        more than it was registered with."""
        allowed = set(self.row.scopes.split())
        requested = set(scope.split()) if scope and scope.strip() else allowed
        return format_scopes(requested) if requested <= allowed else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        expected = self.row.secret_hash
        return expected is not None and hmac.compare_digest(
            expected, token_hash(self.secret_key, client_secret)
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.is_public:
            return method == "none" and endpoint != "introspection"
        return method in SECRET_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class IssuedCode(rfc6749.AuthorizationCodeMixin):
    row: OAuthAuthorizationCode

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope


@dataclass
class IssuedToken(rfc6749.TokenMixin):
    """An access or a refresh token (``kind``) as Authlib sees it, judged at the request's time ``now``.

    A refresh token's scope is its whole grant's, however narrow the access token beside it: a refresh may
    ask for less than that, or for all of it again (RFC 6749 6)."""

    row: OAuthToken
    kind: str  # "access_token" | "refresh_token"
    scope: str
    now: int

    def check_client(self, client: Client) -> bool:
        return self.row.client_pk == client.row.id

    def get_scope(self) -> str:
        return self.scope

    @property
    def expires_at(self) -> int:
        return self.row.expires_at if self.kind == "access_token" else self.row.refresh_expires_at

    def is_expired(self) -> bool:
        return self.expires_at <= self.now

    def is_revoked(self) -> bool:
        rotated = self.kind == "refresh_token" and self.row.refresh_used_at is not None
        return self.row.revoked_at is not None or rotated


class S256CodeChallenge(rfc7636.CodeChallenge):
    """PKCE with S256 only (RFC 9700 2.1.1), required of public clients, accepted from confidential ones."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: AuthorizationCodeGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        challenge, method = data.get("code_challenge"), data.get("code_challenge_method")
        if challenge is None and method is None:
            if grant.client.is_public:
                raise InvalidRequestError("public clients must use PKCE: send code_challenge (S256)")
            return
        if method != "S256":
            # Without a method RFC 7636 means "plain", which tells an eavesdropper the verifier.
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: AuthorizationCodeGrant, result: Any) -> None:
        verifier = grant.request.form.get("code_verifier")
        if verifier and not grant.request.authorization_code.row.code_challenge:
            # RFC 9700 4.8.2: a verifier for a code issued without a challenge is an injected code.
            raise InvalidGrantError(
                "this code was issued without a code_challenge: no code_verifier expected"
            )
        super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge(self, authorization_code: IssuedCode) -> str | None:
        return authorization_code.row.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: IssuedCode) -> str:
        return "S256"


def basic_credentials(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """client_id and secret from ``Authorization: Basic``; None if absent or malformed. (Authlib's own parser
    raises on a header such as "Basic " or on credentials that are not UTF-8.)"""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    # RFC 6749 2.3.1: both are form-urlencoded before being joined.
    return (unquote_plus(client_id), unquote_plus(secret)) if colon and client_id else None


def _authenticate_basic(query_client: Callable[[str], Client | None], request: OAuthRequest) -> Client | None:
    credentials = basic_credentials(request.headers)
    if credentials is None:
        return None
    client = query_client(credentials[0])
    if client is None:
        raise InvalidClientError(status_code=401, description="no client has this client_id")
    return client if client.check_client_secret(credentials[1]) else None


def _refuse_repeated_parameters(grant: AuthorizationCodeGrant, redirect_uri: str) -> None:
    grant.request.payload.refuse_repeated(OTHER_AUTHORIZE_PARAMETERS)


def _read_resource(grant: AuthorizationCodeGrant, redirect_uri: str) -> None:
    grant.request.audience = requested_audience(grant.request.payload, grant.server.issuer)[1]


def _check_resource(request: OAuthRequest, issuer: str, granted: str | None) -> None:
    """At the token endpoint a resource may only repeat the grant's (RFC 8707 2.2): a token's audience is the
    one the athlete consented to, never widened or moved by the app later."""
    sent, audience = requested_audience(request.payload, issuer)
    if sent and audience != granted:
        raise InvalidTargetError(
            f"this grant is for {granted or 'the API'}; "
            "a token for another resource needs a new authorization"
        )


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    server: AuthorizationServer
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def __init__(self, request: OAuthRequest, server: AuthorizationServer) -> None:
        super().__init__(request, server)
        self.register_hook("before_validate_authorization_request_payload", _refuse_repeated_parameters)
        self.register_hook("before_validate_authorization_request_payload", _read_resource)

    @staticmethod
    def validate_authorization_redirect_uri(request: OAuthRequest, client: Client) -> str:
        redirect_uri = request.payload.redirect_uri
        if not redirect_uri:
            raise InvalidRequestError("redirect_uri is required")
        if not client.check_redirect_uri(redirect_uri):
            raise InvalidRequestError(
                "redirect_uri is not one this client registered (it must match exactly)"
            )
        return redirect_uri

    def generate_authorization_code(self) -> str:
        return new_token(CODE_PREFIX)  # 256 random bits

    def save_authorization_code(self, code: str, request: OAuthRequest) -> None:
        self.server.session.add(
            OAuthAuthorizationCode(
                code_hash=token_hash(self.server.secret_key, code),
                client_pk=request.client.row.id,
                athlete_id=request.user.id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                code_challenge=request.payload.data.get("code_challenge"),
                resource=request.audience,
                created_at=self.server.now,
                expires_at=self.server.now + dt.timedelta(seconds=CODE_SECONDS),
            )
        )
        self.server.session.flush()

    def query_authorization_code(self, code: str, client: Client) -> IssuedCode | None:
        # Authlib would count a missing redirect_uri as a mismatch (invalid_grant); it is a missing parameter.
        if not self.request.payload.redirect_uri:
            raise InvalidRequestError("redirect_uri is required")
        row = service.find_code(self.server.session, self.server.secret_key, code, client.row.id)
        if row is None:
            return None
        if row.used_at is not None:
            self._refuse_reuse(row.id)
        return IssuedCode(row) if row.expires_at > self.server.now else None

    def validate_token_request(self) -> None:
        super().validate_token_request()
        _check_resource(self.request, self.server.issuer, self.request.authorization_code.row.resource)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        code: IssuedCode = self.request.authorization_code
        if not service.claim_code(self.server.session, code.row.id, self.server.now):
            self._refuse_reuse(code.row.id)  # redeemed concurrently, a moment ago
        return super().create_token_response()

    def _refuse_reuse(self, code_id: int) -> None:
        # RFC 6749 4.1.2: a code used twice may have been stolen; whoever redeemed it first may be the thief.
        service.revoke_family(self.server.session, code_id, self.server.now)
        raise InvalidGrantError("this code was already used; every token issued from it is now revoked")

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        pass  # claimed before the tokens were issued; the row stays as the root of their family

    def authenticate_user(self, authorization_code: IssuedCode) -> Athlete | None:
        return self.server.session.get(Athlete, authorization_code.row.athlete_id)


def rotated_tokens(secret_key: bytes, refresh_token: str) -> tuple[str, str]:
    """The access and refresh token a refresh token is rotated into: HMACs of it under the server secret.

    As unpredictable as random tokens to anyone without the secret, yet the same every time, so a client
    that lost the answer to its refresh can be given the same pair again within the grace window.
    """

    def derive(prefix: str, purpose: bytes) -> str:
        digest = hmac.new(secret_key, purpose + b"\x00" + refresh_token.encode(), "sha256").digest()
        return prefix + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    return derive(ACCESS_TOKEN_PREFIX, b"rotated-access"), derive(REFRESH_TOKEN_PREFIX, b"rotated-refresh")


class RefreshTokenGrant(grants.RefreshTokenGrant):
    server: AuthorizationServer
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation (RFC 9700 4.14.2)

    # Set when the presented token was rotated within the grace window: answer with the pair it was
    # rotated into (see docs/oauth.md, "Refresh-token grace window").
    _within_grace = False

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        token = self.server.find_token(refresh_token)
        # Only the client it was issued to (authenticated by now) may set off replay detection: anyone can
        # name a public client, and a stolen token alone must not end another app's authorization.
        if token is None or token.kind != "refresh_token" or not token.check_client(self.request.client):
            return None
        if token.row.refresh_used_at is not None:
            if token.row.revoked_at is None and self._in_grace_window(token.row.refresh_used_at):
                self._within_grace = True
                return token
            self._refuse_replay(token)
        return None if token.is_revoked() or token.is_expired() else token

    def validate_token_request(self) -> None:
        super().validate_token_request()
        _check_resource(self.request, self.server.issuer, self.request.refresh_token.row.resource)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        token: IssuedToken = self.request.refresh_token
        presented = self.request.form["refresh_token"]
        if self._within_grace:
            return self._repeat_rotation(token, presented)
        if not service.claim_refresh_token(self.server.session, token.row.id, self.server.now):
            # Refreshed concurrently, a moment ago: within the grace window that is the same client
            # retrying, answered like any retry; otherwise a replay.
            if self.server.refresh_grace_seconds > 0:
                return self._repeat_rotation(token, presented)
            self._refuse_replay(token)
        self.server.rotating_from = presented
        return super().create_token_response()

    def _in_grace_window(self, used_at: dt.datetime) -> bool:
        grace = self.server.refresh_grace_seconds
        return grace > 0 and (self.server.now - used_at).total_seconds() <= grace

    def _repeat_rotation(
        self, token: IssuedToken, presented: str
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """The pair this refresh token was rotated into, again: its tokens are derived from the presented
        one (``rotated_tokens``), so they can be given twice without ever being stored in clear."""
        access, refresh = rotated_tokens(self.server.secret_key, presented)
        successor = service.find_token(self.server.session, self.server.secret_key, refresh)
        row = None if successor is None else successor.row
        if row is None or row.revoked_at is not None or row.refresh_used_at is not None:
            # The new pair was received and already used (or revoked): this is a replay, not a retry.
            self._refuse_replay(token)
        assert row is not None
        body = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": max(0, row.expires_at - unix_seconds(self.server.now)),
            "refresh_token": refresh,
            "scope": row.scope,
        }
        return 200, body, [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                           ("Pragma", "no-cache")]  # fmt: skip

    def _refuse_replay(self, token: IssuedToken) -> None:
        # A rotated refresh token coming back means two parties hold it: end the authorization for both.
        service.revoke_family(self.server.session, token.row.authorization_code_id, self.server.now)
        raise InvalidGrantError("this refresh token was already used; the authorization is now revoked")

    def revoke_old_credential(self, refresh_token: IssuedToken) -> None:
        pass  # claimed before the new tokens were issued

    def authenticate_user(self, refresh_token: IssuedToken) -> Athlete | None:
        return self.server.session.get(Athlete, refresh_token.row.athlete_id)


class _FindsTokens:
    server: AuthorizationServer

    def check_params(self, request: OAuthRequest, client: Client) -> None:
        # token_type_hint is only a hint (RFC 7009 2.1, RFC 7662 2.1): an unknown one is ignored, not refused.
        if not request.form.get("token"):
            raise InvalidRequestError("token is required")

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        return self.server.find_token(token_string)


class RevocationEndpoint(_FindsTokens, rfc7009.RevocationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def revoke_token(self, token: IssuedToken, request: OAuthRequest) -> None:
        # Either token ends the whole authorization: its refresh token and every access token issued from it.
        service.revoke_family(self.server.session, token.row.authorization_code_id, self.server.now)


class IntrospectionEndpoint(_FindsTokens, rfc7662.IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = SECRET_METHODS

    def check_permission(self, token: IssuedToken, client: Client, request: OAuthRequest) -> bool:
        return token.check_client(client)  # another client's token is reported inactive

    def introspect_token(self, token: IssuedToken) -> dict[str, Any]:
        athlete = self.server.session.get(Athlete, token.row.athlete_id)
        client = self.server.session.get(OAuthClient, token.row.client_pk)
        assert athlete is not None and client is not None  # rows cascade-delete with them
        scope = token.get_scope()
        # Introspection tells the app nothing its token could not read: the email is profile data.
        username = athlete.email if "athlete:read" in scope.split() else f"athlete-{athlete.id}"
        audience = {"aud": token.row.resource} if token.row.resource else {}
        return {
            "active": True,
            "scope": scope,
            "client_id": client.client_id,
            "username": username,
            "token_type": "Bearer" if token.kind == "access_token" else "refresh_token",
            "exp": token.expires_at,
            "iat": token.row.issued_at,
            "sub": str(athlete.id),
            "iss": self.server.issuer,
            **audience,
        }


class AuthorizationServer(rfc6749.AuthorizationServer):
    """One per request: it holds that request's database session and the time the request is judged at."""

    def __init__(
        self,
        session: Session,
        *,
        secret_key: bytes,
        issuer: str,
        now: dt.datetime,
        refresh_grace_seconds: int = 0,
    ) -> None:
        super().__init__(scopes_supported=sorted(ALL_SCOPES))
        self.session = session
        self.secret_key = secret_key
        self.issuer = issuer
        self.now = now
        self.refresh_grace_seconds = refresh_grace_seconds
        # The refresh token being rotated, when there is one: the new pair is derived from it.
        self.rotating_from: str | None = None
        self.register_token_generator("default", self._generate_token)
        self.register_client_auth_method("client_secret_basic", _authenticate_basic)
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_endpoint(RevocationEndpoint)
        self.register_endpoint(IntrospectionEndpoint)

    # --- what Authlib asks of an integration -------------------------------------------------------------

    def query_client(self, client_id: str) -> Client | None:
        row = service.find_client(self.session, client_id)
        return None if row is None else Client(row, self.secret_key)

    def find_token(self, token: str) -> IssuedToken | None:
        found = service.find_token(self.session, self.secret_key, token)
        if found is None:
            return None
        return IssuedToken(found.row, found.kind, found.scope, unix_seconds(self.now))

    def _generate_token(
        self, grant_type: str, client: Client, user: Athlete, scope: str, **_: Any
    ) -> dict[str, Any]:
        if self.rotating_from is not None:
            access, refresh = rotated_tokens(self.secret_key, self.rotating_from)
        else:
            access, refresh = new_token(ACCESS_TOKEN_PREFIX), new_token(REFRESH_TOKEN_PREFIX)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
            "refresh_token": refresh,
            "scope": format_scopes(set(scope.split())),
        }

    def save_token(self, token: dict[str, Any], request: OAuthRequest) -> None:
        if request.authorization_code is not None:
            family = request.authorization_code.row.id
            resource = request.authorization_code.row.resource
        else:
            family = request.refresh_token.row.authorization_code_id
            resource = request.refresh_token.row.resource
        issued_at = unix_seconds(self.now)
        self.session.add(
            OAuthToken(
                authorization_code_id=family,
                client_pk=request.client.row.id,
                athlete_id=request.user.id,
                scope=token["scope"],
                access_token_hash=token_hash(self.secret_key, token["access_token"]),
                refresh_token_hash=token_hash(self.secret_key, token["refresh_token"]),
                issued_at=issued_at,
                expires_at=issued_at + ACCESS_TOKEN_SECONDS,
                refresh_expires_at=issued_at + REFRESH_TOKEN_SECONDS,
                resource=resource,
            )
        )
        self.session.flush()

    def authenticate_client(
        self, request: OAuthRequest, methods: list[str], endpoint: str = "token"
    ) -> Client:
        uses_basic = request.headers.get("authorization", "").lower().startswith("basic")
        if uses_basic and "client_secret" in request.form:
            raise InvalidRequestError(
                "authenticate the client one way: HTTP Basic or client_secret, not both"
            )
        basic = basic_credentials(request.headers)
        if basic is not None and request.form.get("client_id") not in (None, basic[0]):
            raise InvalidRequestError("client_id differs from the one in the Authorization header")
        try:
            return super().authenticate_client(request, methods, endpoint)
        except InvalidClientError as error:
            # Always 401 with a Basic challenge, however the client tried (RFC 6749 5.2 allows it).
            raise InvalidClientError(status_code=401, description=error.description) from None

    def create_oauth2_request(self, request: OAuthRequest) -> OAuthRequest:
        return request  # routes build it, having read the form

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        fields = dict(headers)
        if status == 302:
            # Every redirect Authlib makes is an authorization response. 303: the consent form is a POST.
            # iss (RFC 9207) lets clients that talk to several servers tell which one answered.
            location = add_params_to_uri(fields["Location"], [("iss", self.issuer)])
            return Response(status_code=303, headers={"Location": location, "Cache-Control": "no-store"})
        content = orjson.dumps(body) if isinstance(body, dict) else body
        return Response(content, status_code=status, headers=fields)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    # --- entry points for the routes ---------------------------------------------------------------------

    def validate_authorization(self, request: OAuthRequest) -> AuthorizationCodeGrant:
        """The grant an authorization request asks for, or the OAuth2Error to answer it with: one carrying a
        ``redirect_uri`` goes back to the client, any other is shown to the athlete (never redirected)."""
        payload = request.payload
        state = None if payload.repeated(("state",)) else payload.state
        try:
            payload.refuse_repeated(REDIRECT_PARAMETERS)
            try:
                grant: AuthorizationCodeGrant = self.get_authorization_grant(request)
            except UnsupportedResponseTypeError as error:
                if payload.response_type is None:
                    raise InvalidRequestError(
                        "response_type is required", redirect_uri=error.redirect_uri
                    ) from None
                raise
            grant.validate_consent_request()
        except OAuth2Error as error:
            error.state = state
            raise
        return grant

    def decision_response(self, grant: AuthorizationCodeGrant, athlete: Athlete | None) -> Response:
        """The athlete's answer on the consent page, for a grant ``validate_authorization`` has checked in
        this request: a code (``athlete`` given) or access_denied, sent back to the client. (Authlib's
        ``create_authorization_response`` would validate the whole request, client lookup included, again.)"""
        try:
            return self.handle_response(*grant.create_authorization_response(grant.redirect_uri, athlete))
        except OAuth2Error as error:
            error.state = grant.request.payload.state
            return self.handle_error_response(grant.request, error)

    def token_response(self, request: OAuthRequest) -> Response:
        """POST /oauth/token."""
        try:
            request.payload.refuse_repeated()
            if not request.payload.grant_type:
                raise InvalidRequestError("grant_type is required")
        except OAuth2Error as error:
            return self.handle_error_response(request, error)
        return self.create_token_response(request)

    def endpoint_response(self, name: str, request: OAuthRequest) -> Response:
        """POST /oauth/token/revoke ("revocation") and /oauth/token/introspection ("introspection")."""
        try:
            request.payload.refuse_repeated()
        except OAuth2Error as error:
            return self.handle_error_response(request, error)
        return self.create_endpoint_response(name, request)


def metadata(issuer: str, *, registration_open: bool = False) -> dict[str, Any]:
    """RFC 8414 authorization server metadata; the registration endpoint only while it is open."""
    registration = {"registration_endpoint": f"{issuer}/oauth/register"} if registration_open else {}
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "revocation_endpoint": f"{issuer}/oauth/token/revoke",
        "introspection_endpoint": f"{issuer}/oauth/token/introspection",
        "scopes_supported": sorted(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": SECRET_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "service_documentation": f"{issuer}/docs",
        **registration,
    }
