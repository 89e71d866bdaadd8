"""Authorization codes (behaviour 4): entropy, lifetime, binding, single use even when raced."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.conftest import Clock, Database, Factory, LiveServer, bearer
from tests.oauth2.flow import Authorization, log_in, race, register_app
from trainerday_server.models import OAuthAuthorizationCode


def test_codes_carry_256_random_bits_and_are_stored_only_as_hashes(flow: Authorization, db: Database):
    codes = {flow.code() for _ in range(3)}
    assert len(codes) == 3
    for code in codes:
        assert code.startswith("tdc_") and len(code) == 4 + 43  # 32 bytes, base64url
    with db.engine.connect() as conn:
        stored = conn.execute(sa.select(OAuthAuthorizationCode.code_hash)).scalars().all()
    assert len(stored) == 3 and not codes & set(stored)
    assert all(len(h) == 64 for h in stored)


def test_a_code_expires_after_ten_minutes(flow: Authorization, clock: Clock):
    in_time, late = flow.code(), flow.code()  # issued at the same (frozen) moment
    clock.advance(minutes=9, seconds=59)
    assert flow.redeem(in_time).status_code == 200
    clock.advance(seconds=2)
    assert flow.redeem(late).json()["error"] == "invalid_grant"


def test_a_code_is_bound_to_its_client(flow: Authorization, db: Database):
    other = register_app(db.engine, name="Other App")
    code = flow.code()
    response = flow.browser.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": other.redirect_uri},
        auth=other.basic,
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert flow.redeem(code).status_code == 200  # the rightful client can still use it


def test_a_code_is_bound_to_its_redirect_uri(logged_in: TestClient, db: Database):
    app = register_app(db.engine, redirect_uris=("https://app.example/a", "https://app.example/b"))
    flow = Authorization(logged_in, app)
    code = flow.code(redirect_uri="https://app.example/a")
    assert flow.redeem(code, redirect_uri="https://app.example/b").json()["error"] == "invalid_grant"
    assert flow.redeem(code, redirect_uri=None).json()["error"] == "invalid_request"
    assert flow.redeem(code, redirect_uri="https://app.example/a").status_code == 200


def test_a_reused_code_is_refused_and_revokes_what_it_issued(flow: Authorization):
    code = flow.code()
    first = flow.redeem(code)
    assert first.status_code == 200
    access = first.json()["access_token"]
    assert flow.browser.get("/api/v1/athlete", headers=bearer(access)).status_code == 200
    refreshed = flow.browser.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first.json()["refresh_token"]},
        auth=flow.app.basic,
    ).json()

    again = flow.redeem(code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    for token in (access, refreshed["access_token"]):
        assert flow.browser.get("/api/v1/athlete", headers=bearer(token)).status_code == 401
    refresh = flow.browser.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
        auth=flow.app.basic,
    )
    assert refresh.json()["error"] == "invalid_grant"


def test_concurrent_redemption_issues_tokens_once(live_server: LiveServer, factory: Factory, db: Database):
    """Many requests racing to redeem one code against a real server process: exactly one gets tokens,
    every other gets invalid_grant - and, a code having been used twice, the one issued is revoked."""
    athlete = factory.athlete()
    app = register_app(db.engine)
    with httpx.Client(base_url=live_server.base_url, follow_redirects=False) as browser:
        assert log_in(browser, athlete.email).status_code == 303
        flow = Authorization(browser, app)
        code = flow.code()

    def redeem() -> httpx.Response:
        with httpx.Client(base_url=live_server.base_url, timeout=30) as client:
            return flow.redeem(code, client=client)

    results = race(8, redeem)
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] + [400] * 7, [r.text for r in results]
    assert {r.json()["error"] for r in results if r.status_code == 400} == {"invalid_grant"}
    winner = next(r for r in results if r.status_code == 200).json()
    api = httpx.get(live_server.base_url + "/api/v1/athlete", headers=bearer(winner["access_token"]))
    assert api.status_code == 401
