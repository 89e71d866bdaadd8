"""Configuration from ``TRAINERDAY_*`` environment variables, with defaults that need no set-up at all."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FILE_NAME = "secret_key"  # noqa: S105 - a file name, not a secret


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
    # How many whole calendar responses each process keeps (LRU); 0 disables the cache.
    response_cache_entries: int = 4096

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'trainerday.db').resolve()}"

    @property
    def resolved_secret_key(self) -> bytes:
        """The server secret: from the environment, else created once in the data directory and reused."""
        if self.secret_key:
            return self.secret_key.encode()
        return _secret_from_data_dir(self.data_dir.resolve()).encode()


def _secret_from_data_dir(data_dir: Path) -> str:
    path = data_dir / SECRET_FILE_NAME
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # O_EXCL: when several processes start at once, exactly one writes and the others read its secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secret)
    return secret


@lru_cache
def get_settings() -> Settings:
    return Settings()
