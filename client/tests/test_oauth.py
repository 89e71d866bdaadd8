"""OAuth helpers: the authorization URL with state and PKCE S256, code exchange, refresh before expiry and on
a 401 invalid_token (once), the persist callback, revoke."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import threading
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mock_api import ATHLETE, ok, problem

import trainerday as td

INVALID = {
    "WWW-Authenticate": 'Bearer realm="trainerday", error="invalid_token", error_description="expired"'
}


class FakeServer:
    """A token endpoint and one API route: access tokens are valid until revoked, refresh tokens rotate."""

    def __init__(self) -> None:
        self.valid = {"tdo_1"}
        self.refresh_tokens = {"tdr_1"}
        self.issued = 1
        self.token_requests: list[dict[str, list[str]]] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            form = parse_qs(request.content.decode())
            self.token_requests.append(form)
            if request.headers.get("Authorization") != "Basic " + base64.b64encode(b"app:secret").decode():
                return ok({"error": "invalid_client"}, 401)
            with self.lock:
                if form["grant_type"] == ["refresh_token"]:
                    if form["refresh_token"][0] not in self.refresh_tokens:
                        return ok({"error": "invalid_grant", "error_description": "refresh token used"}, 400)
                    self.refresh_tokens.discard(form["refresh_token"][0])
                self.issued += 1
                access, refresh = f"tdo_{self.issued}", f"tdr_{self.issued}"
                self.valid.add(access)
                self.refresh_tokens.add(refresh)
            return ok({"access_token": access, "refresh_token": refresh, "expires_in": 21600,
                       "token_type": "Bearer", "scope": "athlete:read"})  # fmt: skip
        if request.url.path == "/oauth/token/revoke":
            return httpx.Response(200)
        token = request.headers["Authorization"].removeprefix("Bearer ")
        if token not in self.valid:
            return problem(401, headers=INVALID)
        return ok(ATHLETE)


def app_for(server: FakeServer) -> td.OAuthApp:
    return td.OAuthApp(
        "app",
        "secret",
        redirect_uri="https://app.example/callback",
        base_url="http://api.test",
        transport=httpx.MockTransport(server),
        async_transport=httpx.MockTransport(server),
    )


def tokens(expires_in: float = 3600, access: str = "tdo_1") -> td.Tokens:
    return td.Tokens(access, "tdr_1", dt.datetime.now(dt.UTC) + dt.timedelta(seconds=expires_in))


def test_authorization_url_carries_state_and_an_s256_challenge_of_the_verifier():
    app = td.OAuthApp("app", redirect_uri="http://127.0.0.1:9/cb", base_url="https://td.example")
    first = app.authorization_url(["athlete:read", "calendar:read"])
    query = {k: v[0] for k, v in parse_qs(urlsplit(first.url).query).items()}
    assert first.url.startswith("https://td.example/oauth/authorize?")
    digest = hashlib.sha256(first.code_verifier.encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert query["code_challenge_method"] == "S256" and query["state"] == first.state
    assert query["scope"] == "athlete:read calendar:read" and query["response_type"] == "code"
    assert 43 <= len(first.code_verifier) <= 128
    second = app.authorization_url("athlete:read")
    assert second.state != first.state and second.code_verifier != first.code_verifier


def test_code_from_redirect_checks_state():
    url = "https://app.example/callback?code=tdc_abc&state=s1&iss=x"
    assert td.OAuthApp.code_from_redirect(url, "s1") == "tdc_abc"
    with pytest.raises(td.TrainerDayError, match="state"):
        td.OAuthApp.code_from_redirect(url, "s2")
    with pytest.raises(td.TrainerDayError, match="access_denied"):
        td.OAuthApp.code_from_redirect("https://app.example/callback?error=access_denied&state=s1", "s1")


def test_exchange_code_sends_verifier_and_redirect_uri():
    server = FakeServer()
    got = app_for(server).exchange_code("tdc_abc", "verifier-123")
    form = server.token_requests[0]
    assert form["grant_type"] == ["authorization_code"] and form["code_verifier"] == ["verifier-123"]
    assert form["redirect_uri"] == ["https://app.example/callback"]
    assert got.access_token == "tdo_2" and got.refresh_token == "tdr_2"
    assert got.expires_at is not None and got.expires_at > dt.datetime.now(dt.UTC) + dt.timedelta(hours=5)


def test_a_public_app_sends_its_client_id_in_the_form():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({"access_token": "tdo_x", "expires_in": 60})

    app = td.OAuthApp(
        "public-app", redirect_uri="x:/cb", base_url="http://t", transport=httpx.MockTransport(answer)
    )
    app.exchange_code("c", "v")
    assert "authorization" not in seen[0].headers
    assert parse_qs(seen[0].content.decode())["client_id"] == ["public-app"]


def test_refreshes_before_expiry_and_persists_the_new_pair():
    server = FakeServer()
    saved: list[td.Tokens] = []
    client = td.Client(
        tokens=tokens(expires_in=30),  # within the refresh margin
        oauth_app=app_for(server),
        on_token_refresh=saved.append,
        base_url="http://api.test",
        transport=httpx.MockTransport(server),
    )
    assert client.athlete.get().id == 7
    assert [t.access_token for t in saved] == ["tdo_2"] and saved[0].refresh_token == "tdr_2"
    assert client.tokens == saved[0]
    client.athlete.get()
    assert len(server.token_requests) == 1  # the fresh pair is used, not refreshed again


def test_refreshes_once_on_401_invalid_token_and_retries_the_call():
    server = FakeServer()
    server.valid.clear()  # tdo_1 was revoked or expired early
    saved: list[td.Tokens] = []
    client = td.Client(tokens=tokens(), oauth_app=app_for(server), on_token_refresh=saved.append,
                       base_url="http://api.test", transport=httpx.MockTransport(server))  # fmt: skip
    assert client.athlete.get().name == "Ada"
    assert len(saved) == 1 and len(server.token_requests) == 1


def test_a_second_401_after_refreshing_is_raised_not_looped():
    server = FakeServer()
    api_calls: list[httpx.Request] = []

    def always_refused(request: httpx.Request) -> httpx.Response:
        api_calls.append(request)
        return problem(401, headers=INVALID)

    client = td.Client(tokens=tokens(), oauth_app=app_for(server), base_url="http://api.test",
                       transport=httpx.MockTransport(always_refused))  # fmt: skip
    with pytest.raises(td.AuthenticationError):
        client.athlete.get()
    assert len(server.token_requests) == 1 and len(api_calls) == 2
    assert api_calls[1].headers["Authorization"] == "Bearer tdo_2"


def test_a_refused_refresh_raises_oauth_error():
    server = FakeServer()
    server.refresh_tokens.clear()
    client = td.Client(tokens=tokens(expires_in=0), oauth_app=app_for(server), base_url="http://api.test",
                       transport=httpx.MockTransport(server))  # fmt: skip
    with pytest.raises(td.OAuthError) as caught:
        client.athlete.get()
    assert caught.value.error == "invalid_grant" and isinstance(caught.value, td.AuthenticationError)


def test_an_api_key_401_is_not_refreshed():
    server = FakeServer()
    client = td.Client(
        api_key="td_revoked", base_url="http://api.test", transport=httpx.MockTransport(server)
    )
    with pytest.raises(td.AuthenticationError):
        client.athlete.get()
    assert server.token_requests == []


def test_concurrent_calls_refresh_once():
    """Refresh tokens rotate: two refreshes racing would spend the same one twice and fail."""
    server = FakeServer()
    client = td.Client(tokens=tokens(expires_in=5), oauth_app=app_for(server), base_url="http://api.test",
                       transport=httpx.MockTransport(server))  # fmt: skip
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def call() -> None:
        start.wait()
        try:
            client.athlete.get()
        except BaseException as exc:  # collected for the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and len(server.token_requests) == 1


def test_revoke_posts_the_token():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    app = td.OAuthApp("app", "secret", redirect_uri="x:/cb", base_url="http://t",
                      transport=httpx.MockTransport(answer))  # fmt: skip
    app.revoke("tdr_9")
    assert seen[0].url.path == "/oauth/token/revoke" and parse_qs(seen[0].content.decode()) == {
        "token": ["tdr_9"]
    }


def test_tokens_round_trip_through_a_dict():
    original = tokens()
    assert td.Tokens.from_dict(original.to_dict()) == original


def test_a_naive_expiry_is_taken_as_utc():
    soon = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=30)
    later = soon + dt.timedelta(hours=1)
    assert td.Tokens("tdo_x", "tdr_x", soon).expires_soon()
    assert not td.Tokens("tdo_x", "tdr_x", later).expires_soon()
    assert not td.Tokens("tdo_x").expires_soon()  # no expiry known: refreshed only on a 401


def test_async_client_refreshes_on_invalid_token():
    server = FakeServer()
    server.valid.clear()
    saved: list[td.Tokens] = []

    async def run() -> td.Athlete:
        client = td.AsyncClient(
            tokens=tokens(),
            oauth_app=app_for(server),
            on_token_refresh=saved.append,
            base_url="http://api.test",
            transport=httpx.MockTransport(server),
        )
        async with client:
            return await client.athlete.get()

    assert asyncio.run(run()).id == 7 and len(saved) == 1


def test_token_requests_retry_only_where_nothing_happened():
    answers: list[httpx.Response | Exception] = [
        httpx.ConnectError("refused"),
        problem(503, headers={"Retry-After": "2"}),
        ok({"access_token": "tdo_9", "refresh_token": "tdr_9", "expires_in": 60}),
    ]
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        next_answer = answers.pop(0)
        if isinstance(next_answer, Exception):
            raise next_answer
        return next_answer

    app = td.OAuthApp(
        "app", "secret", redirect_uri="x:/cb", base_url="http://t", transport=httpx.MockTransport(answer)
    )
    slept: list[float] = []
    app._sleep = slept.append
    assert app.refresh(tokens()).access_token == "tdo_9"
    assert len(sent) == 3 and slept[1] == 2.0
    # a refresh whose answer was lost is not sent again: the server may already have spent the token
    answers[:] = [httpx.ReadTimeout("lost")]
    with pytest.raises(td.APIConnectionError):
        app.refresh(tokens())
    assert len(sent) == 4
