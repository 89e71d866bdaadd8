"""The authorization matrix: every API operation x {no token, malformed, revoked, expired, wrong scope,
another athlete's id} answers the right 401 / 403 / 404, with its RFC 6750 challenge.

Operations are read from the app itself (its OpenAPI document, which FastAPI builds from the route table,
plus every ``/api/`` route in the table, documented or not), so a route added later is in the matrix the
day it is added. Only what cannot be discovered is listed here, in small tables a new route may need a line
in: how to make another athlete's resource for a path parameter, a value for a required query parameter,
and a valid body for an operation that takes one and a path id. A route that needs a line and has none
fails with a message saying so.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.testclient import TestClient

from tests.conftest import TEST_SECRET, Database, Factory, bearer, iter_routes
from tests.oauth2.flow import Authorization, register_app
from trainerday_server.api_keys.service import revoke_key
from trainerday_server.app import create_app
from trainerday_server.auth.scopes import ALL_SCOPES, SCOPES
from trainerday_server.config import Settings
from trainerday_server.db import make_session_factory, session_scope
from trainerday_server.models import ApiKey, OAuthToken
from trainerday_server.models.base import utcnow
from trainerday_server.web.sessions import start_session

METHODS = ("get", "post", "put", "patch", "delete")
# Routes under /api/ that need no token. Adding one here is a decision to make in review.
PUBLIC_API_ROUTES: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    scope: str | None
    required_query: tuple[str, ...]
    body_schema: str | None  # the request body's component name (JSON bodies), or "multipart"

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _body_schema(operation: dict[str, Any]) -> str | None:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        return str(content["application/json"]["schema"].get("$ref", "inline").rsplit("/", 1)[-1])
    return "multipart" if content else None


# Operation -> the security schemes its document names.
SCHEMES: dict[tuple[str, str], frozenset[str]] = {}
# Webhook subscriptions are managed by an app with its client credentials (HTTP Basic) or by an athlete with a
# personal key (docs/webhooks.md): their own family of rows below, not the bearer-scope rows.
APP_OR_KEY = frozenset({"oauthClient", "personalApiKey"})


def discover(app: FastAPI) -> list[Operation]:
    """Every documented operation with its scope; plus every /api/ route the document leaves out (with the
    scope unknown: those still get the no-token and malformed-token rows)."""
    found = []
    documented = set()
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            scopes = [s for r in operation.get("security", []) for s in r.get("oauth2", [])]
            SCHEMES[(method.upper(), path)] = frozenset(k for r in operation.get("security", []) for k in r)
            required = tuple(
                p["name"] for p in operation.get("parameters", []) if p.get("required") and p["in"] == "query"
            )
            found.append(
                Operation(
                    method.upper(), path, scopes[0] if scopes else None, required, _body_schema(operation)
                )
            )
            documented.add((method.upper(), path))
    for route in iter_routes(app.routes):
        if isinstance(route, APIRoute) and route.path.startswith("/api/"):
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                if (method, route.path) not in documented:
                    found.append(Operation(method, route.path, None, (), None))
    return sorted(found, key=str)


def _app_for_discovery() -> FastAPI:
    data_dir = Path(tempfile.gettempdir()) / "trainerday-matrix-discovery"
    return create_app(Settings(data_dir=data_dir, secret_key=TEST_SECRET))


OPERATIONS = discover(_app_for_discovery())
SUBSCRIBER_ROUTES = [op for op in OPERATIONS if SCHEMES.get((op.method, op.path)) == APP_OR_KEY]
SECURED = [
    op for op in OPERATIONS if (op.method, op.path) not in PUBLIC_API_ROUTES and op not in SUBSCRIBER_ROUTES
]
WITH_IDS = [op for op in SECURED if "{" in op.path]

QUERY_VALUES = {
    "startDate": "2026-01-01",
    "endDate": "2026-01-31",
    "format": "zwo",
    "period": "week",
    "since": "2026-01-01",
}
BODIES: dict[str, dict[str, Any]] = {
    "EventIn": {"calendarDate": "2026-01-10", "title": "Rest", "notes": "legs up"},
    "WorkoutIn": {"title": "Tempo", "segments": [[20, 85, 85]]},
    "ActivityPatch": {"name": "Renamed"},
}


# --- the world: an athlete calling, and a stranger whose resources they must not reach ------------------


@dataclass
class World:
    client: TestClient
    owner_key: str
    revoked_key: str
    expired_token: str
    keys_without: dict[str, str]  # scope -> a key with every scope but that one
    owner_context: dict[str, Any]
    strangers: dict[str, Any] = field(default_factory=dict)  # path parameter -> the stranger's value


def _oauth_tokens(app: FastAPI, db: Database, athlete_id: int, registered: Any) -> dict[str, Any]:
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as browser:
        with session_scope(make_session_factory(db.engine, writer=True)) as session:
            browser.cookies.set(
                "td_session", start_session(session, TEST_SECRET.encode(), athlete_id, utcnow())
            )
        return Authorization(browser, registered).tokens(scope=" ".join(ALL_SCOPES))


# Path parameter -> how to make an athlete's resource (through the API, with their headers) and its id.
def _stranger_event(client: TestClient, headers: dict[str, str], _ctx: dict[str, Any]) -> Any:
    body = {"calendarDate": "2026-01-05", "embedWorkout": {"title": "Theirs", "segments": [[30, 60, 60]]}}
    return client.post("/api/v1/calendar/events", json=body, headers=headers).json()["id"]


def _stranger_workout(client: TestClient, headers: dict[str, str], _ctx: dict[str, Any]) -> Any:
    return client.post("/api/v1/workouts", json=BODIES["WorkoutIn"], headers=headers).json()["id"]


def _stranger_activity(client: TestClient, headers: dict[str, str], ctx: dict[str, Any]) -> Any:
    data = (ctx["samples"] / "fit" / "2020-06-01-16-52-40.fit").read_bytes()
    response = client.post("/api/v1/activities/upload", files={"file": ("r.fit", data)}, headers=headers)
    if response.status_code == 409:  # uploaded for an earlier row of the matrix, and still there
        return response.json()["existingActivityId"]
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _stranger_connection(_client: TestClient, _headers: dict[str, str], ctx: dict[str, Any]) -> Any:
    return ctx["connected_client_id"]  # an app this athlete connected (the other never did)


PATH_FIXTURES: dict[str, Callable[[TestClient, dict[str, str], dict[str, Any]], Any]] = {
    "event_id": _stranger_event,
    "workout_id": _stranger_workout,
    "activity_id": _stranger_activity,
    "client_id": _stranger_connection,
    "subscription_id": lambda *_: 1,  # subscriber routes: their own rows below, never the 404 row
    "delivery_id": lambda *_: 1,
}


@pytest.fixture(scope="module")
def world(database: Database, tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Iterator[World]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("matrix"), database_url=database.url, secret_key=TEST_SECRET
    )
    app = create_app(settings, engine=database.engine)
    factory = Factory(database, TEST_SECRET.encode())
    owner, stranger = factory.athlete(), factory.athlete()
    owner_key, stranger_key = factory.key(owner.id), factory.key(stranger.id)
    revoked = factory.key(owner.id)
    with session_scope(make_session_factory(database.engine, writer=True)) as session:
        key_id = session.scalars(sa.select(ApiKey.id).order_by(ApiKey.id.desc()).limit(1)).one()
        revoke_key(session, key_id)
    keys_without = {s: factory.key(owner.id, " ".join(sorted(set(ALL_SCOPES) - {s}))) for s in SCOPES}
    registered = register_app(database.engine, name="Matrix App")
    owner_tokens = _oauth_tokens(app, database, owner.id, registered)
    theirs = register_app(database.engine, name="Stranger's App")
    _oauth_tokens(app, database, stranger.id, theirs)
    with database.engine.begin() as conn:  # the owner's OAuth token, expired a second ago
        conn.execute(
            sa.update(OAuthToken)
            .where(OAuthToken.athlete_id == owner.id)
            .values(expires_at=int(utcnow().timestamp()) - 1)
        )
    with TestClient(app, raise_server_exceptions=False) as client:
        owner_context = {"samples": samples, "connected_client_id": registered.client_id}
        built = World(client, owner_key, revoked, owner_tokens["access_token"], keys_without, owner_context)
        ctx = {"samples": samples, "connected_client_id": theirs.client_id}
        for name, make in PATH_FIXTURES.items():
            built.strangers[name] = make(client, bearer(stranger_key), ctx)
        yield built
    _empty(database)


def _empty(database: Database) -> None:
    from tests.conftest import _empty_all_tables

    _empty_all_tables(database)


def _url(world: World, op: Operation, ids: dict[str, Any]) -> str:
    path = op.path
    for name in _path_names(op):
        path = path.replace("{" + name + "}", str(ids[name]))
    missing = [q for q in op.required_query if q not in QUERY_VALUES]
    assert not missing, f"{op}: add a value for the required query parameter(s) {missing} to QUERY_VALUES"
    query = "&".join(f"{q}={QUERY_VALUES[q]}" for q in op.required_query)
    return path + ("?" + query if query else "")


def _path_names(op: Operation) -> list[str]:
    names = [part[1:-1] for part in op.path.split("/") if part.startswith("{")]
    unknown = [n for n in names if n not in PATH_FIXTURES]
    assert not unknown, f"{op}: add a fixture for path parameter(s) {unknown} to PATH_FIXTURES"
    return names


def _call(world: World, op: Operation, headers: dict[str, Any], ids: dict[str, Any] | None = None) -> Any:
    ids = ids or {name: 1 for name in _path_names(op)}
    return world.client.request(op.method, _url(world, op, ids), headers=headers)


def _assert_challenge(response: Any, status: int, error: str | None, op: Operation) -> None:
    assert response.status_code == status, f"{op}: {response.status_code} {response.text[:200]}"
    assert response.headers["content-type"] == "application/problem+json", op
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith('Bearer realm="trainerday"'), f"{op}: {challenge!r}"
    if error is None:
        assert "error=" not in challenge, f"{op}: {challenge!r}"
    else:
        assert f'error="{error}"' in challenge, f"{op}: {challenge!r}"


# --- the matrix ------------------------------------------------------------------------------------------


def test_every_api_route_is_documented_with_a_scope():
    """A route under /api/ that is hidden from the document or declares no scope fails here, unless it is
    listed as public on purpose."""
    unsecured = [
        str(op)
        for op in OPERATIONS
        if op.scope is None and (op.method, op.path) not in PUBLIC_API_ROUTES and op not in SUBSCRIBER_ROUTES
    ]
    assert not unsecured, f"routes without require_scope or missing from OpenAPI: {unsecured}"
    assert len(SECURED) >= 30  # the discovery found the API (30 operations when this was written)


@pytest.mark.parametrize("op", SECURED, ids=str)
def test_no_token_is_401_with_a_bare_challenge(world: World, op: Operation):
    _assert_challenge(_call(world, op, {}), 401, None, op)


@pytest.mark.parametrize("op", SECURED, ids=str)
@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer not-a-token",
        "Bearer td_",
        "Bearer " + "x" * 5000,
        "Bearer td_abc def",
        "Bearer \u00e9t\u00e9",
    ],
    ids=["empty", "garbage", "prefix-only", "huge", "space", "non-ascii"],
)
def test_a_malformed_token_is_401(world: World, op: Operation, authorization: str):
    response = _call(world, op, {"Authorization": authorization.encode("utf-8")})  # type: ignore[dict-item]
    assert response.status_code == 401, f"{op}: {response.status_code} {response.text[:200]}"
    assert response.headers["www-authenticate"].startswith("Bearer "), op


@pytest.mark.parametrize("op", SECURED, ids=str)
def test_another_scheme_is_401(world: World, op: Operation):
    _assert_challenge(_call(world, op, {"Authorization": "Basic dXNlcjpwYXNz"}), 401, None, op)


@pytest.mark.parametrize("op", SECURED, ids=str)
def test_a_revoked_key_is_401_invalid_token(world: World, op: Operation):
    _assert_challenge(_call(world, op, bearer(world.revoked_key)), 401, "invalid_token", op)


@pytest.mark.parametrize("op", SECURED, ids=str)
def test_an_expired_oauth_token_is_401_invalid_token(world: World, op: Operation):
    _assert_challenge(_call(world, op, bearer(world.expired_token)), 401, "invalid_token", op)


@pytest.mark.parametrize("op", SECURED, ids=str)
def test_a_token_without_the_scope_is_403_naming_it(world: World, op: Operation):
    assert op.scope is not None
    response = _call(world, op, bearer(world.keys_without[op.scope]))
    _assert_challenge(response, 403, "insufficient_scope", op)
    assert f'scope="{op.scope}"' in response.headers["www-authenticate"]
    assert response.json()["scope"] == op.scope


@pytest.mark.parametrize("op", WITH_IDS, ids=str)
def test_another_athletes_id_is_404(world: World, op: Operation):
    """With every scope, the stranger's resource is as absent as a missing one (and is left unchanged),
    where the same request on the owner's own resource succeeds."""
    missing = [op.body_schema] if op.body_schema and op.body_schema not in BODIES else []
    assert not missing, f"{op}: add a valid {missing[0]} body to BODIES"
    body = BODIES.get(op.body_schema or "")
    own = {
        name: PATH_FIXTURES[name](world.client, bearer(world.owner_key), world.owner_context)
        for name in _path_names(op)
    }
    control = world.client.request(
        op.method, _url(world, op, own), headers=bearer(world.owner_key), json=body
    )
    assert control.status_code < 300, (
        f"{op} on the owner's own resource: {control.status_code} {control.text[:200]}"
    )
    url = _url(world, op, world.strangers)
    response = world.client.request(op.method, url, headers=bearer(world.owner_key), json=body)
    assert response.status_code == 404, f"{op}: {response.status_code} {response.text[:200]}"
    assert response.headers["content-type"] == "application/problem+json", op
    body_text = response.text
    for value in world.strangers.values():
        assert f'"{value}"' not in body_text or op.path.endswith("{client_id}"), (
            op
        )  # nothing of theirs echoed


def test_the_strangers_resources_survived_the_matrix(world: World, database: Database):
    """Run last in this module's order: no write or delete by the owner reached the stranger's rows."""
    from trainerday_server.models import Activity, CalendarEvent, LibraryWorkout

    with database.engine.connect() as conn:
        for model, name in (
            (CalendarEvent, "event_id"),
            (LibraryWorkout, "workout_id"),
            (Activity, "activity_id"),
        ):
            row = conn.execute(sa.select(model.id).where(model.id == world.strangers[name])).first()
            assert row is not None, f"the stranger's {name} {world.strangers[name]} is gone"


# --- webhook subscribers: an app (HTTP Basic) or an athlete's personal key, nothing else -------------------


def _assert_subscriber_challenge(response: Any, status: int, op: Operation) -> None:
    assert response.status_code == status, f"{op}: {response.status_code} {response.text[:200]}"
    assert response.headers["content-type"] == "application/problem+json", op
    if status == 401:
        assert (
            response.headers["www-authenticate"] == 'Basic realm="trainerday", Bearer realm="trainerday"'
        ), op


def test_the_subscriber_routes_were_found():
    assert len(SUBSCRIBER_ROUTES) >= 8, SUBSCRIBER_ROUTES


@pytest.mark.parametrize("op", SUBSCRIBER_ROUTES, ids=str)
@pytest.mark.parametrize(
    "authorization",
    [None, "Basic dXNlcjpwYXNz", "Basic !!!", "Digest x", "Bearer not-a-token"],
    ids=["none", "unknown-app", "malformed-basic", "other-scheme", "malformed-bearer"],
)
def test_a_subscriber_route_refuses_who_is_not_an_app_or_an_athlete(
    world: World, op: Operation, authorization: str | None
):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = _call(world, op, headers)
    assert response.status_code == 401, f"{op}: {response.status_code} {response.text[:200]}"
    if not authorization or not authorization.startswith("Bearer"):
        _assert_subscriber_challenge(response, 401, op)


@pytest.mark.parametrize("op", SUBSCRIBER_ROUTES, ids=str)
def test_a_subscriber_route_refuses_a_revoked_key(world: World, op: Operation):
    response = _call(world, op, bearer(world.revoked_key))
    assert response.status_code == 401, f"{op}: {response.status_code} {response.text[:200]}"


@pytest.mark.parametrize("op", SUBSCRIBER_ROUTES, ids=str)
def test_a_subscriber_route_refuses_an_athletes_oauth_token(world: World, op: Operation):
    """An app manages its subscriptions with its own credentials, never with a token an athlete gave it."""
    response = _call(world, op, bearer(world.expired_token))
    assert response.status_code in (401, 403), f"{op}: {response.status_code} {response.text[:200]}"
