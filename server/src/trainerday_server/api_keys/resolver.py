"""Resolves ``td_`` bearer tokens for the bearer dependency: one indexed lookup per request (batched with
the others of the moment on PostgreSQL, see ``db.KeyLookup``)."""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from trainerday_server.auth.principal import Principal
from trainerday_server.auth.tokens import API_KEY_PREFIX, token_hash
from trainerday_server.db import KeyLookup
from trainerday_server.models import ApiKey, Athlete
from trainerday_server.models.base import utcnow


class ApiKeyResolver:
    prefix = API_KEY_PREFIX

    def __init__(self, engine: Engine, secret_key: bytes) -> None:
        self._engine = engine
        self._secret = secret_key
        self._lookup = KeyLookup(
            engine,
            sa.select(
                ApiKey.id,
                ApiKey.athlete_id,
                ApiKey.scopes,
                ApiKey.revoked_at.is_(None),
                Athlete.data_revision,
                ApiKey.expires_at,
            ).join(Athlete, Athlete.id == ApiKey.athlete_id),
            ApiKey.token_hash,
        )

    async def resolve(self, token: str) -> Principal | None:
        row = await self._lookup.first(token_hash(self._secret, token))
        if row is None or not row[3] or (row[5] is not None and row[5] <= time.time()):
            return None
        key_id, athlete_id, scopes, _active, revision, _expires = row
        return Principal(athlete_id, frozenset(scopes.split()), revision, "api_key", key_id)

    def touch(self, principal: Principal) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                sa.update(ApiKey).where(ApiKey.id == principal.credential_id).values(last_used_at=utcnow())
            )
