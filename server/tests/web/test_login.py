"""The log-in page and browser sessions: cookies, CSRF, generic errors, throttling, next=, log-out."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.conftest import PASSWORD, Clock, Database, LiveServer
from tests.oauth2.flow import csrf_of, log_in, race
from trainerday_server.app import create_app
from trainerday_server.config import Settings
from trainerday_server.models import Athlete, WebSession


@pytest.fixture
def athlete(factory) -> Athlete:
    return factory.athlete()


def attempt(browser: TestClient, email: str, password: str, next_url: str = "/"):
    """A log-in as a browser makes it: the form's page first, then the form."""
    page = browser.get("/login", params={"next": next_url})
    form = {"csrf_token": csrf_of(page.text), "next": next_url, "email": email, "password": password}
    return browser.post("/login", data=form)


def is_logged_in(browser: TestClient) -> bool:
    return browser.get("/login").status_code == 303  # the log-in page sends logged-in browsers on


def set_cookie(response) -> str:
    return next(h for h in response.headers.get_list("set-cookie") if h.startswith(("td_session", "__Host-")))


# --- the page -------------------------------------------------------------------------------------------


def test_the_page_is_plain_accessible_html(browser: TestClient):
    page = browser.get("/login")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in page.text
    assert '<label for="email">' in page.text and 'id="email"' in page.text
    assert '<label for="password">' in page.text and 'autocomplete="current-password"' in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    css = browser.get("/static/style.css")
    assert css.status_code == 200 and ":focus-visible" in css.text


def test_the_session_cookie_is_httponly_and_samesite_lax(browser: TestClient):
    cookie = set_cookie(browser.get("/login")).lower()
    assert cookie.startswith("td_session=")
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # the test server's base_url is http://127.0.0.1


def test_over_https_the_cookie_is_secure_and_host_only(settings: Settings, db: Database, athlete: Athlete):
    https = settings.model_copy(update={"base_url": "https://trainerday.example"})
    with TestClient(create_app(https, engine=db.engine), base_url="https://trainerday.example") as client:
        client.follow_redirects = False
        cookie = set_cookie(client.get("/login"))
        assert cookie.startswith("__Host-td_session=") and "Secure" in cookie
        assert "Domain" not in cookie
        logged = attempt(client, athlete.email, PASSWORD)
        assert logged.status_code == 303
        assert set_cookie(logged).startswith("__Host-td_session=")


# --- logging in ------------------------------------------------------------------------------------------


def test_logging_in_replaces_the_session_cookie(browser: TestClient, athlete: Athlete, db: Database):
    before = browser.get("/login").cookies["td_session"]
    response = attempt(browser, athlete.email, PASSWORD, next_url="/docs")
    assert response.status_code == 303 and response.headers["location"] == "/docs"
    cookie = set_cookie(response)
    after = browser.cookies["td_session"]
    assert after != before  # no session fixation
    assert "Max-Age=1209600" in cookie and "HttpOnly" in cookie
    assert is_logged_in(browser)
    with db.engine.connect() as conn:
        stored = conn.execute(sa.select(WebSession.token_hash)).scalars().all()
    assert stored and after not in stored  # only a hash of it


def test_email_is_not_case_sensitive(browser: TestClient, athlete: Athlete):
    assert attempt(browser, "  " + athlete.email.upper(), PASSWORD).status_code == 303


def test_wrong_password_and_unknown_email_get_the_same_generic_error(browser: TestClient, athlete: Athlete):
    wrong = attempt(browser, athlete.email, "not the password")
    unknown = attempt(browser, "nobody@example.com", PASSWORD)
    for response in wrong, unknown:
        assert response.status_code == 401
        assert "The email or password is incorrect." in response.text
        assert 'role="alert"' in response.text
    assert wrong.text.replace(athlete.email, "nobody@example.com") == unknown.text.replace(
        csrf_of(unknown.text), csrf_of(wrong.text)
    )
    assert not is_logged_in(browser)


@pytest.mark.parametrize("csrf", [None, "", "0" * 64])
def test_log_in_without_the_sessions_csrf_token_is_refused(browser: TestClient, athlete: Athlete, csrf):
    browser.get("/login")
    form = {"email": athlete.email, "password": PASSWORD, "next": "/"}
    if csrf is not None:
        form["csrf_token"] = csrf
    response = browser.post("/login", data=form)
    assert response.status_code == 400 and "expired" in response.text
    assert not is_logged_in(browser)


def test_log_in_without_any_session_cookie_is_refused_then_works(browser: TestClient, athlete: Athlete):
    response = browser.post("/login", data={"email": athlete.email, "password": PASSWORD, "csrf_token": "x"})
    assert response.status_code == 400
    retry = {"email": athlete.email, "password": PASSWORD, "csrf_token": csrf_of(response.text), "next": "/"}
    assert browser.post("/login", data=retry).status_code == 303  # the error page started a session


# --- where to go next ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "next_url",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/\t/evil.example",
        "",
    ],
)
def test_next_cannot_leave_the_site(browser: TestClient, athlete: Athlete, next_url):
    page = browser.get("/login", params={"next": next_url})
    assert "evil" not in page.text
    response = attempt(browser, athlete.email, PASSWORD, next_url=next_url)
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_next_keeps_a_path_and_query_on_this_site(browser: TestClient, athlete: Athlete):
    target = "/oauth/authorize?client_id=abc&state=x%2Fy"
    response = attempt(browser, athlete.email, PASSWORD, next_url=target)
    assert response.headers["location"] == target


# --- throttling ------------------------------------------------------------------------------------------


def test_repeated_failures_lock_the_account_for_a_while(browser: TestClient, athlete: Athlete, clock: Clock):
    for _ in range(5):
        assert attempt(browser, athlete.email, "guess").status_code == 401
    locked = attempt(browser, athlete.email, PASSWORD)  # even the right password
    assert locked.status_code == 429 and "Too many failed log-ins" in locked.text
    assert locked.headers["retry-after"] == "900"
    assert not is_logged_in(browser)
    clock.advance(minutes=15, seconds=1)
    assert attempt(browser, athlete.email, PASSWORD).status_code == 303


def test_the_throttle_holds_across_server_processes(
    settings: Settings, db: Database, athlete: Athlete, browser: TestClient
):
    """Two app instances (as two worker processes would be) share the count through the database."""
    for _ in range(5):
        attempt(browser, athlete.email, "guess")
    with TestClient(create_app(settings, engine=db.engine), base_url="https://testserver") as other:
        other.follow_redirects = False
        assert attempt(other, athlete.email, PASSWORD).status_code == 429


def test_concurrent_guesses_check_no_more_passwords_than_the_limit(
    live_server: LiveServer, db: Database, athlete: Athlete
):
    """Many wrong passwords racing at one account on a real server process: exactly the limit are checked
    (401), every other attempt is refused unchecked (429), and the right password then is refused too."""
    with httpx.Client(base_url=live_server.base_url) as browser:
        csrf = csrf_of(browser.get("/login").text)
        cookies = dict(browser.cookies)

    def guess(password: str) -> httpx.Response:
        form = {"csrf_token": csrf, "next": "/", "email": athlete.email, "password": password}
        with httpx.Client(base_url=live_server.base_url, cookies=cookies, timeout=60) as client:
            return client.post("/login", data=form)

    statuses = sorted(r.status_code for r in race(20, lambda: guess("guess")))
    assert statuses == [401] * 5 + [429] * 15
    assert guess(PASSWORD).status_code == 429


def test_a_throttled_unknown_account_looks_like_a_known_one(browser: TestClient):
    for _ in range(5):
        attempt(browser, "nobody@example.com", "guess")
    assert attempt(browser, "nobody@example.com", "guess").status_code == 429


def test_success_forgives_the_accounts_failures(browser: TestClient, athlete: Athlete):
    for _ in range(4):
        attempt(browser, athlete.email, "guess")
    assert attempt(browser, athlete.email, PASSWORD).status_code == 303
    browser.cookies.clear()
    for _ in range(4):
        assert attempt(browser, athlete.email, "guess").status_code == 401


def test_one_address_guessing_many_accounts_is_throttled(browser: TestClient, factory, athlete: Athlete):
    for i in range(20):
        attempt(browser, f"victim{i}@example.com", "guess")
    assert attempt(browser, athlete.email, PASSWORD).status_code == 429


# --- sessions and logging out ----------------------------------------------------------------------------


def test_log_out_ends_the_session_on_every_process(
    settings: Settings, db: Database, athlete: Athlete, browser: TestClient
):
    assert log_in(browser, athlete.email).status_code == 303
    token = browser.cookies["td_session"]
    with TestClient(create_app(settings, engine=db.engine), base_url="https://testserver") as other:
        other.follow_redirects = False
        other.cookies.set("td_session", token)
        assert is_logged_in(other)  # the same session, served by another process
        response = other.post("/logout", data={"csrf_token": csrf_of(_page_with_logout_form(other))})
        assert response.status_code == 303 and response.headers["location"] == "/login"
        assert "Max-Age=0" in set_cookie(response)
    browser.cookies.set("td_session", token)
    assert not is_logged_in(browser)  # the old cookie, replayed to the first process, no longer works


def _page_with_logout_form(client: TestClient) -> str:
    """Any page rendered for a logged-in browser carries the log-out form (here: an OAuth error page)."""
    response = client.get("/oauth/authorize", params={"client_id": "none"})
    assert 'action="/logout"' in response.text
    return response.text


def test_log_out_needs_the_csrf_token(browser: TestClient, athlete: Athlete):
    log_in(browser, athlete.email)
    assert browser.post("/logout", data={"csrf_token": "0" * 64}).status_code == 400
    assert is_logged_in(browser)


def test_sessions_expire_after_two_weeks(browser: TestClient, athlete: Athlete, clock: Clock):
    log_in(browser, athlete.email)
    clock.advance(days=13)
    assert is_logged_in(browser)
    clock.advance(days=1, seconds=1)
    assert not is_logged_in(browser)


def test_sessions_go_when_the_athlete_does(browser: TestClient, athlete: Athlete, db: Database):
    log_in(browser, athlete.email)
    with db.engine.begin() as conn:
        conn.execute(sa.delete(Athlete).where(Athlete.id == athlete.id))
        assert conn.execute(sa.select(sa.func.count()).select_from(WebSession)).scalar() == 0
    assert not is_logged_in(browser)


def test_a_forged_or_overlong_cookie_is_just_no_session(browser: TestClient):
    for value in ["forged", "x" * 500]:
        browser.cookies.set("td_session", value)
        assert browser.get("/login").status_code == 200
