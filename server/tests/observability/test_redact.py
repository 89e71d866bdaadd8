"""Credentials never reach the log: query-string redaction, checked case by case."""

from __future__ import annotations

import pytest

from trainerday_server.observability.redact import REDACTED, redact_path, redact_query


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ""),
        ("startDate=2026-01-01&endDate=2026-01-31", "startDate=2026-01-01&endDate=2026-01-31"),
        ("access_token=td_abc123def456", f"access_token={REDACTED}"),
        ("client_secret=hunter2hunter2&grant_type=x", f"client_secret={REDACTED}&grant_type=x"),
        ("code=abc&state=xyz", f"code={REDACTED}&state=xyz"),
        ("refresh_token=tdr_qwertyuiop", f"refresh_token={REDACTED}"),
        ("password=pw&email=a%40b.c", f"password={REDACTED}&email=a%40b.c"),
        ("ACCESS_TOKEN=x", f"ACCESS_TOKEN={REDACTED}"),
        ("access%5Ftoken=x", f"access%5Ftoken={REDACTED}"),  # the name percent-encoded
        ("q=tdo_0123456789abcdef", f"q={REDACTED}"),  # a token under any name
        ("q=td%5F0123456789abcdef", f"q={REDACTED}"),  # percent-encoded prefix
        ("td_0123456789abcdef", REDACTED),  # no name at all
        ("page=2&cursor=abc", "page=2&cursor=abc"),
    ],
)
def test_query_redaction(query: str, expected: str) -> None:
    for _ in range(3):  # clean queries are remembered: asked again, the answer is the same
        assert redact_query(query) == expected


def test_a_token_in_a_path_is_redacted() -> None:
    assert redact_path("/feeds/td_0123456789abcdefXYZ.ics") == f"/feeds/{REDACTED}.ics"
    assert redact_path("/api/v1/activities/42") == "/api/v1/activities/42"
