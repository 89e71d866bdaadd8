"""Refreshing (behaviour 6): ownership, narrower scopes only, rotation, and replay revoking the family."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.conftest import Clock, Database, Factory, LiveServer, bearer
from tests.oauth2.flow import (
    Authorization,
    RegisteredApp,
    introspect,
    log_in,
    race,
    refresh,
    register_app,
    works,
)
from trainerday_server.models import OAuthToken


def test_refresh_issues_a_new_access_and_refresh_token(flow: Authorization):
    first = flow.tokens(scope="athlete:read calendar:read")
    response = refresh(flow.browser, flow.app, first["refresh_token"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store" and response.headers["pragma"] == "no-cache"
    second = response.json()
    assert second["token_type"] == "Bearer" and second["expires_in"] == 21600
    assert second["scope"] == "athlete:read calendar:read"
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert works(flow.browser, second["access_token"])
    third = refresh(flow.browser, flow.app, second["refresh_token"])  # the new one works in turn
    assert third.status_code == 200


def test_public_clients_refresh_with_their_client_id(logged_in: TestClient, public: RegisteredApp):
    tokens = Authorization(logged_in, public).tokens()
    assert refresh(logged_in, public, tokens["refresh_token"]).status_code == 200


def test_only_the_client_it_was_issued_to_may_refresh(flow: Authorization, db: Database):
    tokens = flow.tokens()
    other = register_app(db.engine, name="Other App")
    response = refresh(flow.browser, other, tokens["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert refresh(flow.browser, flow.app, tokens["refresh_token"]).status_code == 200


def test_a_narrower_scope_may_be_asked_for(flow: Authorization):
    tokens = flow.tokens(scope="athlete:read calendar:read")
    response = refresh(flow.browser, flow.app, tokens["refresh_token"], scope="calendar:read")
    assert response.status_code == 200 and response.json()["scope"] == "calendar:read"
    narrowed = response.json()["access_token"]
    assert flow.browser.get("/api/v1/athlete", headers=bearer(narrowed)).status_code == 403


def test_narrowing_applies_to_the_access_token_only(flow: Authorization):
    """RFC 6749 6: the new refresh token keeps the scope of the grant, so a later refresh may ask for all of
    it again - by name, or by leaving scope out - but still never for more."""
    tokens = flow.tokens(scope="athlete:read calendar:read")
    narrowed = refresh(flow.browser, flow.app, tokens["refresh_token"], scope="athlete:read").json()
    assert narrowed["scope"] == "athlete:read"
    assert introspect(flow.browser, flow.app, narrowed["refresh_token"]).json()["scope"] == (
        "athlete:read calendar:read"
    )

    widened = refresh(flow.browser, flow.app, narrowed["refresh_token"], scope="calendar:read athlete:read")
    assert widened.status_code == 200 and widened.json()["scope"] == "athlete:read calendar:read"
    calendar = "/api/v1/calendar?startDate=2026-01-01&endDate=2026-01-31"
    assert flow.browser.get(calendar, headers=bearer(widened.json()["access_token"])).status_code == 200

    narrowed = refresh(flow.browser, flow.app, widened.json()["refresh_token"], scope="calendar:read").json()
    whole = refresh(flow.browser, flow.app, narrowed["refresh_token"])
    assert whole.status_code == 200 and whole.json()["scope"] == "athlete:read calendar:read"
    beyond = refresh(flow.browser, flow.app, whole.json()["refresh_token"], scope="athlete:read workout:read")
    assert beyond.status_code == 400 and beyond.json()["error"] == "invalid_scope"


@pytest.mark.parametrize("scope", ["athlete:read athlete:write", "workout:read", "not:a-scope"])
def test_a_wider_or_unknown_scope_is_invalid_scope(flow: Authorization, scope):
    tokens = flow.tokens(scope="athlete:read calendar:read")
    response = refresh(flow.browser, flow.app, tokens["refresh_token"], scope=scope)
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_replaying_a_used_refresh_token_revokes_the_whole_family(flow: Authorization, clock: Clock):
    first = flow.tokens()
    second = refresh(flow.browser, flow.app, first["refresh_token"]).json()
    assert works(flow.browser, first["access_token"]) and works(flow.browser, second["access_token"])

    clock.advance(seconds=31)  # past the grace window, in which a retry is answered instead (below)
    replay = refresh(flow.browser, flow.app, first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert not works(flow.browser, first["access_token"])
    assert not works(flow.browser, second["access_token"])
    assert refresh(flow.browser, flow.app, second["refresh_token"]).json()["error"] == "invalid_grant"


def test_another_client_presenting_a_used_refresh_token_revokes_nothing(
    flow: Authorization, public: RegisteredApp, db: Database
):
    """Replay detection is for the client the token was issued to. Anyone may authenticate as a public
    client, so one of this app's used refresh tokens (say, from a log) must not let them end its
    authorization."""
    first = flow.tokens()
    second = refresh(flow.browser, flow.app, first["refresh_token"]).json()
    for presenter in public, register_app(db.engine, name="Other App"):
        response = refresh(flow.browser, presenter, first["refresh_token"])
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert works(flow.browser, second["access_token"])
    assert refresh(flow.browser, flow.app, second["refresh_token"]).status_code == 200


def test_other_authorizations_survive_a_replay(flow: Authorization):
    mine = flow.tokens()
    unrelated = flow.tokens()  # the same athlete approved the same app again: another family
    refresh(flow.browser, flow.app, mine["refresh_token"])
    refresh(flow.browser, flow.app, mine["refresh_token"])  # replay
    assert works(flow.browser, unrelated["access_token"])
    assert refresh(flow.browser, flow.app, unrelated["refresh_token"]).status_code == 200


def test_an_access_token_is_not_a_refresh_token(flow: Authorization):
    tokens = flow.tokens()
    response = refresh(flow.browser, flow.app, tokens["access_token"])
    assert response.json()["error"] == "invalid_grant"
    assert refresh(flow.browser, flow.app, "tdr_unknown").json()["error"] == "invalid_grant"


def test_a_missing_refresh_token_is_invalid_request(flow: Authorization):
    response = flow.browser.post("/oauth/token", data={"grant_type": "refresh_token"}, auth=flow.app.basic)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_refresh_tokens_outlive_access_tokens_but_not_forever(flow: Authorization, clock: Clock):
    tokens = flow.tokens()
    clock.advance(hours=7)
    assert not works(flow.browser, tokens["access_token"])
    renewed = refresh(flow.browser, flow.app, tokens["refresh_token"])
    assert renewed.status_code == 200 and works(flow.browser, renewed.json()["access_token"])
    clock.advance(days=91)
    stale = refresh(flow.browser, flow.app, renewed.json()["refresh_token"])
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"


def test_concurrent_refreshes_rotate_once(live_server: LiveServer, factory: Factory, db: Database):
    """Many requests racing to refresh with one token against a real server process (default settings: a
    30 s grace window): the token is rotated once, and every racer - a client retrying - gets that one new
    pair, which works."""
    athlete = factory.athlete()
    app = register_app(db.engine)
    with httpx.Client(base_url=live_server.base_url, follow_redirects=False) as browser:
        log_in(browser, athlete.email)
        tokens = Authorization(browser, app).tokens()

    def send() -> httpx.Response:
        with httpx.Client(base_url=live_server.base_url, timeout=30) as client:
            return refresh(client, app, tokens["refresh_token"])

    results = race(8, send)
    assert [r.status_code for r in results] == [200] * 8, [r.text for r in results]
    pairs = {(r.json()["access_token"], r.json()["refresh_token"]) for r in results}
    assert len(pairs) == 1
    with db.engine.connect() as conn:
        count = sa.select(sa.func.count()).select_from(OAuthToken).where(OAuthToken.athlete_id == athlete.id)
        assert conn.scalar(count) == 2  # the first pair and its one rotation
    ((access, refresh_token),) = pairs
    with httpx.Client(base_url=live_server.base_url) as client:
        assert works(client, access)
        assert refresh(client, app, refresh_token).status_code == 200


def test_a_retry_within_the_grace_window_gets_the_same_pair(flow: Authorization, clock: Clock):
    first = flow.tokens()
    lost = refresh(flow.browser, flow.app, first["refresh_token"]).json()  # the client never saw this
    clock.advance(seconds=29)
    retried = refresh(flow.browser, flow.app, first["refresh_token"])
    assert retried.status_code == 200
    again = retried.json()
    assert (again["access_token"], again["refresh_token"]) == (lost["access_token"], lost["refresh_token"])
    assert again["scope"] == lost["scope"] and 0 < again["expires_in"] <= lost["expires_in"]
    assert retried.headers["cache-control"] == "no-store"
    assert works(flow.browser, again["access_token"])
    assert refresh(flow.browser, flow.app, again["refresh_token"]).status_code == 200


def test_a_retry_after_the_new_pair_was_used_is_a_replay(flow: Authorization):
    first = flow.tokens()
    second = refresh(flow.browser, flow.app, first["refresh_token"]).json()
    third = refresh(flow.browser, flow.app, second["refresh_token"]).json()  # the client did get `second`
    replay = refresh(flow.browser, flow.app, first["refresh_token"])  # within 30 s, but not a lost answer
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert not works(flow.browser, third["access_token"])


def test_with_the_grace_window_off_a_replay_revokes_at_once(flow: Authorization):
    state = flow.browser.app.state  # type: ignore[attr-defined]
    state.settings = state.settings.model_copy(update={"refresh_token_grace_seconds": 0})
    first = flow.tokens()
    second = refresh(flow.browser, flow.app, first["refresh_token"]).json()
    replay = refresh(flow.browser, flow.app, first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert not works(flow.browser, second["access_token"])
