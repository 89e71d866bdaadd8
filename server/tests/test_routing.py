"""``query_values`` reads a query string exactly as Starlette's ``request.query_params`` does."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st
from starlette.requests import Request

from trainerday_server.routing import query_values

QUERY_CHARACTERS = st.sampled_from([*"abcdeDT=&-_.:;,/ 0123456789%+é?#", "%41", "%2", "%%", "&&", "=="])


def request_with(query: bytes) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query, "headers": []})


@given(st.lists(QUERY_CHARACTERS, max_size=40).map("".join))
@example("startDate=2026-01-01&endDate=2026-01-31")
@example("a=1&a=2&b&=x&c=")
@example("segments=false&startDate=2026-01-01&endDate=2026-01-31&x=%2F&y=a+b")
def test_query_values_agree_with_starlette(query: str) -> None:
    raw = query.encode("utf-8")
    assert dict(query_values(request_with(raw))) == dict(request_with(raw).query_params)
