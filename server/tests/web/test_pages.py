"""The public API page, sign-up, the log-in redirect of every athlete page, and the headers every page has."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from starlette.testclient import TestClient

from tests.conftest import PASSWORD, Database, iter_routes
from tests.oauth2.flow import csrf_of
from tests.web.pages import logged_in, messages
from trainerday_server.app import create_app
from trainerday_server.config import Settings
from trainerday_server.models import Athlete, WebSession
from trainerday_server.web.account import SIGNUP_REFUSED

ATHLETE_PAGES = ["/developer", "/developer/apps", "/settings"]
PUBLIC_PAGES = ["/", "/login", "/signup"]


def rows_of(page: str) -> set[tuple[str, str, str]]:
    """(method, path, scope) of each row of the endpoint table."""
    table = page.split('<table class="endpoints">')[1].split("</table>")[0]
    found = set()
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [
            html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        if cells:
            found.add((cells[0], cells[1], cells[3]))
    return found


def test_the_api_page_lists_every_api_operation_from_the_route_table(client: TestClient, app):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    rows = rows_of(page.text)
    expected = {
        (method, route.path)
        for route in iter_routes(app.routes)
        if isinstance(route, APIRoute) and route.include_in_schema and route.path.startswith("/api/")
        for method in route.methods - {"HEAD"}
    }
    assert expected and expected <= {(m, p) for m, p, _ in rows}
    assert ("GET", "/api/v1/athlete", "athlete:read") in rows
    assert ("POST", "/api/v1/calendar/events", "calendar:write") in rows
    assert ("DELETE", "/api/v1/athlete/connections/{client_id}", "athlete:write") in rows


def test_the_api_page_has_the_quick_start_with_this_servers_address(client: TestClient, settings: Settings):
    page = client.get("/").text
    assert f'curl -H "Authorization: Bearer td_..." {settings.base_url}/api/v1/athlete' in html.unescape(page)
    assert 'href="/developer"' in page and "Get your API key" in page
    assert 'href="/docs"' in page and "Explore the API" in page
    for scope in ("athlete:read", "activities:write"):
        assert f"<code>{scope}</code>" in page


@pytest.mark.parametrize("path", ATHLETE_PAGES)
def test_athlete_pages_send_a_logged_out_visitor_to_log_in_and_back(browser: TestClient, path: str, factory):
    response = browser.get(path, params={"x": "1"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=" + f"{path}?x=1".replace("/", "%2F").replace(
        "?", "%3F"
    ).replace("=", "%3D")
    athlete = factory.athlete()
    back = browser.post(
        "/login",
        data={
            "csrf_token": csrf_of(browser.get(response.headers["location"]).text),
            "next": f"{path}?x=1",
            "email": athlete.email,
            "password": PASSWORD,
        },
    )
    assert back.status_code == 303 and back.headers["location"] == f"{path}?x=1"
    assert browser.get(path).status_code == 200


@pytest.mark.parametrize("path", PUBLIC_PAGES + ATHLETE_PAGES)
def test_every_page_carries_the_security_headers(browser: TestClient, factory, path: str):
    logged_in(browser, factory.athlete().email)
    response = browser.get(path, follow_redirects=True)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in response.text and " on" + "click=" not in response.text  # no inline script


def test_the_script_and_stylesheet_are_served_from_this_server(client: TestClient):
    assert (
        client.get("/static/app.js")
        .headers["content-type"]
        .startswith(("text/javascript", "application/javascript"))
    )
    assert "http" not in client.get("/static/style.css").text  # no font or image from elsewhere


# --- sign up ---------------------------------------------------------------------------------------------


def sign_up(browser: TestClient, **fields: str):
    page = browser.get("/signup")
    data = {"email": "new@example.com", "name": "New Rider", "password": PASSWORD, "password_again": PASSWORD}
    return browser.post("/signup", data={"csrf_token": csrf_of(page.text), **data, **fields})


def test_signing_up_creates_the_athlete_and_logs_in(browser: TestClient, db: Database):
    response = sign_up(browser, email="  New@Example.com ")
    assert response.status_code == 303 and response.headers["location"] == "/developer"
    assert browser.get("/developer").status_code == 200
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(Athlete.email, Athlete.name, Athlete.password_hash)).one()
    assert row.email == "new@example.com" and row.name == "New Rider"
    assert row.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"password": "short", "password_again": "short"}, "at least 8 characters"),
        ({"password_again": "something else"}, "The two passwords differ."),
        ({"email": "not-an-email"}, "is not an email address"),
        ({"password": "x" * 1025, "password_again": "x" * 1025}, "at most 1024"),
        ({"password": "new@example.com", "password_again": "new@example.com"}, "cannot be your email"),
        ({"name": "n\x00ul"}, "NUL"),
    ],
)
def test_bad_sign_ups_are_refused_with_the_reason_and_create_nothing(
    browser: TestClient, db: Database, fields, error
):
    response = sign_up(browser, **fields)
    assert response.status_code == 400
    assert any(error in m for m in messages(response.text)), messages(response.text)
    with db.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Athlete)) == 0


def test_signing_up_with_a_taken_email_does_not_say_it_is_taken(browser: TestClient, factory, db: Database):
    taken = factory.athlete("taken@example.com")
    response = sign_up(
        browser, email="taken@example.com", password="another pass", password_again="another pass"
    )
    assert response.status_code == 400 and messages(response.text) == [SIGNUP_REFUSED]
    assert "taken@example.com already" not in response.text
    with db.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Athlete)) == 1
        assert conn.scalar(sa.select(sa.func.count()).select_from(WebSession)) == 0
    assert taken.email == "taken@example.com"


def test_a_sign_up_without_the_forms_csrf_token_is_refused(browser: TestClient, db: Database):
    browser.get("/signup")
    response = browser.post(
        "/signup",
        data={
            "email": "a@example.com",
            "password": PASSWORD,
            "password_again": PASSWORD,
            "csrf_token": "forged",
        },
    )
    assert response.status_code == 400
    with db.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Athlete)) == 0


def test_closed_sign_up_refuses_the_page_and_the_form(settings: Settings, db: Database):
    closed = settings.model_copy(update={"signup": "closed"})
    with TestClient(create_app(closed, engine=db.engine), follow_redirects=False) as browser:
        page = browser.get("/signup")
        assert page.status_code == 403 and "Sign-up is closed" in page.text
        assert 'href="/signup"' not in browser.get("/login").text
        form = {"email": "a@example.com", "password": PASSWORD, "password_again": PASSWORD, "csrf_token": "x"}
        assert browser.post("/signup", data=form).status_code == 403
    with db.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Athlete)) == 0


def test_a_missing_thing_on_a_page_is_an_html_404_that_keeps_the_session(browser: TestClient, factory):
    logged_in(browser, factory.athlete().email)
    missing = browser.get("/workouts/999999")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "no workout" in missing.text.lower() and "set-cookie" not in missing.headers
    assert browser.get("/settings").status_code == 200  # still logged in
    api = browser.get("/api/v1/workouts/999999")
    assert api.headers["content-type"].startswith("application/problem+json")


def test_simultaneous_sign_ups_with_one_email_make_one_account(live_server, db: Database):
    """Against a real server: four browsers submit the same email at once; one account, no error page."""
    import itertools
    import threading

    import httpx

    from tests.oauth2.flow import race

    browsers = [httpx.Client(base_url=live_server.base_url, timeout=60) for _ in range(4)]
    forms = [
        {
            "csrf_token": csrf_of(b.get("/signup").text),
            "email": "race@example.com",
            "password": PASSWORD,
            "password_again": PASSWORD,
        }
        for b in browsers
    ]
    turn, lock = itertools.count(), threading.Lock()

    def sign_up_once():
        with lock:
            i = next(turn)
        return browsers[i].post("/signup", data=forms[i])

    answers = sorted(r.status_code for r in race(4, sign_up_once))
    for b in browsers:
        b.close()
    assert answers == [303, 400, 400, 400]
    with db.engine.connect() as conn:
        assert (
            conn.scalar(
                sa.select(sa.func.count()).select_from(Athlete).where(Athlete.email == "race@example.com")
            )
            == 1
        )


def test_a_form_sent_after_logging_out_leads_back_to_its_page_not_to_its_action(browser: TestClient):
    response = browser.post("/developer/keys/1/revoke", data={"csrf_token": "x"})
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Fdeveloper"
