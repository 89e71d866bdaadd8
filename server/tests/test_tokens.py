"""Token hashing: what is stored for every API key and OAuth token is HMAC-SHA-256 keyed with the server
secret. The precomputed-pad implementation must agree with the standard library's ``hmac`` exactly, or every
stored key would stop matching."""

from __future__ import annotations

import hmac

from hypothesis import given
from hypothesis import strategies as st

from trainerday_server.auth.tokens import new_token, token_hash


@given(key=st.binary(min_size=0, max_size=200), token=st.text(max_size=600))
def test_token_hash_is_hmac_sha256(key: bytes, token: str) -> None:
    assert token_hash(key, token) == hmac.new(key, token.encode(), "sha256").hexdigest()


def test_token_hash_depends_on_the_key_and_the_token() -> None:
    token = new_token("td_")
    assert token_hash(b"a" * 32, token) != token_hash(b"b" * 32, token)
    assert token_hash(b"a" * 32, token) != token_hash(b"a" * 32, token + "x")
    # Keys longer than SHA-256's block are hashed first (RFC 2104), as hmac does.
    long_key = bytes(range(100))
    assert token_hash(long_key, token) == hmac.new(long_key, token.encode(), "sha256").hexdigest()
