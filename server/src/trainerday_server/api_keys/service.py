"""Personal API keys: ``td_`` + 32 random bytes, shown once, stored only as an HMAC with the server secret."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from trainerday_server.auth.scopes import format_scopes
from trainerday_server.auth.tokens import API_KEY_PREFIX, new_token, token_hash
from trainerday_server.errors import NotFound, ValidationFailed
from trainerday_server.models import ApiKey
from trainerday_server.models.base import utcnow


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    plaintext: str  # the only time the key exists outside the caller's hands


def create_key(
    session: Session,
    secret_key: bytes,
    athlete_id: int,
    *,
    name: str,
    scopes: frozenset[str],
    expires_at: dt.datetime | None = None,
) -> NewKey:
    """A new key (optionally working only until ``expires_at``), returned in plain text this once."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed.single("name", "must be 1 to 100 characters")
    plaintext = new_token(API_KEY_PREFIX)
    key = ApiKey(
        athlete_id=athlete_id,
        name=name,
        token_hash=token_hash(secret_key, plaintext),
        hint=plaintext[:7],
        scopes=format_scopes(scopes),
        expires_at=None if expires_at is None else int(expires_at.timestamp()),
    )
    session.add(key)
    session.flush()
    return NewKey(key, plaintext)


def list_keys(session: Session, athlete_id: int) -> list[ApiKey]:
    return list(session.scalars(sa.select(ApiKey).where(ApiKey.athlete_id == athlete_id).order_by(ApiKey.id)))


def revoke_key(session: Session, key_id: int, *, athlete_id: int | None = None) -> ApiKey:
    """Revoke a key (idempotent). With ``athlete_id``, only that athlete's key is found."""
    query = sa.select(ApiKey).where(ApiKey.id == key_id)
    if athlete_id is not None:
        query = query.where(ApiKey.athlete_id == athlete_id)
    key = session.scalar(query)
    if key is None:
        raise NotFound(f"no API key with id {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return key
