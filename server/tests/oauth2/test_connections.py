"""Connected apps (behaviour 10): GET/DELETE /api/v1/athlete/connections[/{clientId}]."""

from __future__ import annotations

import datetime as dt
import time

from starlette.testclient import TestClient

from tests.conftest import Clock, Database, Factory, bearer
from tests.oauth2.flow import Authorization, RegisteredApp, refresh, register_app, revoke, works
from trainerday_server.models import Athlete

URL = "/api/v1/athlete/connections"


def test_an_athlete_sees_the_apps_they_connected(
    logged_in: TestClient, athlete: Athlete, factory: Factory, db: Database
):
    first = register_app(db.engine, name="First App")
    second = register_app(db.engine, name="Second App")
    Authorization(logged_in, first).tokens(scope="calendar:read")
    Authorization(logged_in, first).tokens(scope="athlete:read")  # approved again, another scope
    Authorization(logged_in, second).tokens(scope="calendar:read")
    key = factory.key(athlete.id, "athlete:read")

    response = logged_in.get(URL, headers=bearer(key))
    assert response.status_code == 200
    data = response.json()["data"]
    assert [(c["clientId"], c["name"], c["scopes"]) for c in data] == [
        (first.client_id, "First App", ["athlete:read", "calendar:read"]),
        (second.client_id, "Second App", ["calendar:read"]),
    ]
    for connection in data:
        connected = dt.datetime.fromisoformat(connection["connectedAt"])
        assert abs(connected - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
        assert connection["lastUsedAt"] is None


def test_connections_are_per_athlete(flow: Authorization, factory: Factory):
    flow.tokens()
    other = factory.athlete()
    assert flow.browser.get(URL, headers=bearer(factory.key(other.id))).json() == {"data": []}


def test_last_use_is_recorded(flow: Authorization):
    token = flow.tokens()["access_token"]
    assert works(flow.browser, token)
    # Recording the use happens beside the request, not in it: wait (a little) for it to land.
    deadline = time.monotonic() + 10
    while (used := flow.browser.get(URL, headers=bearer(token)).json()["data"][0]["lastUsedAt"]) is None:
        assert time.monotonic() < deadline, "last use never recorded"
        time.sleep(0.05)
    assert abs(dt.datetime.fromisoformat(used) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_revoked_and_lapsed_authorizations_are_not_connections(
    flow: Authorization, clock: Clock, athlete: Athlete, factory: Factory
):
    key = factory.key(athlete.id)
    revoked = flow.tokens()
    revoke(flow.browser, flow.app, revoked["refresh_token"])
    assert flow.browser.get(URL, headers=bearer(key)).json() == {"data": []}
    lapsed = flow.tokens()
    refresh(flow.browser, flow.app, lapsed["refresh_token"])
    assert len(flow.browser.get(URL, headers=bearer(key)).json()["data"]) == 1
    clock.advance(days=90, seconds=1)  # the refresh token, the last thing that worked, has expired
    assert flow.browser.get(URL, headers=bearer(key)).json() == {"data": []}


def test_disconnecting_revokes_every_token_the_app_holds(
    logged_in: TestClient, confidential: RegisteredApp, athlete: Athlete, factory: Factory, db: Database
):
    one = Authorization(logged_in, confidential).tokens()
    two = Authorization(logged_in, confidential).tokens()
    survivor = Authorization(logged_in, register_app(db.engine, name="Other App")).tokens()
    key = factory.key(athlete.id, "athlete:read athlete:write")

    response = logged_in.delete(f"{URL}/{confidential.client_id}", headers=bearer(key))
    assert response.status_code == 204
    for tokens in one, two:
        assert not works(logged_in, tokens["access_token"])
        assert refresh(logged_in, confidential, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert works(logged_in, survivor["access_token"])
    names = [c["name"] for c in logged_in.get(URL, headers=bearer(key)).json()["data"]]
    assert names == ["Other App"]
    assert logged_in.delete(f"{URL}/{confidential.client_id}", headers=bearer(key)).status_code == 404


def test_disconnecting_voids_the_apps_codes_not_yet_redeemed(
    logged_in: TestClient, confidential: RegisteredApp, athlete: Athlete, factory: Factory, db: Database
):
    """A code approved a moment before the athlete disconnected must not reconnect the app afterwards."""
    app = Authorization(logged_in, confidential)
    other = Authorization(logged_in, register_app(db.engine, name="Other App"))
    app.tokens()
    pending, others_pending = app.code(), other.code()
    key = factory.key(athlete.id, "athlete:read athlete:write")

    assert logged_in.delete(f"{URL}/{confidential.client_id}", headers=bearer(key)).status_code == 204
    response = app.redeem(pending)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert logged_in.get(URL, headers=bearer(key)).json()["data"] == []
    assert other.redeem(others_pending).status_code == 200  # another app's code is untouched

    # An app holding only a code (approved, not yet redeemed) is disconnected too.
    pending = app.code()
    assert logged_in.delete(f"{URL}/{confidential.client_id}", headers=bearer(key)).status_code == 204
    assert app.redeem(pending).json()["error"] == "invalid_grant"
    assert logged_in.delete(f"{URL}/{confidential.client_id}", headers=bearer(key)).status_code == 404


def test_a_connection_shows_the_whole_grant_after_a_narrowed_refresh(
    flow: Authorization, athlete: Athlete, factory: Factory, clock: Clock
):
    """The app may get all of it back at its next refresh, so that is what the athlete is shown."""
    tokens = flow.tokens(scope="athlete:read calendar:read")
    refresh(flow.browser, flow.app, tokens["refresh_token"], scope="calendar:read")
    clock.advance(hours=6, seconds=1)  # only the narrowed refresh's refresh token still works
    data = flow.browser.get(URL, headers=bearer(factory.key(athlete.id))).json()["data"]
    assert [c["scopes"] for c in data] == [["athlete:read", "calendar:read"]]


def test_disconnecting_an_unknown_app_is_404(flow: Authorization, me):
    response = flow.browser.delete(f"{URL}/no-such-client", headers=me.headers)
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"


def test_disconnecting_another_athletes_app_changes_nothing(flow: Authorization, factory: Factory):
    tokens = flow.tokens()
    stranger = factory.athlete()
    response = flow.browser.delete(f"{URL}/{flow.app.client_id}", headers=bearer(factory.key(stranger.id)))
    assert response.status_code == 404
    assert works(flow.browser, tokens["access_token"])


def test_scopes_athlete_read_to_list_and_athlete_write_to_disconnect(flow: Authorization):
    read_only = flow.tokens(scope="athlete:read")["access_token"]
    assert flow.browser.get(URL, headers=bearer(read_only)).status_code == 200
    response = flow.browser.delete(f"{URL}/{flow.app.client_id}", headers=bearer(read_only))
    assert response.status_code == 403 and 'scope="athlete:write"' in response.headers["www-authenticate"]
    calendar_only = flow.tokens(scope="calendar:read")["access_token"]
    assert flow.browser.get(URL, headers=bearer(calendar_only)).status_code == 403


def test_an_app_can_disconnect_itself(flow: Authorization):
    token = flow.tokens(scope="athlete:read athlete:write")["access_token"]
    assert flow.browser.delete(f"{URL}/{flow.app.client_id}", headers=bearer(token)).status_code == 204
    assert not works(flow.browser, token)
