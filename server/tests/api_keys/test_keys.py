"""Personal API keys: format, storage as an HMAC only, last use, revocation."""

from __future__ import annotations

import hashlib
import hmac
import re
import time

import sqlalchemy as sa

from tests.conftest import TEST_SECRET, Caller, Factory, bearer
from trainerday_server.models import ApiKey


def test_key_is_td_and_43_urlsafe_characters(factory: Factory):
    key = factory.key(factory.athlete().id)
    assert re.fullmatch(r"td_[A-Za-z0-9_-]{43}", key)


def test_keys_are_unique(factory: Factory):
    athlete = factory.athlete()
    assert len({factory.key(athlete.id) for _ in range(20)}) == 20


def test_only_an_hmac_of_the_key_is_stored(factory: Factory, db):
    key = factory.key(factory.athlete().id)
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(ApiKey.__table__)).mappings().all()
    stored = " ".join(str(v) for row in rows for v in row.values())
    assert key not in stored
    assert key[3:] not in stored
    expected = hmac.new(TEST_SECRET.encode(), key.encode(), hashlib.sha256).hexdigest()
    assert rows[0]["token_hash"] == expected
    assert rows[0]["hint"] == key[:7]


def test_a_different_server_secret_rejects_the_key(factory: Factory, db, tmp_path):
    from starlette.testclient import TestClient

    from trainerday_server.app import create_app
    from trainerday_server.config import Settings

    key = factory.key(factory.athlete().id)
    other = Settings(data_dir=tmp_path, database_url=db.url, secret_key="another-secret-entirely-0123456789")
    with TestClient(create_app(other, engine=db.engine)) as client:
        assert client.get("/api/v1/athlete", headers=bearer(key)).status_code == 401


def test_use_is_recorded(client, me: Caller, db):
    def last_used():
        with db.engine.connect() as conn:
            return conn.execute(sa.select(ApiKey.last_used_at)).scalar_one()

    assert last_used() is None
    assert client.get("/api/v1/athlete", headers=me.headers).status_code == 200
    deadline = time.monotonic() + 5  # recorded off the request path
    while last_used() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert last_used() is not None
