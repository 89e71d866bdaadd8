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
    def __init__(self, max_entries: int) -> None:
        self._max = max_entries
        self._entries: OrderedDict[Hashable, tuple[int, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, revision: int) -> bytes | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != revision:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, revision: int, body: bytes) -> None:
        if self._max <= 0:
            return
        with self._lock:
            # Revisions are random, not ordered: a slow request may overwrite a newer entry, which costs
            # one rebuild later, never a stale answer.
            self._entries[key] = (revision, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
