"""Per-request cost of resolving an OAuth access token, relative to a personal API key.

Both run on every authenticated API request: one indexed lookup joined to the athlete (for the data
revision); the OAuth one also checks the expiry in Python. Run: .venv/bin/python bench/oauth_resolver.py
(set TRAINERDAY_BENCH_POSTGRES_URL to a database to measure PostgreSQL as well).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from trainerday_server.accounts.service import create_athlete
from trainerday_server.api_keys.resolver import ApiKeyResolver
from trainerday_server.api_keys.service import create_key
from trainerday_server.auth.scopes import ALL_SCOPES, format_scopes
from trainerday_server.auth.tokens import new_token, token_hash
from trainerday_server.db import create_db_engine, make_session_factory, session_scope
from trainerday_server.migrate import upgrade
from trainerday_server.models import OAuthAuthorizationCode, OAuthToken
from trainerday_server.models.base import utcnow
from trainerday_server.oauth2.resolver import OAuthTokenResolver
from trainerday_server.oauth2.service import (
    ACCESS_TOKEN_PREFIX,
    ACCESS_TOKEN_SECONDS,
    CODE_PREFIX,
    REFRESH_TOKEN_PREFIX,
    REFRESH_TOKEN_SECONDS,
    create_client,
    unix_seconds,
)

SECRET = b"bench-secret-0123456789abcdef0123456789"
ROUNDS = 5
CALLS = 2000


def seed(url: str) -> tuple[str, str]:
    """An athlete with an API key and an OAuth access token; returns both tokens."""
    engine = create_db_engine(url)
    with session_scope(make_session_factory(engine, writer=True)) as session:
        athlete = create_athlete(session, f"bench-{time.time_ns()}@example.com", "password123")
        key = create_key(session, SECRET, athlete.id, name="bench", scopes=ALL_SCOPES).plaintext
        client = create_client(
            session,
            SECRET,
            name="Bench",
            redirect_uris=["https://b.example/cb"],
            scopes=ALL_SCOPES,
            public=False,
        ).client
        now = utcnow()
        code = OAuthAuthorizationCode(
            code_hash=token_hash(SECRET, new_token(CODE_PREFIX)),
            client_pk=client.id,
            athlete_id=athlete.id,
            redirect_uri="https://b.example/cb",
            scope=format_scopes(ALL_SCOPES),
            expires_at=now,
        )
        session.add(code)
        session.flush()
        access = new_token(ACCESS_TOKEN_PREFIX)
        issued = unix_seconds(now)
        session.add(
            OAuthToken(
                authorization_code_id=code.id,
                client_pk=client.id,
                athlete_id=athlete.id,
                scope=code.scope,
                access_token_hash=token_hash(SECRET, access),
                refresh_token_hash=token_hash(SECRET, new_token(REFRESH_TOKEN_PREFIX)),
                issued_at=issued,
                expires_at=issued + ACCESS_TOKEN_SECONDS,
                refresh_expires_at=issued + REFRESH_TOKEN_SECONDS,
            )
        )
    engine.dispose()
    return key, access


def per_call(resolve, token: str) -> float:
    start = time.perf_counter()
    for _ in range(CALLS):
        assert resolve(token) is not None
    return (time.perf_counter() - start) / CALLS


def measure(name: str, url: str) -> None:
    upgrade(url)
    key, access = seed(url)
    engine = create_db_engine(url)
    api_key, oauth = ApiKeyResolver(engine, SECRET), OAuthTokenResolver(engine, SECRET, utcnow)
    ratios, key_times, oauth_times = [], [], []
    for _ in range(ROUNDS):  # interleaved, so drift on a noisy machine hits both alike
        k, o = per_call(api_key.resolve, key), per_call(oauth.resolve, access)
        key_times.append(k)
        oauth_times.append(o)
        ratios.append(o / k)
    engine.dispose()
    ratios.sort()
    print(
        f"{name}: OAuth token / API key resolve time = {ratios[len(ratios) // 2]:.2f} (median of {ROUNDS}; "
        f"range {ratios[0]:.2f}-{ratios[-1]:.2f}); API key {min(key_times) * 1e6:.0f} µs, "
        f"OAuth {min(oauth_times) * 1e6:.0f} µs per call (best round)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        measure("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}")
    if url := os.environ.get("TRAINERDAY_BENCH_POSTGRES_URL"):
        measure("postgres", url)


if __name__ == "__main__":
    main()
