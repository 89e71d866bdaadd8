"""High-entropy secrets (API keys, OAuth tokens): generated with ``secrets``, stored only as an HMAC.

HMAC-SHA-256 keyed with the server secret, not a slow password hash: the secret has 256 bits of entropy so
brute force is hopeless anyway, and it is checked on every request. The key means a stolen database alone
cannot even confirm a guessed token.
"""

from __future__ import annotations

import hmac
import re
import secrets

API_KEY_PREFIX = "td_"
TOKEN_BYTES = 32
# RFC 6750 b64token: what may follow "Bearer ".
_B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")


def new_token(prefix: str) -> str:
    """A fresh token: the prefix, then 32 random bytes URL-safe base64 encoded (43 characters)."""
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(secret_key: bytes, token: str) -> str:
    return hmac.digest(secret_key, token.encode(), "sha256").hex()  # one-shot: 3x cheaper than hmac.new


def is_wellformed(token: str) -> bool:
    return len(token) <= 512 and _B64TOKEN.match(token) is not None
