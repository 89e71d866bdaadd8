"""/developer: personal API keys made, shown once, used, listed and revoked; connected apps disconnected."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.conftest import bearer
from tests.oauth2.flow import Authorization, register_app
from tests.web.pages import logged_in, messages, submit
from trainerday_server.auth.tokens import token_hash
from trainerday_server.models import ApiKey

_SHOWN_KEY = re.compile(r'id="new-key" type="text" readonly value="(td_[A-Za-z0-9_-]+)"')


def create_key(
    browser: TestClient, name: str = "script", scopes=("athlete:read",), expires: str = ""
) -> httpx.Response:
    return submit(
        browser, "/developer", "/developer/keys", {"name": name, "scopes": list(scopes), "expires": expires}
    )


def test_a_new_key_is_shown_once_and_works_with_exactly_its_scopes(
    browser: TestClient, factory, db, settings
):
    athlete = factory.athlete()
    logged_in(browser, athlete.email)
    created = create_key(browser, scopes=("athlete:read", "calendar:read"))
    assert created.status_code == 200
    key = _SHOWN_KEY.search(created.text).group(1)
    assert "shown only this once" in created.text
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(ApiKey.token_hash, ApiKey.scopes, ApiKey.athlete_id)).one()
    assert row.token_hash == token_hash(settings.resolved_secret_key, key) and row.athlete_id == athlete.id
    assert row.scopes == "athlete:read calendar:read"
    api = TestClient(browser.app)
    assert api.get("/api/v1/athlete", headers=bearer(key)).json()["email"] == athlete.email
    assert api.get("/api/v1/workouts", headers=bearer(key)).status_code == 403  # not a scope it was given
    listing = browser.get("/developer").text
    assert key not in listing and key[:7] + "…" in listing and "script" in listing


def test_revoking_a_key_stops_it_and_another_athletes_key_cannot_be_revoked(browser: TestClient, factory, db):
    athlete, other = factory.athlete(), factory.athlete()
    other_key = factory.key(other.id)
    logged_in(browser, athlete.email)
    key = _SHOWN_KEY.search(create_key(browser).text).group(1)
    api = TestClient(browser.app)
    with db.engine.connect() as conn:
        mine = conn.scalar(sa.select(ApiKey.id).where(ApiKey.athlete_id == athlete.id))
        theirs = conn.scalar(sa.select(ApiKey.id).where(ApiKey.athlete_id == other.id))
    refused = submit(browser, "/developer", f"/developer/keys/{theirs}/revoke")
    assert refused.status_code == 404
    assert api.get("/api/v1/athlete", headers=bearer(other_key)).status_code == 200
    revoked = submit(browser, "/developer", f"/developer/keys/{mine}/revoke")
    assert revoked.status_code == 303
    assert api.get("/api/v1/athlete", headers=bearer(key)).status_code == 401
    assert "revoked" in " ".join(messages(browser.get(revoked.headers["location"]).text))


def test_a_key_with_an_expiry_stops_after_that_day(browser: TestClient, factory, db):
    logged_in(browser, factory.athlete().email)
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    key = _SHOWN_KEY.search(create_key(browser, expires=tomorrow).text).group(1)
    api = TestClient(browser.app)
    assert api.get("/api/v1/athlete", headers=bearer(key)).status_code == 200
    with db.engine.begin() as conn:  # move the expiry into the past, as time passing would
        conn.execute(sa.update(ApiKey).values(expires_at=int(dt.datetime.now(dt.UTC).timestamp()) - 1))
    assert api.get("/api/v1/athlete", headers=bearer(key)).status_code == 401


def test_bad_key_forms_are_refused_with_the_reason_and_create_nothing(browser: TestClient, factory, db):
    logged_in(browser, factory.athlete().email)
    yesterday = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
    for fields, error in [
        ({"scopes": ()}, "choose at least one scope"),
        ({"scopes": ("root",)}, "unknown scope"),
        ({"name": " "}, "1 to 100 characters"),
        ({"name": "x" * 101}, "at most 100"),
        ({"expires": yesterday}, "today or later"),
        ({"expires": "soon"}, "YYYY-MM-DD"),
    ]:
        response = create_key(browser, **fields)
        assert response.status_code == 400, fields
        assert any(error in m for m in messages(response.text)), (fields, messages(response.text))
    with db.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(ApiKey)) == 0


def test_forms_without_the_csrf_token_change_nothing(browser: TestClient, factory, db):
    athlete = factory.athlete()
    factory.key(athlete.id)
    logged_in(browser, athlete.email)
    with db.engine.connect() as conn:
        key_id = conn.scalar(sa.select(ApiKey.id))
    assert browser.post("/developer/keys", data={"name": "x", "scopes": "athlete:read"}).status_code == 400
    assert browser.post(f"/developer/keys/{key_id}/revoke", data={"csrf_token": "forged"}).status_code == 400
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count(), sa.func.max(ApiKey.revoked_at))).one() == (1, None)


def test_connected_apps_are_listed_and_disconnecting_stops_their_tokens(browser: TestClient, factory, db):
    athlete = factory.athlete()
    app = register_app(db.engine, name="Zone Coach")
    logged_in(browser, athlete.email)
    tokens = Authorization(browser, app).tokens(scope="athlete:read calendar:read")
    api = TestClient(browser.app)
    assert api.get("/api/v1/athlete", headers=bearer(tokens["access_token"])).status_code == 200
    page = browser.get("/developer").text
    assert "Zone Coach" in page and "calendar:read" in page
    disconnected = submit(browser, "/developer", f"/developer/connections/{app.client_id}/disconnect")
    assert disconnected.status_code == 303
    assert api.get("/api/v1/athlete", headers=bearer(tokens["access_token"])).status_code == 401
    assert "Zone Coach" not in browser.get("/developer").text
