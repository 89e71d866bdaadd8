"""``/readyz``: may this process take traffic? The database answers, its schema is the newest this code
knows, and Redis answers when one is configured. ``/healthz`` stays the cheaper "the process is up"."""

from __future__ import annotations

import logging
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from trainerday_server.migrate import alembic_config

log = logging.getLogger(__name__)
_heads_by_url: dict[str, frozenset[str]] = {}


def _expected_heads(url: str) -> frozenset[str]:
    # Reading the migration scripts costs milliseconds; they cannot change under a running process.
    heads = _heads_by_url.get(url)
    if heads is None:
        heads = _heads_by_url[url] = frozenset(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    return heads


def check_database(state: Any) -> dict[str, str]:
    engine = state.engine
    try:
        with engine.connect() as connection:
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except Exception as exc:
        log.warning("readiness: database unreachable: %s", exc)
        return {"database": "unreachable", "migrations": "unknown"}
    expected = _expected_heads(str(engine.url))
    return {"database": "ok", "migrations": "ok" if current == expected else "not current"}


def check_redis(url: str) -> str:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        log.warning("readiness: redis unreachable: %s", exc)
        return "unreachable"
    return "ok"


def readiness(state: Any) -> tuple[bool, dict[str, str]]:
    checks = check_database(state)
    if state.settings.redis_url:
        checks["redis"] = check_redis(state.settings.redis_url)
    return all(v == "ok" for v in checks.values()), checks
