"""Where original activity files live: a small interface, and a local directory behind it by default.

The database keeps each activity's key; the bytes live here, so that a server running on many machines can
put them in an object store instead (implement ``FileStorage`` and hand it to ``create_app``). Streams are
not stored here: they are a small blob in the activity's row (see ``docs/operations.md``).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class FileStorage(Protocol):
    """Immutable blobs by key: written once, read whole, deleted."""

    def store(self, key: str, data: bytes) -> None:
        """Save ``data`` under ``key``; when this returns, the bytes are durable and readable in full."""

    def read(self, key: str) -> bytes:
        """The bytes stored under ``key``; FileNotFoundError when there are none."""

    def delete(self, key: str) -> None:
        """Remove ``key``; nothing happens when it is already gone."""


class LocalFileStorage:
    """Files under one directory. Writes go to a temporary file in the same directory, are flushed to disk
    and then renamed into place, so a reader never sees a partial file and a crash leaves no half-written
    one under a real key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key) or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

    def store(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
