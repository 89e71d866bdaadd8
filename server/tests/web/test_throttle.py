"""Log-in throttling counts an account's failures per address: a stranger cannot lock the owner out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.conftest import PASSWORD
from tests.web.test_login import attempt
from trainerday_server.models import Athlete
from trainerday_server.web import throttle


@pytest.fixture
def athlete(factory) -> Athlete:
    return factory.athlete()


def browser_at(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, base_url="https://testserver", follow_redirects=False, client=(address, 40000))


@pytest.fixture
def owner(app: FastAPI) -> Iterator[TestClient]:
    with browser_at(app, "198.51.100.7") as browser:
        yield browser


def test_a_stranger_elsewhere_cannot_lock_the_owner_out(app: FastAPI, owner: TestClient, athlete: Athlete):
    with browser_at(app, "203.0.113.66") as stranger:
        for _ in range(throttle.MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS):
            assert attempt(stranger, athlete.email, "guess").status_code == 401
        # The stranger is stopped, even with the right password ...
        assert attempt(stranger, athlete.email, PASSWORD).status_code == 429
    # ... and the owner, from their own address, is not.
    assert attempt(owner, athlete.email, PASSWORD).status_code == 303


def test_guesses_from_many_addresses_are_bounded_by_the_accounts_total(
    app: FastAPI, owner: TestClient, athlete: Athlete
):
    per_address = throttle.MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS
    addresses = -(-throttle.MAX_FAILURES_PER_ACCOUNT_TOTAL // per_address)  # ceil
    assert addresses > 1  # one address alone can never reach the total
    checked = 0
    for i in range(addresses + 1):
        with browser_at(app, f"192.0.2.{i + 1}") as guesser:
            for _ in range(per_address):
                checked += attempt(guesser, athlete.email, "guess").status_code == 401
    assert checked == throttle.MAX_FAILURES_PER_ACCOUNT_TOTAL
    assert attempt(owner, athlete.email, PASSWORD).status_code == 429


def test_the_owners_own_failures_still_lock_their_address(owner: TestClient, athlete: Athlete):
    for _ in range(throttle.MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS):
        attempt(owner, athlete.email, "guess")
    assert attempt(owner, athlete.email, PASSWORD).status_code == 429
