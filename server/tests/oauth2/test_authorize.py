"""The authorization endpoint (behaviours 1 and 2): errors, log-in, consent, CSRF and framing."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from tests.conftest import Database
from tests.oauth2.flow import Authorization, RegisteredApp, csrf_of, log_in, query_of, register_app
from trainerday_server.models import Athlete

ISSUER = "http://127.0.0.1:8000"  # the test settings' base_url


# --- 1. errors that must not redirect, and errors that must --------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"client_id": "no-such-client"}, "does not exist"),
        ({"client_id": None}, "client_id"),
        ({"redirect_uri": "https://evil.example/callback"}, "redirect_uri"),
        ({"redirect_uri": "https://app.example/callback/extra"}, "redirect_uri"),  # prefixes do not match
        ({"redirect_uri": "https://app.example/callback?x=1"}, "redirect_uri"),
        ({"redirect_uri": "HTTPS://app.example/callback"}, "redirect_uri"),  # exact, not normalised
        ({"redirect_uri": None}, "redirect_uri is required"),
    ],
    ids=["unknown-client", "no-client", "other-host", "longer-path", "extra-query", "case", "missing"],
)
def test_bad_client_or_redirect_uri_is_an_error_page_never_a_redirect(
    flow: Authorization, overrides, message
):
    response = flow.request(**overrides)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text


def test_bad_client_is_an_error_page_even_before_logging_in(browser: TestClient, confidential):
    response = Authorization(browser, confidential).request(client_id="no-such-client")
    assert response.status_code == 400 and "location" not in response.headers


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": "athlete:read not:a-scope"}, "invalid_scope"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
    ],
)
def test_other_errors_redirect_to_the_client_with_the_exact_state(flow: Authorization, overrides, error):
    state = "st@te with spaces & symbols/?=é"
    response = flow.request(state=state, **overrides)
    assert response.status_code == 303
    assert response.headers["location"].startswith(flow.app.redirect_uri + "?")
    query = query_of(response)
    assert query["error"] == error
    assert query["state"] == state
    assert query["iss"] == ISSUER
    assert "code" not in query


def test_scope_beyond_the_clients_registration_is_invalid_scope_not_dropped(logged_in, db: Database):
    narrow = register_app(db.engine, scopes="calendar:read")
    response = Authorization(logged_in, narrow).request(scope="calendar:read athlete:write")
    assert query_of(response)["error"] == "invalid_scope"


def test_without_scope_the_clients_registered_scopes_are_asked_for(logged_in, db: Database):
    narrow = register_app(db.engine, scopes="calendar:read workout:read")
    flow = Authorization(logged_in, narrow)
    page = flow.request(scope=None)
    assert "Read your training calendar" in page.text and "Read your workout library" in page.text
    assert flow.tokens(scope=None)["scope"] == "calendar:read workout:read"


@pytest.mark.parametrize("name", ["state", "scope", "response_type", "code_challenge"])
def test_a_repeated_parameter_is_invalid_request(flow: Authorization, name):
    params = [*flow.params().items(), (name, flow.params()[name])]
    response = flow.browser.get("/oauth/authorize", params=params)
    assert response.status_code == 303
    query = query_of(response)
    assert query["error"] == "invalid_request"
    assert name in query["error_description"]
    assert ("state" in query) == (name != "state")  # a repeated state is not echoed: which one would it be?


@pytest.mark.parametrize("name", ["client_id", "redirect_uri"])
def test_a_repeated_client_id_or_redirect_uri_is_an_error_page(flow: Authorization, name):
    params = [*flow.params().items(), (name, flow.params()[name])]
    response = flow.browser.get("/oauth/authorize", params=params)
    assert response.status_code == 400 and "location" not in response.headers
    assert "more than once" in response.text


# --- 2. log-in, consent, CSRF, framing ------------------------------------------------------------------


def test_not_logged_in_goes_to_log_in_and_back(browser: TestClient, athlete: Athlete, confidential):
    flow = Authorization(browser, confidential)
    response = flow.request()
    assert response.status_code == 303
    login = urlsplit(response.headers["location"])
    assert login.path == "/login"
    next_url = parse_qs(login.query)["next"][0]
    assert next_url.startswith("/oauth/authorize?")
    logged = log_in(browser, athlete.email, next_url=next_url)
    assert logged.status_code == 303 and logged.headers["location"] == next_url
    assert "Allow" in browser.get(next_url).text


def test_consent_page_names_the_app_the_scopes_and_where_it_returns(flow: Authorization, athlete: Athlete):
    page = flow.request(scope="athlete:read calendar:write")
    assert page.status_code == 200
    assert "Confidential App" in page.text and athlete.email in page.text
    assert "Read your profile, FTP and training zones" in page.text
    assert "Plan, change and delete workouts and notes on your calendar" in page.text
    assert "Read your training calendar" not in page.text
    assert "app.example" in page.text


def test_consent_page_cannot_be_framed(flow: Authorization):
    page = flow.request()
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_app_names_are_escaped_on_the_consent_page(logged_in, db: Database):
    app = register_app(db.engine, name='<script>alert("x")</script>')
    page = Authorization(logged_in, app).request()
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text


def test_allow_redirects_with_a_code_and_the_state(flow: Authorization):
    response = flow.decide("allow")
    assert response.status_code == 303
    assert response.headers["location"].startswith(flow.app.redirect_uri + "?")
    query = query_of(response)
    assert query["state"] == flow.state and query["iss"] == ISSUER
    assert query["code"].startswith("tdc_")


def test_deny_redirects_with_access_denied_and_the_state(flow: Authorization):
    response = flow.decide("deny")
    assert response.status_code == 303
    query = query_of(response)
    assert query["error"] == "access_denied" and query["state"] == flow.state and "code" not in query


def _post_consent(flow: Authorization, csrf: str) -> object:
    return flow.browser.post(
        "/oauth/authorize", params=flow.params(), data={"csrf_token": csrf, "decision": "allow"}
    )


def test_consent_without_the_sessions_csrf_token_issues_nothing(flow: Authorization):
    real = csrf_of(flow.request().text)
    tampered = real[:-1] + ("1" if real[-1] == "0" else "0")  # always a different token
    for csrf in ["", "0" * 64, tampered]:
        response = _post_consent(flow, csrf)
        assert response.status_code == 400
        assert "location" not in response.headers


def test_a_csrf_token_from_another_session_is_refused(
    flow: Authorization, app, athlete: Athlete, confidential: RegisteredApp
):
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as other:
        log_in(other, athlete.email)  # the same athlete, in another browser
        their_csrf = csrf_of(Authorization(other, confidential).request().text)
    assert _post_consent(flow, their_csrf).status_code == 400


def test_consent_posted_without_a_session_goes_to_log_in(browser: TestClient, confidential):
    flow = Authorization(browser, confidential)
    response = browser.post(
        "/oauth/authorize", params=flow.params(), data={"csrf_token": "x", "decision": "allow"}
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_the_consent_post_is_validated_again(flow: Authorization):
    page = flow.request()
    response = flow.browser.post(
        "/oauth/authorize",
        params=flow.params(redirect_uri="https://evil.example/cb"),
        data={"csrf_token": csrf_of(page.text), "decision": "allow"},
    )
    assert response.status_code == 400 and "location" not in response.headers


def test_authorization_over_plain_http_is_refused(app, athlete: Athlete, confidential):
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as insecure:
        response = Authorization(insecure, confidential).request()
    assert response.status_code == 400 and "HTTPS" in response.text
