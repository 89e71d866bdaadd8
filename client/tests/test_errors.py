"""Each error answer becomes its typed exception, carrying what the problem body says."""

from __future__ import annotations

import httpx
import pytest
from mock_api import Script, problem

import trainerday as td


def client_for(*answers: httpx.Response) -> td.Client:
    return td.Client(
        api_key="td_test", base_url="http://api.test", transport=Script(list(answers)).transport()
    )


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, td.ValidationError),
        (401, td.AuthenticationError),
        (403, td.PermissionDeniedError),
        (404, td.NotFoundError),
        (409, td.ConflictError),
        (413, td.ValidationError),
        (415, td.ValidationError),
        (422, td.ValidationError),
        (500, td.ServerError),
        (502, td.ServerError),
        (418, td.APIStatusError),
    ],
)
def test_status_maps_to_its_exception(status, error):
    with pytest.raises(error) as caught:
        client_for(problem(status, detail="what went wrong")).athlete.get()
    assert type(caught.value) is error
    assert caught.value.status_code == status
    assert "what went wrong" in str(caught.value)
    assert isinstance(caught.value, td.TrainerDayError)


def test_validation_error_carries_each_field():
    errors = [
        {"field": "embedWorkout.segments[1][2]", "message": "endPercent must be a number from 0 to 1000"},
        {"field": "calendarDate", "message": "must be a date as YYYY-MM-DD"},
    ]
    with pytest.raises(td.ValidationError) as caught:
        client_for(problem(400, errors=errors)).calendar.create_event("2026-01-01", notes="x")
    assert caught.value.errors == [
        td.FieldError("embedWorkout.segments[1][2]", "endPercent must be a number from 0 to 1000"),
        td.FieldError("calendarDate", "must be a date as YYYY-MM-DD"),
    ]


def test_conflict_carries_the_existing_id():
    with pytest.raises(td.ConflictError) as caught:
        client_for(problem(409, existingActivityId=41)).activities.upload(b"ride", file_name="a.fit")
    assert caught.value.existing_id == 41
    with pytest.raises(td.ConflictError) as caught:
        client_for(problem(409, detail="Idempotency-Key reused")).workouts.create("x", [[1, 50, 50]])
    assert caught.value.existing_id is None


def test_permission_denied_names_the_missing_scope():
    challenge = 'Bearer realm="trainerday", error="insufficient_scope", scope="calendar:write"'
    answer = problem(403, headers={"WWW-Authenticate": challenge})
    with pytest.raises(td.PermissionDeniedError) as caught:
        client_for(answer).calendar.add_note("2026-01-01", "x")
    assert caught.value.required_scope == "calendar:write"


def test_an_error_without_a_json_body_still_maps():
    with pytest.raises(td.ServerError) as caught:
        client_for(httpx.Response(502, text="<html>bad gateway</html>")).athlete.get()
    assert caught.value.problem == {} and "502" in str(caught.value)


def test_no_credentials_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TRAINERDAY_API_KEY", raising=False)
    with pytest.raises(td.TrainerDayError, match="TRAINERDAY_API_KEY"):
        td.Client()


def test_environment_supplies_key_and_base_url(monkeypatch):
    monkeypatch.setenv("TRAINERDAY_API_KEY", "td_from_env")
    monkeypatch.setenv("TRAINERDAY_BASE_URL", "http://env.test/")
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return problem(404)

    client = td.Client(transport=httpx.MockTransport(answer))
    with pytest.raises(td.NotFoundError):
        client.workouts.get(5)
    assert str(seen[0].url) == "http://env.test/api/v1/workouts/5"
    assert seen[0].headers["Authorization"] == "Bearer td_from_env"


def test_default_base_url(monkeypatch):
    monkeypatch.delenv("TRAINERDAY_BASE_URL", raising=False)
    assert td.Client(api_key="td_x").base_url == "https://api.trainerday.com"


def test_bad_arguments_fail_before_anything_is_sent():
    client = client_for()  # any request would fail the test: no answers scripted
    with pytest.raises(ValueError):
        client.calendar.list("2026-1-5", "2026-01-31")
    with pytest.raises(TypeError):
        client.calendar.list(__import__("datetime").datetime(2026, 1, 1), "2026-01-31")
    with pytest.raises(ValueError, match="unknown stream"):
        client.activities.streams(1, ["watts"])
    with pytest.raises(ValueError):
        client.athlete.summary("2026-01-01", "2026-02-01", period="year")  # type: ignore[arg-type]
    with pytest.raises(td.TrainerDayError, match="empty"):
        client.activities.upload(b"", file_name="empty.fit")


def test_an_answer_that_is_not_the_apis_is_a_trainerday_error():
    page = httpx.Response(200, text="<html>Welcome to nginx</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(td.TrainerDayError, match="not what the TrainerDay API sends"):
        client_for(page).athlete.get()
    wrong_shape = httpx.Response(200, json={"data": "nope"})
    with pytest.raises(td.TrainerDayError, match=r"is http://api\.test a TrainerDay server"):
        client_for(wrong_shape).calendar.list("2026-01-01", "2026-01-02")


@pytest.mark.parametrize("url", ["127.0.0.1:8000", "ftp://x", "   "])
def test_a_base_url_without_http_is_refused(url):
    with pytest.raises(td.TrainerDayError, match="base URL"):
        td.Client(api_key="td_x", base_url=url)
