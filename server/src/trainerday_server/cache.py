"""Whole-response cache keyed by athlete data revision.

Each entry remembers the athlete's ``data_revision`` it was built at. Every write that changes what an
athlete reads sets a new random revision in the same transaction, and every request learns the current
revision from its (already necessary) token lookup, so a stale entry can never be served — in this process or
any other sharing the database — and no invalidation messages are needed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable


class RevisionCache:
    """LRU by bytes: a response body counts for its size, so memory stays bounded whatever the bodies weigh
    (a year of long notes is megabytes); a body over an eighth of the budget is never kept."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[Hashable, tuple[int, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: Hashable, revision: int) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != revision:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, revision: int, body: bytes) -> None:
        if len(body) > self._max_bytes // 8:
            return
        with self._lock:
            # Revisions are random, not ordered: a slow request may overwrite a newer entry, which costs
            # one rebuild later, never a stale answer.
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous[1])
            self._entries[key] = (revision, body)
            self._bytes += len(body)
            while self._bytes > self._max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= len(evicted)
