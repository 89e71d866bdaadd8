"""Input no route has a use for is refused as a 400 everywhere, on both databases: never a 500."""

from __future__ import annotations

import pytest

from tests.conftest import Caller

SEGMENTS = [[10, 50, 50]]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PATCH", "/api/v1/athlete", {"name": "Ri\x00der"}, "name"),
        ("POST", "/api/v1/calendar/events", {"calendarDate": "2026-01-15", "title": "a\x00"}, "title"),
        ("POST", "/api/v1/calendar/events", {"calendarDate": "2026-01-15", "notes": "\x00"}, "notes"),
        (
            "POST",
            "/api/v1/calendar/events",
            {
                "calendarDate": "2026-01-15",
                "embedWorkout": {"title": "x", "segments": [[10, 50, 50, None, None, None, "go\x00"]]},
            },
            "embedWorkout.segments",
        ),
        ("POST", "/api/v1/workouts", {"title": "x", "tags": ["ok", "b\x00d"], "segments": SEGMENTS}, "tags"),
        (
            "POST",
            "/api/v1/workouts",
            {"title": "x", "description": "\x00", "segments": SEGMENTS},
            "description",
        ),
    ],
)
def test_nul_characters_in_json_are_400_naming_the_field(client, me: Caller, method, path, body, field):
    response = client.request(method, path, headers=me.headers, json=body)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert [e for e in problem["errors"] if e["field"] == field and "NUL" in e["message"]], problem


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/workouts/find?workoutName=a%00b",
        "/api/v1/calendar?startDate=2026-01-01%00&endDate=2026-01-31",
        "/oauth/authorize?client_id=%00&response_type=code",
        "/login?next=%2F%00",
    ],
)
def test_nul_characters_in_the_query_string_are_400(client, me: Caller, url):
    response = client.get(url, headers=me.headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [{"field": "query", "message": "must not contain NUL characters"}]


HUGE = 10**400  # valid JSON, and more than a float can hold


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/workouts", {"title": "x", "segments": [[HUGE, 50, 50]]}, "segments[0][0]"),
        ("/api/v1/workouts", {"title": "x", "segments": [[10, 50, 50, HUGE, 90]]}, "segments[0][3]"),
        (
            "/api/v1/calendar/events",
            {"calendarDate": "2026-01-15", "embedWorkout": {"title": "x", "segments": [[10, -HUGE, 50]]}},
            "embedWorkout.segments[0][1]",
        ),
    ],
)
def test_huge_integers_are_400_not_500(client, me: Caller, path, body, field):
    response = client.post(path, headers=me.headers, json=body)
    assert response.status_code == 400, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
