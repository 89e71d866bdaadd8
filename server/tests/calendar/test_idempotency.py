"""Idempotency-Key on POST /api/v1/calendar/events: retries never duplicate, reuse for another body is 409."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from tests.conftest import Caller, Factory, bearer
from trainerday_server.models import CalendarEvent

URL = "/api/v1/calendar/events"
BODY = {"calendarDate": "2026-01-15", "embedWorkout": {"title": "Easy Spin", "segments": [[30, 55, 55]]}}


def events(db) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(CalendarEvent)).scalar_one()


def test_same_key_same_body_returns_the_first_result(client, me: Caller, db):
    headers = {**me.headers, "Idempotency-Key": "retry-1"}
    first = client.post(URL, headers=headers, json=BODY)
    second = client.post(URL, headers=headers, json=BODY)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert events(db) == 1


def test_key_order_and_spacing_do_not_make_another_request(client, me: Caller, db):
    headers = {**me.headers, "Idempotency-Key": "retry-2", "Content-Type": "application/json"}
    client.post(URL, headers=headers, content=b'{"calendarDate":"2026-01-15","title":"a","notes":"b"}')
    again = client.post(
        URL, headers=headers, content=b'{ "notes": "b",  "title": "a", "calendarDate": "2026-01-15" }'
    )
    assert again.status_code == 201
    assert events(db) == 1


def test_same_key_different_body_is_409(client, me: Caller, db):
    headers = {**me.headers, "Idempotency-Key": "retry-3"}
    assert client.post(URL, headers=headers, json=BODY).status_code == 201
    response = client.post(URL, headers=headers, json={**BODY, "calendarDate": "2026-01-16"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["idempotencyKey"] == "retry-3"
    assert events(db) == 1


def test_keys_belong_to_one_athlete(client, me: Caller, factory: Factory, db):
    other = factory.key(factory.athlete().id)
    assert client.post(URL, headers={**me.headers, "Idempotency-Key": "k"}, json=BODY).status_code == 201
    response = client.post(URL, headers={**bearer(other), "Idempotency-Key": "k"}, json=BODY)
    assert response.status_code == 201
    assert events(db) == 2


def test_without_a_key_every_post_creates(client, me: Caller, db):
    client.post(URL, headers=me.headers, json=BODY)
    client.post(URL, headers=me.headers, json=BODY)
    assert events(db) == 2


def test_a_failed_request_does_not_burn_the_key(client, me: Caller, db):
    headers = {**me.headers, "Idempotency-Key": "retry-4"}
    bad = {"calendarDate": "2026-01-15", "embedWorkout": {"title": "x", "segments": [[0, 1, 1]]}}
    assert client.post(URL, headers=headers, json=bad).status_code == 400
    assert client.post(URL, headers=headers, json=BODY).status_code == 201


def test_overlong_key_is_400(client, me: Caller):
    response = client.post(URL, headers={**me.headers, "Idempotency-Key": "k" * 256}, json=BODY)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


def test_concurrent_retries_create_one_event(live_server, factory: Factory, db):
    """Many clients racing with one key against a real server: exactly one event, identical answers."""
    import httpx

    athlete = factory.athlete()
    key = factory.key(athlete.id)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def send() -> None:
        response = httpx.post(
            live_server.base_url + URL,
            headers={**bearer(key), "Idempotency-Key": "race"},
            json=BODY,
            timeout=30,
        )
        with lock:
            results.append(response)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [201] * 8
    assert len({r.content for r in results}) == 1
    assert events(db) == 1
