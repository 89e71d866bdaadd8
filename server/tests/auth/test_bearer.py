"""RFC 6750 behaviour of the one bearer dependency, driven through the real HTTP API."""

from __future__ import annotations

import pytest

from tests.conftest import Caller, Factory, bearer, iter_routes

PROBLEM = "application/problem+json"


def test_no_credentials_is_a_bare_challenge(client):
    response = client.get("/api/v1/athlete")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="trainerday"'
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 401


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Token td_abc", "td_abc"])
def test_other_schemes_get_the_bearer_challenge(client, header):
    response = client.get("/api/v1/athlete", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="trainerday"'


@pytest.mark.parametrize(
    "token",
    ["td_" + "A" * 43, "td_unknown", "not-a-td-token", "x" * 600, "td_ab cd", "td_ä"],
    ids=["unknown", "short-unknown", "other-prefix", "too-long", "space", "non-ascii"],
)
def test_unknown_or_malformed_tokens_are_invalid_token(client, me: Caller, token):
    # Bytes, so a non-ASCII token reaches the server as a client would really send it.
    response = client.get("/api/v1/athlete", headers={"Authorization": f"Bearer {token}".encode()})
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="trainerday", error="invalid_token"')
    assert response.json()["type"].endswith("/unauthorized")


def test_empty_bearer_token_is_invalid(client):
    response = client.get("/api/v1/athlete", headers={"Authorization": "Bearer "})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_scheme_name_is_case_insensitive(client, me: Caller):
    response = client.get("/api/v1/athlete", headers={"Authorization": f"bearer {me.key}"})
    assert response.status_code == 200


def test_missing_scope_is_403_naming_the_scope(client, factory: Factory):
    athlete = factory.athlete()
    key = factory.key(athlete.id, "calendar:read")
    response = client.get("/api/v1/athlete", headers=bearer(key))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer realm="trainerday", error="insufficient_scope", '
        'error_description="this request needs the athlete:read scope", scope="athlete:read"'
    )
    assert response.json()["scope"] == "athlete:read"
    assert (
        client.get(
            "/api/v1/calendar?startDate=2026-01-01&endDate=2026-01-31", headers=bearer(key)
        ).status_code
        == 200
    )


def test_read_scope_does_not_allow_writing(client, factory: Factory):
    athlete = factory.athlete()
    key = factory.key(athlete.id, "calendar:read athlete:read")
    response = client.post(
        "/api/v1/calendar/events", headers=bearer(key), json={"calendarDate": "2026-01-01", "title": "x"}
    )
    assert response.status_code == 403
    assert 'scope="calendar:write"' in response.headers["www-authenticate"]


def test_token_in_query_string_is_refused(client, me: Caller):
    response = client.get(f"/api/v1/athlete?access_token={me.key}")
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["www-authenticate"]
    assert response.json()["errors"][0]["field"] == "access_token"
    # ...even alongside a valid header: the token has leaked into logs and must not be encouraged.
    response = client.get(f"/api/v1/athlete?access_token={me.key}", headers=me.headers)
    assert response.status_code == 400


def test_revoked_key_stops_working_at_once(client, me: Caller, db):
    from trainerday_server.api_keys.service import list_keys, revoke_key
    from trainerday_server.db import make_session_factory, session_scope

    assert client.get("/api/v1/athlete", headers=me.headers).status_code == 200
    with session_scope(make_session_factory(db.engine, writer=True)) as session:
        revoke_key(session, list_keys(session, me.athlete.id)[0].id)
    response = client.get("/api/v1/athlete", headers=me.headers)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_every_api_route_requires_authentication(app, client):
    """No /api/v1 operation may be reachable without a token: a forgotten dependency fails here."""
    checked = 0
    for route in iter_routes(app.routes):
        path = getattr(route, "path", "")
        if not path.startswith("/api/v1"):
            continue
        for method in getattr(route, "methods", set()) - {"HEAD"}:
            url = path.replace("{", "").replace("}", "")  # "/events/{event_id}" -> "/events/event_id"
            url = url.replace("event_id", "1").replace("workout_id", "1").replace("activity_id", "1")
            url = url.replace("client_id", "x")
            response = client.request(method, url)
            assert response.status_code == 401, (
                f"{method} {path} answered {response.status_code} without a token"
            )
            checked += 1
    assert checked >= 6
