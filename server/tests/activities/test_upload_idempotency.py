"""Idempotency-Key on POST /api/v1/activities/upload: a retried upload gets its first 201, not a 409."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from tests.conftest import Caller, Database, LiveServer
from tests.oauth2.flow import race
from trainerday_server.models import Activity

URL = "/api/v1/activities/upload"
RIDE = "2020-06-01-16-52-40.fit"


def stored(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Activity)).scalar_one()


def test_a_retried_upload_gets_the_first_answer(client, me: Caller, db: Database, samples):
    data = (samples / "fit" / RIDE).read_bytes()
    headers = {**me.headers, "Idempotency-Key": "ride-1"}
    first = client.post(URL, files={"file": (RIDE, data)}, data={"name": "Morning"}, headers=headers)
    again = client.post(URL, files={"file": (RIDE, data)}, data={"name": "Morning"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again.headers["location"] == first.headers["location"]
    assert stored(db) == 1
    # Without the key the same file is still recognised as a duplicate.
    duplicate = client.post(URL, files={"file": (RIDE, data)}, headers=me.headers)
    assert duplicate.status_code == 409 and duplicate.json()["existingActivityId"] == first.json()["id"]


def test_the_key_with_another_upload_is_409_and_stores_nothing(client, me: Caller, db: Database, samples):
    data = (samples / "fit" / RIDE).read_bytes()
    headers = {**me.headers, "Idempotency-Key": "ride-2"}
    assert client.post(URL, files={"file": (RIDE, data)}, headers=headers).status_code == 201
    renamed = client.post(URL, files={"file": (RIDE, data)}, data={"name": "Other"}, headers=headers)
    assert renamed.status_code == 409 and renamed.json()["idempotencyKey"] == "ride-2"
    assert stored(db) == 1


def test_concurrent_uploads_with_one_key_store_one(
    live_server: LiveServer, me: Caller, db: Database, samples
):
    data = (samples / "fit" / RIDE).read_bytes()

    def upload() -> httpx.Response:
        headers = {**me.headers, "Idempotency-Key": "ride-3"}
        return httpx.post(
            live_server.base_url + URL, files={"file": (RIDE, data)}, headers=headers, timeout=120
        )

    responses = race(8, upload)
    assert [r.status_code for r in responses] == [201] * 8
    assert len({r.json()["id"] for r in responses}) == 1
    assert stored(db) == 1
