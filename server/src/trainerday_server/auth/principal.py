"""Who is calling: the result of authenticating a bearer token, whatever kind of token it was."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    athlete_id: int
    scopes: frozenset[str]
    # The athlete's data revision when the token was checked: a cached response built at this revision is
    # still exactly what the database would give.
    data_revision: int
    kind: str  # "api_key" | "oauth"
    credential_id: int  # the API key or OAuth token, by kind
    # RFC 8707: the resource an OAuth token was issued for (the MCP endpoint's URL); None for the REST API.
    audience: str | None = None
