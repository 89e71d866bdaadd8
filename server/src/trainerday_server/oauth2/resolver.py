"""Resolves OAuth access tokens (``tdo_``) for the bearer dependency: one indexed lookup per request."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from trainerday_server.auth.principal import Principal
from trainerday_server.auth.tokens import token_hash
from trainerday_server.db import KeyLookup
from trainerday_server.models import Athlete, OAuthToken
from trainerday_server.oauth2.service import ACCESS_TOKEN_PREFIX, Clock, unix_seconds


class OAuthTokenResolver:
    prefix = ACCESS_TOKEN_PREFIX

    def __init__(self, engine: Engine, secret_key: bytes, clock: Clock) -> None:
        self._engine = engine
        self._secret = secret_key
        self._clock = clock
        statement = sa.select(
            OAuthToken.id,
            OAuthToken.athlete_id,
            OAuthToken.scope,
            OAuthToken.expires_at,
            OAuthToken.revoked_at.is_(None),
            Athlete.data_revision,
            OAuthToken.resource,
        ).join(Athlete, Athlete.id == OAuthToken.athlete_id)
        self._lookup = KeyLookup(engine, statement, OAuthToken.access_token_hash)

    async def resolve(self, token: str) -> Principal | None:
        row = await self._lookup.first(token_hash(self._secret, token))
        if row is None:
            return None
        token_id, athlete_id, scope, expires_at, active, revision, resource = row
        if not active or expires_at <= unix_seconds(self._clock()):
            return None
        return Principal(athlete_id, frozenset(scope.split()), revision, "oauth", token_id, resource)

    def touch(self, principal: Principal) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                sa.update(OAuthToken)
                .where(OAuthToken.id == principal.credential_id)
                .values(last_used_at=self._clock())
            )
