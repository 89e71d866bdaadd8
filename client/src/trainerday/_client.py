"""``Client`` and ``AsyncClient``: authentication, retries, token refresh and error mapping around httpx,
with the API's operations grouped by resource: ``athlete``, ``calendar``, ``workouts``, ``activities``."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from trainerday._calls import Call
from trainerday._exceptions import APIConnectionError, TrainerDayError, error_from_response
from trainerday._oauth import OAuthApp, Tokens, base_url_from
from trainerday._resources import (
    Activities,
    AsyncActivities,
    AsyncAthleteResource,
    AsyncCalendar,
    AsyncWorkouts,
    AthleteResource,
    Calendar,
    Workouts,
)
from trainerday._retry import RetryPolicy
from trainerday._version import __version__

T = TypeVar("T")
TokenCallback = Callable[[Tokens], None]
USER_AGENT = f"trainerday-python/{__version__}"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def _invalid_token(response: httpx.Response) -> bool:
    return response.status_code == 401 and 'error="invalid_token"' in response.headers.get(
        "www-authenticate", ""
    )


class _Credentials:
    """The bearer token to send, and for OAuth the tokens to refresh."""

    def __init__(
        self,
        api_key: str | None,
        tokens: Tokens | None,
        oauth_app: OAuthApp | None,
        on_token_refresh: TokenCallback | None,
    ) -> None:
        if api_key is None and tokens is None:
            api_key = os.environ.get("TRAINERDAY_API_KEY")
        if api_key is not None and tokens is not None:
            raise TrainerDayError("pass api_key or tokens, not both")
        if api_key is None and tokens is None:
            raise TrainerDayError(
                "no credentials: pass api_key= (or set TRAINERDAY_API_KEY), or tokens= from the OAuth flow"
            )
        if api_key is not None and not api_key.strip():
            raise TrainerDayError("api_key is empty")
        self.api_key = api_key
        self.tokens = tokens
        self.oauth_app = oauth_app
        self.on_token_refresh = on_token_refresh

    @property
    def bearer(self) -> str:
        if self.tokens is not None:
            return self.tokens.access_token
        assert self.api_key is not None
        return self.api_key

    @property
    def refreshable(self) -> bool:
        return (
            self.tokens is not None and self.tokens.refresh_token is not None and self.oauth_app is not None
        )

    def adopt(self, fresh: Tokens) -> None:
        self.tokens = fresh
        if self.on_token_refresh is not None:
            self.on_token_refresh(fresh)


class _BaseClient:
    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str | None,
        tokens: Tokens | None,
        oauth_app: OAuthApp | None,
        on_token_refresh: TokenCallback | None,
        max_retries: int,
    ) -> None:
        self.base_url = base_url_from(base_url)
        self._credentials = _Credentials(api_key, tokens, oauth_app, on_token_refresh)
        self._retry = RetryPolicy(max_retries=max_retries)

    @property
    def tokens(self) -> Tokens | None:
        """The OAuth tokens in use (after any refresh); None with an API key."""
        return self._credentials.tokens

    def _build(
        self, http: httpx.Client | httpx.AsyncClient, call: Call[Any], key: str | None
    ) -> httpx.Request:
        headers = {"Authorization": f"Bearer {self._credentials.bearer}", **call.headers}
        if key is not None:
            headers["Idempotency-Key"] = key
        return http.build_request(
            call.method, call.path, params=call.params, json=call.json, files=call.files, data=call.data,
            headers=headers,
        )  # fmt: skip

    def _finish(self, call: Call[T], response: httpx.Response) -> T:
        if response.is_error:
            raise error_from_response(response)
        try:
            return call.parse(response)
        except (ValueError, KeyError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
            # Not the TrainerDay API's answer (a wrong base URL, a proxy's page) or not one this SDK knows.
            kind = response.headers.get("content-type", "no content type")
            raise TrainerDayError(
                f"{call.method} {call.path}: the answer ({response.status_code}, {kind}) is not what the "
                f"TrainerDay API sends; is {self.base_url} a TrainerDay server? ({type(exc).__name__})"
            ) from exc


class Client(_BaseClient):
    """The TrainerDay API, blocking. Use it as a context manager, or call ``close()``.

    ``Client(api_key="td_...")`` with a personal key, or ``Client(tokens=..., oauth_app=...,
    on_token_refresh=save)`` for an app acting for an athlete. ``base_url`` defaults to
    ``TRAINERDAY_BASE_URL``, else https://api.trainerday.com; the key to ``TRAINERDAY_API_KEY``.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        tokens: Tokens | None = None,
        oauth_app: OAuthApp | None = None,
        on_token_refresh: TokenCallback | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            tokens=tokens,
            oauth_app=oauth_app,
            on_token_refresh=on_token_refresh,
            max_retries=max_retries,
        )
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport, headers={"User-Agent": USER_AGENT}
        )
        self._refresh_lock = threading.Lock()
        self._sleep: Callable[[float], None] = time.sleep
        self.athlete = AthleteResource(self._run)
        self.calendar = Calendar(self._run)
        self.workouts = Workouts(self._run)
        self.activities = Activities(self._run)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _refresh(self, stale: Tokens | None) -> None:
        with self._refresh_lock:
            credentials = self._credentials
            if credentials.tokens is not stale or credentials.oauth_app is None or stale is None:
                return  # another thread refreshed them meanwhile
            credentials.adopt(credentials.oauth_app.refresh(stale))

    def _run(self, call: Call[T]) -> T:
        key = str(uuid.uuid4()) if call.creates else None
        credentials = self._credentials
        if credentials.refreshable and credentials.tokens and credentials.tokens.expires_soon():
            self._refresh(credentials.tokens)
        refreshed = False
        attempt = 0
        while True:
            request = self._build(self._http, call, key)
            sent_with = credentials.tokens
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                if not self._retry.retry_on_error(request, exc, attempt):
                    raise APIConnectionError(
                        f"{call.method} {call.path}: {type(exc).__name__}: {exc}"
                    ) from exc
                self._sleep(self._retry.delay(attempt))
                attempt += 1
                continue
            if _invalid_token(response) and credentials.refreshable and not refreshed:
                response.close()
                self._refresh(sent_with)
                refreshed = True
                continue
            if self._retry.retry_on_status(response, attempt):
                response.close()
                self._sleep(self._retry.delay(attempt, response))
                attempt += 1
                continue
            return self._finish(call, response)


class AsyncClient(_BaseClient):
    """The TrainerDay API with ``await``: the same resources and methods as ``Client``. Use it as an async
    context manager, or call ``await aclose()``."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        tokens: Tokens | None = None,
        oauth_app: OAuthApp | None = None,
        on_token_refresh: TokenCallback | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url=base_url,
            tokens=tokens,
            oauth_app=oauth_app,
            on_token_refresh=on_token_refresh,
            max_retries=max_retries,
        )
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, transport=transport, headers={"User-Agent": USER_AGENT}
        )
        self._refresh_lock: asyncio.Lock | None = None
        self._sleep: Callable[[float], Any] = asyncio.sleep
        self.athlete = AsyncAthleteResource(self._run)
        self.calendar = AsyncCalendar(self._run)
        self.workouts = AsyncWorkouts(self._run)
        self.activities = AsyncActivities(self._run)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _refresh(self, stale: Tokens | None) -> None:
        if self._refresh_lock is None:
            self._refresh_lock = asyncio.Lock()
        async with self._refresh_lock:
            credentials = self._credentials
            if credentials.tokens is not stale or credentials.oauth_app is None or stale is None:
                return
            credentials.adopt(await credentials.oauth_app.arefresh(stale))

    async def _run(self, call: Call[T]) -> T:
        key = str(uuid.uuid4()) if call.creates else None
        credentials = self._credentials
        if credentials.refreshable and credentials.tokens and credentials.tokens.expires_soon():
            await self._refresh(credentials.tokens)
        refreshed = False
        attempt = 0
        while True:
            request = self._build(self._http, call, key)
            sent_with = credentials.tokens
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                if not self._retry.retry_on_error(request, exc, attempt):
                    raise APIConnectionError(
                        f"{call.method} {call.path}: {type(exc).__name__}: {exc}"
                    ) from exc
                await self._sleep(self._retry.delay(attempt))
                attempt += 1
                continue
            if _invalid_token(response) and credentials.refreshable and not refreshed:
                await response.aclose()
                await self._refresh(sent_with)
                refreshed = True
                continue
            if self._retry.retry_on_status(response, attempt):
                await response.aclose()
                await self._sleep(self._retry.delay(attempt, response))
                attempt += 1
                continue
            return self._finish(call, response)
