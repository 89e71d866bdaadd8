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
    # Webhooks (docs/webhooks.md). The delivery worker runs inside `serve` unless turned off here (then run
    # `trainerday-server worker`). Retry delays in seconds, comma-separated: about a day in all by default.
    webhooks_worker: bool = True
    webhooks_retry_schedule: str = "5,30,120,600,1800,3600,7200,14400,28800,28800"
    # Plain http (and loopback addresses) for callbacks: tests and local development only.
    webhooks_allow_http: bool = False
    # Callbacks to private networks (10/8, 172.16/12, 192.168/16, fc00::/7...), for a receiver on the LAN.
    webhooks_allow_private: bool = False
    webhooks_timeout_seconds: float = 5.0
    webhooks_poll_seconds: float = 1.0
    # After a rotation the replaced secret signs too, beside the new one, for this long (0: not at all).
    webhooks_secret_overlap_hours: float = Field(default=24.0, ge=0, le=24 * 30)
    # Browser origins allowed to call the API and the token endpoints (CORS): comma- or space-separated,
    # "*" for any. Empty: none (server-side clients need no CORS).
    cors_origins: str = ""
    # The server refuses a request whose header takes longer than this to arrive (slow-loris), and a request
    # body that stops arriving for this long (see trainerday_server.serving).
    request_header_timeout_seconds: float = 10.0
    request_body_idle_timeout_seconds: float = 30.0

    # --- production: observability, rate limits, maintenance (docs/operations.md) ---
    # One JSON line per request on standard error; uvicorn's own access log is always off.
    access_log: bool = True
    # Shared state for several processes (rate limits); without it each process limits on its own.
    redis_url: str | None = None
    # Requests per token (per client address without one) to /api/: "600/minute", "10/second"... or "off".
    rate_limit: str = "600/minute"
    # Per client address, on log-in, sign-up and /oauth/token* (POST).
    login_rate_limit: str = "30/minute"
    # Activity uploads per athlete: each can cost seconds of CPU to decode.
    upload_rate_limit: str = "120/hour"
    # /metrics answers only with "Authorization: Bearer <this>" when set.
    metrics_token: str | None = None
    # The in-process clean-up runs this often (0: never; use `trainerday-server maintenance` from cron).
    maintenance_interval_seconds: int = 3600
    # A rotated refresh token re-presented within this many seconds gets the same new pair back.
    refresh_token_grace_seconds: int = 30

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'trainerday.db').resolve()}"

    @property
    def webhook_retry_delays(self) -> list[float]:
        """The retry schedule as seconds; ValueError says what is wrong with it."""
        try:
            delays = [float(part) for part in self.webhooks_retry_schedule.split(",") if part.strip()]
        except ValueError:
            raise ValueError(
                f"TRAINERDAY_WEBHOOKS_RETRY_SCHEDULE={self.webhooks_retry_schedule!r}: "
                "expected seconds separated by commas, such as 1,2,4"
            ) from None
        if not delays or any(not 0 <= d <= 7 * 24 * 3600 for d in delays):
            raise ValueError(
                "TRAINERDAY_WEBHOOKS_RETRY_SCHEDULE needs at least one delay, each 0 to 604800 seconds"
            )
        return delays

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
