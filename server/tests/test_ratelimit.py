"""Rate limits: per token on the API, per address on credential endpoints, per athlete on uploads; shared
through Redis by several processes; ``off`` turns the API limit off; every API answer carries RateLimit-*."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.conftest import Database, Factory, bearer
from trainerday_server.app import create_app
from trainerday_server.config import Settings
from trainerday_server.ratelimit import RateLimitSettingError

CALENDAR = "/api/v1/calendar?startDate=2026-01-01&endDate=2026-01-07"


def upload(client: TestClient, files: Any, headers: dict[str, str]) -> Any:
    return client.post("/api/v1/activities/upload", files=files, headers=headers)


def redis_is_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def make_client(settings: Settings, db: Database) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        app: FastAPI = create_app(settings.model_copy(update=overrides), engine=db.engine)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_api_limit_per_token_with_headers_and_a_429_problem(make_client: Any, factory: Factory) -> None:
    client = make_client(rate_limit="3/minute")
    athlete = factory.athlete()
    key, other_key = factory.key(athlete.id), factory.key(athlete.id)
    answers = [client.get(CALENDAR, headers=bearer(key)) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a.headers["ratelimit-limit"] == "3" for a in answers)
    assert all(0 < int(a.headers["ratelimit-reset"]) <= 60 for a in answers)
    refused = answers[3]
    assert refused.headers["content-type"] == "application/problem+json"
    assert 0 < int(refused.headers["retry-after"]) <= 60
    problem = refused.json()
    assert problem["type"].endswith("/rate-limited") and problem["status"] == 429
    assert problem["retryAfterSeconds"] == int(refused.headers["retry-after"])
    # Another token has its own count.
    assert client.get(CALENDAR, headers=bearer(other_key)).status_code == 200


def test_every_api_answer_carries_the_headers_even_errors(make_client: Any) -> None:
    client = make_client(rate_limit="100/minute")
    for answer in (client.get(CALENDAR), client.get("/api/v1/nothing-here"), client.get(CALENDAR)):
        assert answer.status_code in (401, 404)
        assert answer.headers["ratelimit-limit"] == "100"
    # Without a token the count is per address: three requests so far.
    assert client.get(CALENDAR).headers["ratelimit-remaining"] == "96"


def test_non_api_pages_carry_no_api_headers(make_client: Any) -> None:
    client = make_client(rate_limit="100/minute")
    assert "ratelimit-limit" not in client.get("/healthz").headers


def test_off_disables_the_api_limit(make_client: Any, factory: Factory) -> None:
    client = make_client(rate_limit="off")
    key = factory.key(factory.athlete().id)
    answers = [client.get(CALENDAR, headers=bearer(key)) for _ in range(30)]
    assert {a.status_code for a in answers} == {200}
    assert "ratelimit-limit" not in answers[0].headers


def test_log_in_is_limited_per_address(make_client: Any) -> None:
    client = make_client(login_rate_limit="2/minute")
    form = {"email": "nobody@example.com", "password": "wrong password"}
    statuses = [client.post("/login", data=form, follow_redirects=False).status_code for _ in range(3)]
    assert 429 not in statuses[:2] and statuses[2] == 429
    refused = client.post("/login", data=form)
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) > 0
    assert client.get("/login").status_code == 200  # only the attempts are limited


def test_oauth_token_endpoint_answers_in_rfc_6749_shape(make_client: Any) -> None:
    client = make_client(login_rate_limit="1/minute")
    form = {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}
    first = client.post("/oauth/token", data=form)
    assert first.status_code != 429
    refused = client.post("/oauth/token", data=form)
    assert refused.status_code == 429
    assert refused.json()["error"] == "slow_down"
    assert int(refused.headers["retry-after"]) > 0


def test_uploads_are_limited_per_athlete_across_their_tokens(make_client: Any, factory: Factory) -> None:
    client = make_client(upload_rate_limit="2/hour")
    athlete = factory.athlete()
    keys = [factory.key(athlete.id) for _ in range(3)]
    garbage = {"file": ("ride.fit", b"not a ride at all", "application/octet-stream")}
    statuses = [upload(client, garbage, headers=bearer(k)).status_code for k in keys]
    assert statuses == [400, 400, 429]  # refused files count too: decoding them cost the server
    refused = upload(client, garbage, headers=bearer(keys[0]))
    assert refused.status_code == 429
    assert refused.json()["type"].endswith("/rate-limited")
    assert 3000 < int(refused.headers["retry-after"]) <= 3600
    # Another athlete is not affected, and reading is not limited by the upload limit.
    other = factory.athlete()
    other_key = factory.key(other.id)
    assert upload(client, garbage, headers=bearer(other_key)).status_code == 400
    assert client.get("/api/v1/activities", headers=bearer(keys[0])).status_code == 200


def test_a_token_without_upload_scope_is_refused_before_counting(make_client: Any, factory: Factory) -> None:
    client = make_client(upload_rate_limit="1/hour")
    athlete = factory.athlete()
    reader = factory.key(athlete.id, "activities:read")
    garbage = {"file": ("ride.fit", b"x", "application/octet-stream")}
    for _ in range(3):
        assert upload(client, garbage, headers=bearer(reader)).status_code == 403
    writer = factory.key(athlete.id)
    assert upload(client, garbage, headers=bearer(writer)).status_code == 400


@pytest.mark.parametrize("value", ["lots", "10/fortnight", "-1/minute", ""])
def test_a_malformed_setting_is_a_clear_error(settings: Settings, db: Database, value: str) -> None:
    with pytest.raises(RateLimitSettingError, match="TRAINERDAY_RATE_LIMIT"):
        create_app(settings.model_copy(update={"rate_limit": value}), engine=db.engine)


@pytest.mark.skipif(not redis_is_up(), reason="no Redis on 127.0.0.1:6379")
def test_two_processes_share_one_count_through_redis(make_client: Any, factory: Factory) -> None:
    # Two apps stand for two server processes: nothing but Redis is shared between them.
    first = make_client(rate_limit="4/minute", redis_url="redis://127.0.0.1:6379/0")
    second = make_client(rate_limit="4/minute", redis_url="redis://127.0.0.1:6379/0")
    key = factory.key(factory.athlete().id)  # a fresh token: a fresh count, whatever Redis held before
    statuses = [(first if i % 2 else second).get(CALENDAR, headers=bearer(key)).status_code for i in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_without_redis_each_process_counts_alone(make_client: Any, factory: Factory) -> None:
    first = make_client(rate_limit="2/minute")
    second = make_client(rate_limit="2/minute")
    key = factory.key(factory.athlete().id)
    statuses = [(first if i % 2 else second).get(CALENDAR, headers=bearer(key)).status_code for i in range(4)]
    assert statuses == [200, 200, 200, 200]


def test_a_redis_outage_lets_requests_through(make_client: Any, factory: Factory) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = make_client(rate_limit="1/minute", redis_url=f"redis://127.0.0.1:{port}/0")
    key = factory.key(factory.athlete().id)
    assert [client.get(CALENDAR, headers=bearer(key)).status_code for _ in range(3)] == [200, 200, 200]


def test_redis_keys_hold_no_token(make_client: Any, factory: Factory) -> None:
    if not redis_is_up():
        pytest.skip("no Redis on 127.0.0.1:6379")
    import redis

    client = make_client(rate_limit="5/minute", redis_url="redis://127.0.0.1:6379/0")
    key = factory.key(factory.athlete().id)
    client.get(CALENDAR, headers=bearer(key))
    r = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        names = [n.decode() for n in r.scan_iter("trainerday-rl*", count=1000)]
    finally:
        r.close()
    assert names, "the count is in Redis"
    secret_part = key.split("_", 1)[1][:16]
    assert not any(secret_part in n for n in names)


def test_mcp_shares_the_per_token_api_limit(make_client: Any, factory: Factory) -> None:
    # /mcp runs the same reads and writes as the API: without a limit, a key held back on /api/ could go on
    # through the MCP tools as fast as it liked.
    client = make_client(rate_limit="3/minute")
    key = factory.key(factory.athlete().id)
    headers = {
        **bearer(key),
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-11-25",
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    answers = [client.post("/mcp", json=body, headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0"]
    refused = client.post("/mcp", json=body, headers=headers)
    assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 60
    assert refused.json()["status"] == 429
    # The same token on the REST API has used up the same budget.
    assert client.get(CALENDAR, headers=bearer(key)).status_code == 429
