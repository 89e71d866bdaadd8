"""``/readyz``: ready only when the database answers at the newest migration and Redis (when configured)
answers; ``/healthz`` stays up regardless."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from trainerday_server.app import create_app
from trainerday_server.config import Settings
from trainerday_server.db import create_db_engine
from trainerday_server.migrate import upgrade

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_is_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_ready_when_the_database_is_migrated(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}
    assert response.headers["cache-control"] == "no-store"


def test_not_ready_on_an_old_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "2026_11_27_workouts")  # one migration behind
    engine = create_db_engine(url)
    settings = Settings(data_dir=tmp_path, database_url=url, secret_key="s" * 40)
    with TestClient(create_app(settings, engine=engine)) as client:
        response = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
    engine.dispose()
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "migrations": "not current"},
    }


def test_not_ready_when_the_database_cannot_be_opened(tmp_path: Path) -> None:
    (tmp_path / "a-directory.db").mkdir()  # SQLite cannot open a directory as its file
    url = f"sqlite:///{tmp_path / 'a-directory.db'}"
    engine = create_db_engine(url)
    settings = Settings(data_dir=tmp_path, database_url=url, secret_key="s" * 40)
    with TestClient(create_app(settings, engine=engine)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unreachable"


def test_not_ready_when_the_configured_redis_does_not_answer(settings: Settings, db) -> None:  # type: ignore[no-untyped-def]
    settings = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{closed_port()}/0"})
    with TestClient(create_app(settings, engine=db.engine)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "redis": "unreachable"}


@pytest.mark.skipif(not redis_is_up(), reason="no Redis on 127.0.0.1:6379")
def test_ready_with_a_reachable_redis(settings: Settings, db) -> None:  # type: ignore[no-untyped-def]
    settings = settings.model_copy(update={"redis_url": REDIS_URL})
    with TestClient(create_app(settings, engine=db.engine)) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["redis"] == "ok"
