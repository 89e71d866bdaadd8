"""OAuth access tokens on the API (behaviour 9): the same bearer dependency as td_ keys, the same answers."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import Caller, Clock, bearer
from tests.oauth2.flow import Authorization, revoke

CALENDAR = "/api/v1/calendar?startDate=2026-01-01&endDate=2026-01-31"


def test_an_access_token_reads_the_api_for_its_athlete(flow: Authorization, athlete):
    token = flow.tokens()["access_token"]
    response = flow.browser.get("/api/v1/athlete", headers=bearer(token))
    assert response.status_code == 200 and response.json()["email"] == athlete.email
    assert flow.browser.get(CALENDAR, headers=bearer(token)).status_code == 200


def _invalid_token(response) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer realm="trainerday", error="invalid_token"')
    assert response.headers["content-type"] == "application/problem+json"


def test_expired_after_six_hours(flow: Authorization, clock: Clock):
    token = flow.tokens()["access_token"]
    clock.advance(hours=6, seconds=-1)
    assert flow.browser.get("/api/v1/athlete", headers=bearer(token)).status_code == 200
    clock.advance(seconds=1)
    _invalid_token(flow.browser.get("/api/v1/athlete", headers=bearer(token)))


def test_revoked_is_invalid_token(flow: Authorization):
    token = flow.tokens()["access_token"]
    revoke(flow.browser, flow.app, token)
    _invalid_token(flow.browser.get("/api/v1/athlete", headers=bearer(token)))


@pytest.mark.parametrize("token", ["tdo_" + "A" * 43, "tdo_x", "tdr_" + "A" * 43, "tdc_" + "A" * 43])
def test_unknown_is_invalid_token(browser: TestClient, token):
    _invalid_token(browser.get("/api/v1/athlete", headers=bearer(token)))


def test_a_refresh_token_is_not_an_access_token(flow: Authorization):
    tokens = flow.tokens()
    _invalid_token(flow.browser.get("/api/v1/athlete", headers=bearer(tokens["refresh_token"])))


def test_missing_scope_is_403_insufficient_scope(flow: Authorization):
    token = flow.tokens(scope="calendar:read")["access_token"]
    response = flow.browser.get("/api/v1/athlete", headers=bearer(token))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer realm="trainerday", error="insufficient_scope", '
        'error_description="this request needs the athlete:read scope", scope="athlete:read"'
    )
    write = flow.browser.post(
        "/api/v1/calendar/events", headers=bearer(token), json={"calendarDate": "2026-01-01", "title": "x"}
    )
    assert write.status_code == 403 and 'scope="calendar:write"' in write.headers["www-authenticate"]


def test_in_the_query_string_is_refused(flow: Authorization):
    token = flow.tokens()["access_token"]
    response = flow.browser.get(f"/api/v1/athlete?access_token={token}")
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["www-authenticate"]


def test_api_keys_and_oauth_tokens_side_by_side(flow: Authorization, me: Caller):
    token = flow.tokens()["access_token"]
    mine = flow.browser.get("/api/v1/athlete", headers=bearer(token)).json()
    theirs = flow.browser.get("/api/v1/athlete", headers=me.headers).json()
    assert mine["id"] != theirs["id"] and theirs["id"] == me.athlete.id


def test_the_calendar_cache_sees_changes_made_through_an_oauth_token(flow: Authorization):
    """The resolver reports the athlete's data revision, which keys the whole-response calendar cache."""
    token = flow.tokens(scope="calendar:read calendar:write")["access_token"]
    assert flow.browser.get(CALENDAR, headers=bearer(token)).json() == {"data": []}
    created = flow.browser.post(
        "/api/v1/calendar/events", headers=bearer(token), json={"calendarDate": "2026-01-05", "title": "Ride"}
    )
    assert created.status_code == 201
    assert [e["title"] for e in flow.browser.get(CALENDAR, headers=bearer(token)).json()["data"]] == ["Ride"]
