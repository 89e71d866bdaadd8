"""OAuth 2.0 for app authors: the authorization URL (state + PKCE S256), code exchange, refresh and revoke.

The flow (see docs/oauth.md on the server): send the athlete to ``app.authorization_url(...).url``, keep the
returned ``state`` and ``code_verifier`` in their session, read the code off the redirect with
``app.code_from_redirect(url, state)``, then ``app.exchange_code(code, code_verifier)`` gives ``Tokens``. Hand
them to ``Client(tokens=..., oauth_app=app, on_token_refresh=save)``: it refreshes them shortly before they
expire and when the API answers 401 ``invalid_token``, and calls ``save`` with every new pair (refresh tokens
are replaced on each refresh, so the new one must be stored).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import os
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from trainerday._exceptions import APIConnectionError, TrainerDayError, error_from_response
from trainerday._retry import RetryPolicy

DEFAULT_BASE_URL = "https://api.trainerday.com"
# Refresh this long before the access token's expiry, so a request never leaves with a token about to lapse.
REFRESH_MARGIN = dt.timedelta(seconds=60)


def base_url_from(base_url: str | None) -> str:
    url = (base_url or os.environ.get("TRAINERDAY_BASE_URL") or DEFAULT_BASE_URL).strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise TrainerDayError(f"the base URL must start with https:// or http://, not {url!r}")
    return url


def pkce_pair() -> tuple[str, str]:
    """A random PKCE code verifier (RFC 7636, 64 characters) and its S256 code challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Tokens:
    """An OAuth token pair. ``expires_at`` is when the access token lapses (UTC); store all of it."""

    access_token: str
    refresh_token: str | None = None
    expires_at: dt.datetime | None = None
    scope: str | None = None
    token_type: str = "Bearer"  # noqa: S105 - the scheme's name, not a secret

    @classmethod
    def from_token_response(cls, body: Mapping[str, Any], *, now: dt.datetime | None = None) -> Tokens:
        now = now or dt.datetime.now(dt.UTC)
        expires_in = body.get("expires_in")
        return cls(
            access_token=str(body["access_token"]),
            refresh_token=body.get("refresh_token"),
            expires_at=now + dt.timedelta(seconds=float(expires_in)) if expires_in is not None else None,
            scope=body.get("scope"),
            token_type=str(body.get("token_type", "Bearer")),
        )

    def expires_soon(self, now: dt.datetime | None = None) -> bool:
        if self.expires_at is None:
            return False
        expires_at = self.expires_at
        if expires_at.tzinfo is None:  # stored without a zone by the app: taken as UTC, as we write it
            expires_at = expires_at.replace(tzinfo=dt.UTC)
        return (now or dt.datetime.now(dt.UTC)) >= expires_at - REFRESH_MARGIN

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for storing; ``Tokens.from_dict`` reads it back."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "scope": self.scope,
            "token_type": self.token_type,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tokens:
        expires_at = data.get("expires_at")
        return cls(
            access_token=data["access_token"],
            refresh_token=data.get("refresh_token"),
            expires_at=dt.datetime.fromisoformat(expires_at) if expires_at else None,
            scope=data.get("scope"),
            token_type=data.get("token_type", "Bearer"),
        )


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the athlete, and what to keep in their session until they come back."""

    url: str
    state: str
    code_verifier: str


class OAuthApp:
    """A registered app: its credentials (no secret for a public app) and redirect URI."""

    def __init__(
        self,
        client_id: str,
        client_secret: str | None = None,
        *,
        redirect_uri: str,
        base_url: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.base_url = base_url_from(base_url)
        self._timeout = timeout
        self._transport = transport
        self._async_transport = async_transport
        # Token requests are retried only where nothing can have happened: no connection made, or a 429/503
        # (a refresh token is spent the moment the server takes it, so a lost answer is not retried).
        self._retry = RetryPolicy(max_retries=max_retries)
        self._sleep: Callable[[float], object] = time.sleep
        self._asleep: Callable[[float], Any] = asyncio.sleep

    # --- the athlete's round trip ------------------------------------------------------------------------

    def authorization_url(
        self, scopes: str | Iterable[str], *, state: str | None = None
    ) -> AuthorizationRequest:
        """The URL that asks the athlete to approve ``scopes``, with a fresh PKCE pair and state."""
        verifier, challenge = pkce_pair()
        state = state or secrets.token_urlsafe(24)
        scope = scopes if isinstance(scopes, str) else " ".join(scopes)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": scope,
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return AuthorizationRequest(f"{self.base_url}/oauth/authorize?{query}", state, verifier)

    @staticmethod
    def code_from_redirect(url: str, expected_state: str) -> str:
        """The code on the URL the athlete's browser came back to, after checking its state. Raises
        ``TrainerDayError`` when the athlete denied access or the state is not the one sent (a forged
        redirect)."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        if not secrets.compare_digest(query.get("state", ""), expected_state):
            raise TrainerDayError("the redirect's state is not the one sent: refusing it")
        if "error" in query:
            raise TrainerDayError(
                f"authorization refused: {query['error']} {query.get('error_description', '')}"
            )
        if "code" not in query:
            raise TrainerDayError("the redirect carries no code")
        return query["code"]

    # --- the token endpoints -----------------------------------------------------------------------------

    def _form(self, form: dict[str, str]) -> tuple[dict[str, str], httpx.BasicAuth | None]:
        if self.client_secret is None:
            return {**form, "client_id": self.client_id}, None
        return form, httpx.BasicAuth(self.client_id, self.client_secret)

    def _token_response(self, response: httpx.Response) -> Tokens:
        if response.is_error:
            raise error_from_response(response, oauth=True)
        return Tokens.from_token_response(response.json())

    def _post(self, path: str, form: dict[str, str]) -> httpx.Response:
        data, auth = self._form(form)
        with httpx.Client(
            base_url=self.base_url, timeout=self._timeout, transport=self._transport, auth=auth
        ) as http:
            attempt = 0
            while True:
                request = http.build_request("POST", path, data=data)
                try:
                    response = http.send(request)
                except httpx.TransportError as exc:
                    if not self._retry.retry_on_error(request, exc, attempt):
                        raise APIConnectionError(f"could not reach {self.base_url}: {exc}") from exc
                    self._sleep(self._retry.delay(attempt))
                else:
                    if not self._retry.retry_on_status(response, attempt):
                        return response
                    self._sleep(self._retry.delay(attempt, response))
                attempt += 1

    async def _apost(self, path: str, form: dict[str, str]) -> httpx.Response:
        data, auth = self._form(form)
        async with httpx.AsyncClient(
            base_url=self.base_url, timeout=self._timeout, transport=self._async_transport, auth=auth
        ) as http:
            attempt = 0
            while True:
                request = http.build_request("POST", path, data=data)
                try:
                    response = await http.send(request)
                except httpx.TransportError as exc:
                    if not self._retry.retry_on_error(request, exc, attempt):
                        raise APIConnectionError(f"could not reach {self.base_url}: {exc}") from exc
                    await self._asleep(self._retry.delay(attempt))
                else:
                    if not self._retry.retry_on_status(response, attempt):
                        return response
                    await self._asleep(self._retry.delay(attempt, response))
                attempt += 1

    def _code_form(self, code: str, code_verifier: str) -> dict[str, str]:
        return {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": code_verifier,
        }

    @staticmethod
    def _refresh_form(refresh_token: str, scope: str | None) -> dict[str, str]:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if scope:
            form["scope"] = scope
        return form

    def exchange_code(self, code: str, code_verifier: str) -> Tokens:
        """Trade the code from the redirect (and the verifier kept since) for tokens."""
        return self._token_response(self._post("/oauth/token", self._code_form(code, code_verifier)))

    async def aexchange_code(self, code: str, code_verifier: str) -> Tokens:
        return self._token_response(await self._apost("/oauth/token", self._code_form(code, code_verifier)))

    def refresh(self, tokens: Tokens, *, scope: str | None = None) -> Tokens:
        """New tokens for old: the refresh token is replaced, so store the result."""
        if not tokens.refresh_token:
            raise TrainerDayError("these tokens have no refresh token")
        fresh = self._token_response(
            self._post("/oauth/token", self._refresh_form(tokens.refresh_token, scope))
        )
        return fresh if fresh.refresh_token else replace(fresh, refresh_token=tokens.refresh_token)

    async def arefresh(self, tokens: Tokens, *, scope: str | None = None) -> Tokens:
        if not tokens.refresh_token:
            raise TrainerDayError("these tokens have no refresh token")
        form = self._refresh_form(tokens.refresh_token, scope)
        fresh = self._token_response(await self._apost("/oauth/token", form))
        return fresh if fresh.refresh_token else replace(fresh, refresh_token=tokens.refresh_token)

    def revoke(self, token: str) -> None:
        """Revoke an access or refresh token (RFC 7009); revoking a refresh token ends the whole grant."""
        response = self._post("/oauth/token/revoke", {"token": token})
        if response.is_error:
            raise error_from_response(response, oauth=True)

    async def arevoke(self, token: str) -> None:
        response = await self._apost("/oauth/token/revoke", {"token": token})
        if response.is_error:
            raise error_from_response(response, oauth=True)
