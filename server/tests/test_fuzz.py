"""Schemathesis against the app's own OpenAPI document, sending to a real server process over HTTP with a
valid all-scopes key: for generated valid and invalid requests to every operation, no 5xx, and every response
matches its documented status, media type and schema.

The fast run (a few examples per operation) is part of ``make test``; the slow one (``make test-slow``) runs
many more. Both count the requests they send, printed at the end of the run (see ``-s``).
"""

from __future__ import annotations

import collections
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import TEST_SECRET, Caller, Database, Factory, LiveServer, _empty_all_tables
from trainerday_server.app import create_app
from trainerday_server.config import Settings

CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance)
SENT: collections.Counter[str] = collections.Counter()

_DOCUMENT = create_app(
    Settings(data_dir=Path(tempfile.gettempdir()) / "trainerday-fuzz-schema", secret_key=TEST_SECRET)
).openapi()
# Fast: generated requests only (a few per operation). Slow: also schemathesis's coverage phase, which sends
# the boundary and invalid values of every parameter and body field.
fast_schema = schemathesis.openapi.from_dict(
    _DOCUMENT,
    config=SchemathesisConfig.from_dict(
        {"phases": {"coverage": {"enabled": False}, "examples": {"enabled": False}}}
    ),
)
schema = schemathesis.openapi.from_dict(_DOCUMENT)


@pytest.fixture(scope="module")
def caller(database: Database) -> Iterator[Caller]:
    """One athlete with an all-scopes key for the whole module (a password hash per operation would cost
    more than the requests); what the fuzzing created is emptied at the end."""
    factory = Factory(database, TEST_SECRET.encode())
    athlete = factory.athlete(name="Fuzz Rider", ftp=220)
    yield Caller(athlete, factory.key(athlete.id))
    _empty_all_tables(database)


def _run(case, live_server: LiveServer, me: Caller, kind: str) -> None:
    response = case.call(base_url=live_server.base_url, headers=me.headers, timeout=60)
    SENT[kind] += 1
    case.validate_response(response, checks=CHECKS)
    if 400 <= response.status_code < 500:  # the API's own promises, beyond the document
        assert response.headers["content-type"] == ["application/problem+json"], response.text[:300]
        if response.status_code == 400:
            assert isinstance(response.json().get("errors"), list), response.text[:300]


@fast_schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_operation_holds_for_generated_requests(case, live_server: LiveServer, caller: Caller):
    _run(case, live_server, caller, "fast")


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_every_operation_holds_for_many_generated_requests(case, live_server: LiveServer, caller: Caller):
    _run(case, live_server, caller, "slow")


def teardown_module() -> None:
    for kind, count in sorted(SENT.items()):
        print(f"\nschemathesis ({kind}): {count} requests sent")
