"""Dependencies named by what they mean: the request's database session, and who calls with which scope.

def plan(body: EventIn, session: SessionDep, me: Annotated[Principal, require_scope("calendar:write")]): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Security
from sqlalchemy.orm import Session

from trainerday_server.auth.bearer import bearer_auth
from trainerday_server.db import session_scope

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _request_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed after the handler returns and before the response is sent,
    rolled back if anything raised. Unsafe methods get a writer session (on SQLite: BEGIN IMMEDIATE)."""
    state = request.app.state
    factory = state.read_sessions if request.method in _SAFE_METHODS else state.write_sessions
    with session_scope(factory) as session:
        yield session


# scope="function": the commit happens before the response goes out, so a failed commit is an error response,
# never a 2xx for data that was not saved.
SessionDep = Annotated[Session, Depends(_request_session, scope="function")]


def require_scope(scope: str) -> Any:
    """Authenticate the bearer token and require ``scope`` (documented per route in OpenAPI)."""
    return Security(bearer_auth, scopes=[scope])


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retry-safe creation: a retry with the same key and body gets the first answer, and "
        "nothing is created twice; the same key with another body is a 409.",
    ),
]
