"""The whole-response cache: exact by revision, bounded by bytes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from trainerday_server.cache import RevisionCache


def test_a_body_is_served_only_at_the_revision_it_was_built_at():
    cache = RevisionCache(1000)
    cache.put("k", 7, b"body")
    assert cache.get("k", 7) == b"body"
    assert cache.get("k", 8) is None
    cache.put("k", 8, b"newer")
    assert cache.get("k", 7) is None and cache.get("k", 8) == b"newer"


def test_least_recently_used_bodies_go_first_when_bytes_run_out():
    cache = RevisionCache(800)  # bodies of up to 100 bytes are kept
    for key in "abcdefgh":
        cache.put(key, 1, b"x" * 100)
    assert cache.get("a", 1) is not None  # a is now the most recently used
    cache.put("i", 1, b"x" * 100)
    assert cache.get("b", 1) is None and cache.get("a", 1) is not None and cache.get("i", 1) is not None


def test_a_body_over_an_eighth_of_the_budget_is_not_kept():
    cache = RevisionCache(800)
    cache.put("big", 1, b"x" * 101)
    assert cache.get("big", 1) is None and cache.size_bytes == 0


@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 3), st.binary(max_size=300))))
def test_memory_never_exceeds_the_budget(puts):
    cache = RevisionCache(1024)
    for key, revision, body in puts:
        cache.put(key, revision, body)
        assert cache.size_bytes <= 1024
    assert cache.size_bytes == sum(len(cache._entries[k][1]) for k in cache._entries)
