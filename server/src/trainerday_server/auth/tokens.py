"""High-entropy secrets (API keys, OAuth tokens): generated with ``secrets``, stored only as an HMAC.

HMAC-SHA-256 keyed with the server secret, not a slow password hash: the secret has 256 bits of entropy so
brute force is hopeless anyway, and it is checked on every request. The key means a stolen database alone
cannot even confirm a guessed token.
"""

from __future__ import annotations

import hashlib
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
    """HMAC-SHA-256 of the token keyed with ``secret_key``, in hex (what is stored and looked up)."""
    hasher = _hashers.get(secret_key)
    if hasher is None:
        if len(_hashers) >= 16:  # a server has one secret, two while rotating: this only bounds tests
            _hashers.clear()
        hasher = _hashers[secret_key] = _KeyedSha256(secret_key)
    return hasher.hexdigest(token.encode())


class _KeyedSha256:
    """HMAC-SHA-256 (RFC 2104) with the key's inner and outer pads hashed once: each token then costs two
    copies and two short updates, a third of ``hmac.digest``, which sets the key up again on every call
    (every API request hashes its token). ``tests/test_tokens.py`` checks it against ``hmac``."""

    def __init__(self, key: bytes) -> None:
        if len(key) > _SHA256_BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def hexdigest(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


_SHA256_BLOCK = 64
# One per server secret: a process has one or two (during a key rotation), tests a handful.
_hashers: dict[bytes, _KeyedSha256] = {}


def is_wellformed(token: str) -> bool:
    return len(token) <= 512 and _B64TOKEN.match(token) is not None
