"""Driving OAuth as an app and an athlete's browser would, over HTTP (in-process or to a real server)."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy.engine import Engine

from tests.conftest import PASSWORD, TEST_SECRET, bearer
from trainerday_server.auth.scopes import parse_scopes
from trainerday_server.db import make_session_factory, session_scope
from trainerday_server.oauth2 import service

REDIRECT_URI = "https://app.example/callback"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ACTION = re.compile(r'<form method="post" action="(/oauth/authorize[^"]*)"')


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge, computed here independently of the server."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def query_of(response: httpx.Response) -> dict[str, str]:
    """The parameters of a redirect's Location, one value each (a repeated one fails the test)."""
    query = parse_qs(urlsplit(response.headers["location"]).query, keep_blank_values=True)
    assert all(len(v) == 1 for v in query.values()), query
    return {k: v[0] for k, v in query.items()}


@dataclass(frozen=True)
class RegisteredApp:
    client_id: str
    secret: str | None
    redirect_uri: str

    @property
    def basic(self) -> tuple[str, str]:
        assert self.secret is not None
        return (self.client_id, self.secret)


def register_app(
    engine: Engine,
    *,
    public: bool = False,
    scopes: str | None = None,
    redirect_uris: tuple[str, ...] = (REDIRECT_URI,),
    name: str = "Test App",
) -> RegisteredApp:
    with session_scope(make_session_factory(engine, writer=True)) as session:
        new = service.create_client(
            session,
            TEST_SECRET.encode(),
            name=name,
            redirect_uris=list(redirect_uris),
            scopes=parse_scopes(scopes),
            public=public,
        )
        return RegisteredApp(new.client.client_id, new.secret, redirect_uris[0])


def log_in(
    browser: httpx.Client, email: str, password: str = PASSWORD, next_url: str = "/"
) -> httpx.Response:
    page = browser.get("/login", params={"next": next_url})
    form = {"csrf_token": csrf_of(page.text), "next": next_url, "email": email, "password": password}
    return browser.post("/login", data=form)


def approve_in_browser(base_url: str, authorization_url: str, email: str) -> str:
    """What the athlete's browser does: follow the app's link, log in, press Allow. Returns the URL the
    browser is sent back to, with the code on it."""
    with httpx.Client(base_url=base_url, follow_redirects=False) as browser:
        to_login = browser.get(authorization_url)
        assert to_login.status_code == 303
        next_url = parse_qs(urlsplit(to_login.headers["location"]).query)["next"][0]
        logged = log_in(browser, email, next_url=next_url)
        assert logged.status_code == 303 and logged.headers["location"] == next_url
        consent = browser.get(next_url)
        assert consent.status_code == 200 and "Allow" in consent.text
        decided = browser.post(next_url, data={"csrf_token": csrf_of(consent.text), "decision": "allow"})
        assert decided.status_code == 303
        return decided.headers["location"]


@dataclass
class Authorization:
    """One app asking one logged-in browser's athlete for access."""

    browser: httpx.Client
    app: RegisteredApp
    verifier: str = ""
    challenge: str = ""
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    def __post_init__(self) -> None:
        self.verifier, self.challenge = pkce_pair()

    def params(self, **overrides: Any) -> dict[str, str]:
        """A valid authorization request; an override of None leaves that parameter out."""
        params = {
            "client_id": self.app.client_id,
            "response_type": "code",
            "redirect_uri": self.app.redirect_uri,
            "scope": "athlete:read calendar:read",
            "state": self.state,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
            **overrides,
        }
        return {k: v for k, v in params.items() if v is not None}

    def request(self, **overrides: Any) -> httpx.Response:
        return self.browser.get("/oauth/authorize", params=self.params(**overrides))

    def decide(self, decision: str = "allow", **overrides: Any) -> httpx.Response:
        """Open the consent page and press a button on it."""
        page = self.request(**overrides)
        assert page.status_code == 200, page.text
        action = _ACTION.search(page.text)
        assert action, "no consent form on the page"
        form = {"csrf_token": csrf_of(page.text), "decision": decision}
        return self.browser.post(html.unescape(action.group(1)), data=form)

    def code(self, **overrides: Any) -> str:
        response = self.decide(**overrides)
        assert response.status_code == 303, response.text
        return query_of(response)["code"]

    def redeem(self, code: str, client: httpx.Client | None = None, **form: Any) -> httpx.Response:
        """Exchange a code at the token endpoint, authenticated as the app is registered to."""
        body = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.app.redirect_uri,
            "code_verifier": self.verifier,
            **form,
        }
        body = {k: v for k, v in body.items() if v is not None}
        return (client or self.browser).post("/oauth/token", **_as_client(self.app, body))

    def tokens(self, **overrides: Any) -> dict[str, Any]:
        response = self.redeem(self.code(**overrides))
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


def race(count: int, request: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Send ``count`` requests at once (each thread released by one barrier) and collect the answers."""
    start = threading.Barrier(count)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def send() -> None:
        start.wait()
        response = request()
        with lock:
            results.append(response)

    threads = [threading.Thread(target=send) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# --- the app's calls to the token endpoints --------------------------------------------------------------


def _as_client(app: RegisteredApp | None, body: dict[str, str]) -> dict[str, Any]:
    """How the app authenticates: Basic for a confidential app, its client_id for a public one, or not."""
    if app is None:
        return {"data": body}
    if app.secret is None:
        return {"data": {"client_id": app.client_id, **body}}
    return {"data": body, "auth": app.basic}


def refresh(client: httpx.Client, app: RegisteredApp, token: str, **form: str) -> httpx.Response:
    body = {"grant_type": "refresh_token", "refresh_token": token, **form}
    return client.post("/oauth/token", **_as_client(app, body))


def revoke(client: httpx.Client, app: RegisteredApp | None, token: str, **form: str) -> httpx.Response:
    return client.post("/oauth/token/revoke", **_as_client(app, {"token": token, **form}))


def introspect(client: httpx.Client, app: RegisteredApp | None, token: str, **form: str) -> httpx.Response:
    return client.post("/oauth/token/introspection", **_as_client(app, {"token": token, **form}))


def works(client: httpx.Client, access_token: str) -> bool:
    """Whether the API accepts the access token."""
    return client.get("/api/v1/athlete", headers=bearer(access_token)).status_code == 200
