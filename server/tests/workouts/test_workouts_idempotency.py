"""Idempotency-Key on the workout library's creating POSTs (create and import)."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from tests.conftest import Caller, Database, LiveServer, bearer
from tests.oauth2.flow import race
from trainerday_server.models import LibraryWorkout

URL = "/api/v1/workouts"
WORKOUT = {"title": "Sweet spot", "segments": [[10, 50, 50], [20, 90, 90], [10, 45, 45]]}
ERG = b"[COURSE HEADER]\nVERSION = 2\nUNITS = ENGLISH\nDESCRIPTION = t\nFILE NAME = t\nMINUTES PERCENT\n[END COURSE HEADER]\n[COURSE DATA]\n0.00\t50\n10.00\t50\n10.00\t80\n20.00\t80\n[END COURSE DATA]\n"  # noqa: E501


def stored(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(LibraryWorkout)).scalar_one()


def test_twenty_parallel_creates_with_one_key_create_one(live_server: LiveServer, me: Caller, db: Database):
    def post() -> httpx.Response:
        headers = {**me.headers, "Idempotency-Key": "parallel-1"}
        return httpx.post(live_server.base_url + URL, json=WORKOUT, headers=headers, timeout=60)

    responses = race(20, post)
    assert [r.status_code for r in responses] == [201] * 20
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.headers["location"] for r in responses}) == 1
    assert stored(db) == 1


def test_a_retry_gets_the_first_answer(client, me: Caller, db: Database):
    headers = {**me.headers, "Idempotency-Key": "retry-1"}
    first = client.post(URL, json=WORKOUT, headers=headers)
    again = client.post(URL, json=WORKOUT, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again.headers["location"] == first.headers["location"]
    assert stored(db) == 1


def test_the_key_with_another_body_is_409(client, me: Caller, db: Database):
    headers = {**me.headers, "Idempotency-Key": "retry-2"}
    assert client.post(URL, json=WORKOUT, headers=headers).status_code == 201
    other = client.post(URL, json={**WORKOUT, "title": "Other"}, headers=headers)
    assert other.status_code == 409 and other.json()["idempotencyKey"] == "retry-2"
    assert stored(db) == 1


def test_a_key_used_on_the_calendar_is_not_reused_for_a_workout(client, me: Caller, db: Database):
    headers = {**me.headers, "Idempotency-Key": "shared"}
    event = {"calendarDate": "2026-03-01", "title": "Rest", "notes": "day off"}
    assert client.post("/api/v1/calendar/events", json=event, headers=headers).status_code == 201
    assert client.post(URL, json=WORKOUT, headers=headers).status_code == 409


def test_an_invalid_key_is_a_400(client, me: Caller, db: Database):
    response = client.post(URL, json=WORKOUT, headers={**me.headers, "Idempotency-Key": "x" * 256})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert stored(db) == 0


def test_an_import_retried_with_its_key_imports_once(client, me: Caller, db: Database):
    headers = {**me.headers, "Idempotency-Key": "import-1"}
    files = {"file": ("tempo.erg", ERG, "text/plain")}
    first = client.post(URL + "/import", files=files, headers=headers)
    again = client.post(URL + "/import", files=files, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json()["id"] == first.json()["id"]
    other = client.post(URL + "/import", files={"file": ("other.erg", ERG, "text/plain")}, headers=headers)
    assert other.status_code == 409
    assert stored(db) == 1


def test_without_a_key_each_post_creates(client, me: Caller, db: Database):
    for _ in range(2):
        assert client.post(URL, json=WORKOUT, headers=bearer(me.key)).status_code == 201
    assert stored(db) == 2
