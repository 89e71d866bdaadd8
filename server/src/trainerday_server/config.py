"""Configuration from ``TRAINERDAY_*`` environment variables, with defaults that need no set-up at all."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FILE_NAME = "secret_key"  # noqa: S105 - a file name, not a secret
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRAINERDAY_", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Where the SQLite file, secret and uploads live.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir.")
    secret_key: str | None = Field(
        default=None, description="HMAC key for tokens at rest; generated if unset."
    )
    base_url: str = "http://127.0.0.1:8000"
    log_level: str = "info"
    # Uploads (activities) are refused past this many bytes after decompression.
    max_upload_bytes: int = 50 * 1024 * 1024
    # Memory each process may spend on whole calendar responses (LRU by bytes); 0 disables the cache.
    response_cache_bytes: int = 64 * 1024 * 1024
    # "open": MCP clients (AI assistants) may register themselves (RFC 7591 dynamic client registration) and
    # then ask athletes for consent like any app. "closed" (the default): apps are registered by the operator.
    mcp_clients: Literal["closed", "open"] = "closed"
    # Who may create an account: anyone on /signup (open), or only an operator with the CLI (closed).
    signup: Literal["open", "closed"] = "open"
    # Apps applied for on /developer/apps wait for `clients approve` (manual), or are approved at once (auto).
    app_approval: Literal["manual", "auto"] = "manual"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'trainerday.db').resolve()}"

    @property
    def resolved_secret_key(self) -> bytes:
        """The server secret: from the environment, else created once in the data directory and reused."""
        if self.secret_key:
            if len(self.secret_key) < MIN_SECRET_LENGTH:
                raise SecretKeyError(f"TRAINERDAY_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")
            return self.secret_key.encode()
        return _secret_from_data_dir(self.data_dir.resolve()).encode()


class SecretKeyError(RuntimeError):
    """The stored server secret is unusable: starting anyway would key every token with it."""


def _secret_from_data_dir(data_dir: Path) -> str:
    """The secret stored in the data directory, created on first use.

    Created complete or not at all (written to a temporary file, then linked into place, which fails if
    another process got there first), so a crash or a full disk can never leave an empty secret that later
    starts would silently key every token with.
    """
    path = data_dir / SECRET_FILE_NAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=data_dir, prefix=".secret-")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
                f.flush()
                os.fsync(f.fileno())
            os.chmod(temporary, 0o600)
            with contextlib.suppress(FileExistsError):  # another process created it first: use theirs
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    secret = path.read_text().strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise SecretKeyError(
            f"{path} holds {len(secret)} characters, not a usable secret (at least {MIN_SECRET_LENGTH}). "
            "Restore it from a backup, or delete it to generate a new one (every API key and token will stop "
            "working)."
        )
    return secret


@lru_cache
def get_settings() -> Settings:
    return Settings()
