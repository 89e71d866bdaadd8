"""Passwords: argon2id, deliberately slow. (API keys are high-entropy and use a fast HMAC instead.)"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
# A real hash of a random password: verifying against it when the email is unknown makes "no such user"
# take as long as "wrong password", so timing does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("not a password anyone has: timing equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-work check; ``password_hash`` None (unknown account) still costs one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
