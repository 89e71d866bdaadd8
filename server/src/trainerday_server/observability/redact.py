"""Keep secrets out of the logs: credentials in query strings and token-shaped strings anywhere in a path.

A client that puts ``?access_token=td_...`` or ``?client_secret=...`` in a URL is refused (RFC 6750 says
tokens go in the header), but the refused URL still reaches the access log; what it carried must not.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

REDACTED = "[REDACTED]"
# Parameter names whose values are credentials, compared case-insensitively after percent-decoding.
SECRET_PARAMETERS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "client_secret",
        "code",
        "code_verifier",
        "password",
        "new_password",
        "current_password",
        "api_key",
        "apikey",
        "key",
        "secret",
        "session",
        "assertion",
    }
)
# Our own secrets carry a recognisable prefix (API keys td_, OAuth tdo_/tdr_/tdc_/tds_): redacted wherever
# they appear, whatever the parameter is called.
_TOKEN_SHAPED = re.compile(r"td[a-z]?_[A-Za-z0-9_\-]{8,}")  # token_urlsafe characters
_QUOTED_TOKEN = re.compile(r"td[a-z]?(?:_|%5[Ff])[A-Za-z0-9_\-.~+/%]{8,}")
# Most query strings (dates, pages) contain nothing that could be a credential: a few substring tests say
# so (a case-insensitive regex alternation cost ten times more), and they are logged as they are.
_NAME_HINTS = ("token", "secret", "code", "passw", "key", "session", "assertion", "%")
_TOKEN_HINT = re.compile(r"td[a-z]?_")


def redact_query(query: str) -> str:
    """The query string with the value of every credential parameter, and every token-shaped value,
    replaced by ``[REDACTED]``; names and the other values are kept so the log still says what was asked."""
    if not query or query in _CLEAN:
        return query
    redacted = _redact(query)
    if redacted == query:  # only queries with nothing to hide are remembered
        if len(_CLEAN) >= _CLEAN_MAX:
            _CLEAN.clear()
        _CLEAN[query] = None
    return redacted


# Clients poll with the same few query strings (a calendar month, a page of rides): those found clean are
# remembered, so the common line costs one dict lookup.
_CLEAN: dict[str, None] = {}
_CLEAN_MAX = 4096


def _redact(query: str) -> str:
    lowered = query.lower()
    if not any(hint in lowered for hint in _NAME_HINTS) and _TOKEN_HINT.search(query) is None:
        return query
    parts = query.split("&")
    for i, part in enumerate(parts):
        name, sep, value = part.partition("=")
        if sep and (unquote_plus(name).strip().lower() in SECRET_PARAMETERS or _looks_secret(value)):
            parts[i] = f"{name}={REDACTED}"
        elif not sep and _looks_secret(name):
            parts[i] = REDACTED
    return "&".join(parts)


def redact_path(path: str) -> str:
    """A raw path with token-shaped segments redacted (for requests no route matched)."""
    return _TOKEN_SHAPED.sub(REDACTED, path) if "td" in path else path


def _looks_secret(value: str) -> bool:
    return "td" in value and _QUOTED_TOKEN.search(value) is not None
