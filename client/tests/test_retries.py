"""Retries: connection errors, 429 and 503 are tried again with growing, jittered waits, honouring
Retry-After; a create keeps one Idempotency-Key across its retries; requests that could do something twice
are not repeated after they may have reached the server."""

from __future__ import annotations

import datetime as dt
import email.utils
import random

import httpx
import pytest
from mock_api import ATHLETE, WORKOUT, Script, ok, problem

from trainerday import APIConnectionError, Client, RateLimitError, ServerError
from trainerday._retry import RetryPolicy, parse_retry_after


def client_for(script: Script, **options) -> tuple[Client, list[float]]:
    client = Client(api_key="td_test", base_url="http://api.test", transport=script.transport(), **options)
    slept: list[float] = []
    client._sleep = slept.append  # record the waits instead of waiting
    return client, slept


def test_503_then_success_is_retried():
    script = Script([problem(503), problem(503), ok(ATHLETE)])
    client, slept = client_for(script)
    assert client.athlete.get().name == "Ada"
    assert len(script.requests) == 3 and len(slept) == 2


def test_retry_after_in_seconds_is_honoured():
    script = Script([problem(429, headers={"Retry-After": "7"}), ok(ATHLETE)])
    client, slept = client_for(script)
    client.athlete.get()
    assert slept == [7.0]


def test_retry_after_as_an_http_date_is_honoured():
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20)
    script = Script([problem(503, headers={"Retry-After": email.utils.format_datetime(when)}), ok(ATHLETE)])
    client, slept = client_for(script)
    client.athlete.get()
    assert 17 <= slept[0] <= 20


def test_a_retry_after_longer_than_we_would_wait_is_raised_at_once():
    script = Script([problem(429, headers={"Retry-After": "86400"})])
    client, slept = client_for(script)
    with pytest.raises(RateLimitError) as caught:
        client.athlete.get()
    assert slept == [] and caught.value.retry_after == 86400.0
    script = Script([problem(429, headers={"Retry-After": str(int(RetryPolicy().max_delay))}), ok(ATHLETE)])
    client, slept = client_for(script)
    client.athlete.get()
    assert slept == [RetryPolicy().max_delay]


def test_gives_up_after_max_retries_with_the_typed_error():
    script = Script([problem(429, headers={"Retry-After": "1"}) for _ in range(3)])
    client, slept = client_for(script, max_retries=2)
    with pytest.raises(RateLimitError) as caught:
        client.athlete.get()
    assert caught.value.retry_after == 1.0 and len(script.requests) == 3 and slept == [1.0, 1.0]
    script = Script([problem(503) for _ in range(4)])
    client, _ = client_for(script)
    with pytest.raises(ServerError):
        client.athlete.get()
    assert len(script.requests) == 4


def test_500_is_not_retried():
    script = Script([problem(500)])
    client, slept = client_for(script)
    with pytest.raises(ServerError):
        client.athlete.get()
    assert slept == []


def test_connection_errors_are_retried_then_reported():
    script = Script([httpx.ConnectError("refused"), ok(ATHLETE)])
    client, slept = client_for(script)
    assert client.athlete.get().id == 7 and len(slept) == 1
    script = Script([httpx.ConnectError("refused") for _ in range(4)])
    client, _ = client_for(script)
    with pytest.raises(APIConnectionError, match="refused"):
        client.athlete.get()
    assert len(script.requests) == 4


def test_a_create_keeps_its_idempotency_key_across_retries():
    script = Script([httpx.ReadTimeout("slow"), problem(503), ok(WORKOUT, 201)])
    client, _ = client_for(script)
    client.workouts.create("Easy", [[10, 50, 50]])
    keys = [r.headers.get("Idempotency-Key") for r in script.requests]
    assert len(keys) == 3 and keys[0] and len(set(keys)) == 1
    assert all(r.content == script.requests[0].content for r in script.requests)


def test_each_create_gets_its_own_key():
    script = Script([ok(WORKOUT, 201), ok(WORKOUT, 201)])
    client, _ = client_for(script)
    client.workouts.create("Easy", [[10, 50, 50]])
    client.workouts.create("Easy", [[10, 50, 50]])
    first, second = (r.headers["Idempotency-Key"] for r in script.requests)
    assert first != second


def test_an_upload_is_sent_whole_again_on_retry():
    activity_file = b"\x0e\x10" + bytes(range(256)) * 10
    answer = {"id": 1, "name": "r"}
    script = Script([httpx.RemoteProtocolError("dropped"), lambda request: ok(answer | _activity(), 201)])
    client, _ = client_for(script)
    ride = client.activities.upload(activity_file, file_name="ride.fit")
    assert ride.id == 1
    first, second = script.requests
    assert first.content == second.content and activity_file in second.content
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]


def test_a_post_without_a_key_is_not_repeated_after_it_may_have_arrived():
    policy = RetryPolicy()
    request = httpx.Request("POST", "http://api.test/oauth/token")
    assert not policy.retry_on_error(request, httpx.ReadTimeout("slow"), 0)
    assert policy.retry_on_error(request, httpx.ConnectError("refused"), 0)  # it never arrived


def test_backoff_grows_exponentially_with_full_jitter():
    policy = RetryPolicy(base_delay=0.5, max_delay=30, random=random.Random(1))
    for attempt in range(8):
        ceiling = min(30, 0.5 * 2**attempt)
        waits = [policy.delay(attempt) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8  # spread over the whole range, not a fixed step
        assert min(waits) < ceiling * 0.2


@pytest.mark.parametrize("header", ["", "soon", "-5", "Wed, 99 Foo 2026"])
def test_a_bad_retry_after_falls_back_to_backoff(header):
    assert parse_retry_after(header) is None


def test_timeouts_are_set():
    client = Client(api_key="td_x", base_url="http://api.test", timeout=4.5)
    assert client._http.timeout.read == 4.5
    assert Client(api_key="td_x", base_url="http://api.test")._http.timeout.connect == 10.0


def _activity() -> dict:
    return {
        "startTime": "2026-12-01T07:00:00Z",
        "startTimeLocal": "2026-12-01T08:00:00+01:00",
        "elapsedSeconds": 60,
        "timerSeconds": 60,
        "movingSeconds": 60,
        "ftp": 250,
        "createdAt": "2026-12-01T07:00:00.000Z",
        "updatedAt": "2026-12-01T07:00:00.000Z",
    }


def test_a_long_maintenance_503_carries_its_retry_after():
    script = Script([problem(503, headers={"Retry-After": "600"})])
    client, slept = client_for(script)
    with pytest.raises(ServerError) as caught:
        client.athlete.get()
    assert slept == [] and caught.value.retry_after == 600.0
