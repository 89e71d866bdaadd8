"""Where the command line keeps the athlete's key (config) and what it has uploaded (state).

The key file is the user's config directory's ``trainerday/config.json`` (``$XDG_CONFIG_HOME``, else
``~/.config``; ``%APPDATA%`` on Windows), created with mode 0600 inside a 0700 directory so that no other user
can read it. ``TRAINERDAY_API_KEY`` and ``TRAINERDAY_BASE_URL``, when set, win over the file.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from trainerday._oauth import DEFAULT_BASE_URL


def _base_dir(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable)
    if value and Path(value).is_absolute():
        return Path(value)
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"])
    return Path.home() / fallback


def config_dir() -> Path:
    return _base_dir("XDG_CONFIG_HOME", ".config") / "trainerday"


def state_dir() -> Path:
    return _base_dir("XDG_STATE_HOME", ".local/state") / "trainerday"


def config_file() -> Path:
    return config_dir() / "config.json"


@dataclass(frozen=True)
class Login:
    api_key: str | None
    base_url: str
    source: str  # where the key came from, for messages


def _stored() -> dict[str, str]:
    path = config_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise SystemExit(f"error: cannot read {path}: {exc}; run `trainerday login` again") from None
    return data if isinstance(data, dict) else {}


def current_login() -> Login:
    stored = _stored()
    env_key = os.environ.get("TRAINERDAY_API_KEY")
    base_url = os.environ.get("TRAINERDAY_BASE_URL") or stored.get("base_url") or DEFAULT_BASE_URL
    if env_key:
        return Login(env_key, base_url.rstrip("/"), "TRAINERDAY_API_KEY")
    return Login(stored.get("api_key"), base_url.rstrip("/"), str(config_file()))


def _private_directory(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def save_login(api_key: str, base_url: str) -> Path:
    """Store the key readable by its owner only: the file is created 0600, never widened afterwards."""
    path = config_file()
    _private_directory(path.parent)
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({"api_key": api_key, "base_url": base_url}, handle)
    os.chmod(temporary, 0o600)  # in case the umask or the platform widened it
    os.replace(temporary, path)
    return path


def forget_login() -> bool:
    path = config_file()
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def private_state_file(name: str) -> Path:
    directory = state_dir()
    _private_directory(directory)
    return directory / name
