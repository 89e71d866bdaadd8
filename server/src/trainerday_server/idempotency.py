"""``Idempotency-Key`` for every POST that creates: a retried request gets the first response instead of a
duplicate (routes call ``once``; the header is ``deps.IdempotencyKeyHeader``).

The key is claimed (a row inserted) before the work is done, inside the request's transaction, so two
concurrent requests with one key cannot both do the work: on PostgreSQL the second waits on the unique index
and then finds the first's row; on SQLite write transactions are serialised anyway. The same key with a
different request is a client error (409).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trainerday_server.errors import Conflict, ValidationFailed
from trainerday_server.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: bytes
    location: str | None


def fingerprint(method: str, path: str, payload: object) -> str:
    """Identifies a request by meaning: the same JSON in another key order or spacing is the same request.
    Bytes (an uploaded file) are taken as they are."""
    canonical = payload if isinstance(payload, bytes) else orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def _existing(session: Session, athlete_id: int, key: str) -> IdempotencyRecord | None:
    return session.scalar(
        sa.select(IdempotencyRecord).where(
            IdempotencyRecord.athlete_id == athlete_id, IdempotencyRecord.key == key
        )
    )


def _replay(record: IdempotencyRecord, request_hash: str) -> StoredResponse:
    if record.request_hash != request_hash:
        raise Conflict(
            "this Idempotency-Key was already used for a different request; use a new key for a new request",
            extra={"idempotencyKey": record.key},
        )
    return StoredResponse(record.status_code, record.body, record.location)


def claim(
    session: Session, athlete_id: int, key: str, request_hash: str
) -> IdempotencyRecord | StoredResponse:
    """Either the stored response of an earlier identical request, or a claimed record to complete."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed.single(
            "Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} printable characters"
        )
    record = _existing(session, athlete_id, key)
    if record is not None:
        return _replay(record, request_hash)
    record = IdempotencyRecord(
        athlete_id=athlete_id, key=key, request_hash=request_hash, status_code=0, body=b""
    )
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        # A concurrent request with this key committed first; answer as it did.
        record = _existing(session, athlete_id, key)
        if record is None:
            raise
        return _replay(record, request_hash)
    return record


def complete(record: IdempotencyRecord, status_code: int, body: bytes, location: str | None) -> None:
    record.status_code = status_code
    record.body = body
    record.location = location


def once(
    session: Session,
    athlete_id: int,
    key: str | None,
    request_hash: str,
    create: Callable[[], StoredResponse],
) -> StoredResponse:
    """Run ``create`` (which does the work in ``session`` and describes its 2xx answer) unless an identical
    request with this key was already answered: then that first answer, and nothing is done again.

    Without a key every call creates. Validate and compute what you can before calling this: the claim is
    the request's first write, so on SQLite the write lock is held from here to the commit.
    """
    if key is None:
        return create()
    claimed = claim(session, athlete_id, key, request_hash)
    if isinstance(claimed, StoredResponse):
        return claimed
    answer = create()
    complete(claimed, answer.status_code, answer.body, answer.location)
    return answer


class AlreadyAnswered(Exception):
    """Raised by ``Claim.take`` when an identical request with this key was answered: replay ``stored``."""

    def __init__(self, stored: StoredResponse) -> None:
        super().__init__("already answered")
        self.stored = stored


@dataclass
class Claim:
    """``once`` for a service that runs its own write transaction (activity upload): the service calls
    ``take`` inside that transaction before writing anything, and ``complete`` once it has its answer."""

    athlete_id: int
    key: str
    path: str
    record: IdempotencyRecord | None = None

    def take(self, session: Session, payload: object) -> None:
        """Claim the key for this request (identified by ``payload``), or raise AlreadyAnswered / 409."""
        claimed = claim(session, self.athlete_id, self.key, fingerprint("POST", self.path, payload))
        if isinstance(claimed, StoredResponse):
            raise AlreadyAnswered(claimed)
        self.record = claimed

    def complete(self, status_code: int, body: bytes, location: str | None) -> None:
        assert self.record is not None, "take() first"
        complete(self.record, status_code, body, location)
