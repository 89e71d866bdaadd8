"""Issue 9, bug 10: absurdly small segments cannot make planned metrics, and ratios against them, absurd."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import Caller
from trainerday_server.activities.compliance import compliance

W = "/api/v1/workouts"


@pytest.mark.parametrize(
    ("segments", "field"),
    [
        ([[1e-7, 50, 50]], "segments[0][0]"),
        ([[1e-300, 50, 50]], "segments[0][0]"),
        ([[0.5 / 60, 50, 50]], "segments[0][0]"),  # half a second
        ([[10, 1e-300, 50]], "segments[0][1]"),
        ([[10, 50, 1e-7]], "segments[0][2]"),
    ],
)
def test_segments_below_a_second_or_one_percent_are_refused(client, me: Caller, segments, field):
    response = client.post(W, headers=me.headers, json={"title": "Tiny", "segments": segments})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == field


def test_a_second_and_one_percent_are_the_smallest_accepted(client, me: Caller):
    response = client.post(W, headers=me.headers, json={"title": "Short", "segments": [[1 / 60, 1, 0]]})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(("planned_seconds", "planned_tss"), [(1e-5, 1e-18), (0.0, 0.0), (3600, 1e-300)])
def test_no_ratio_against_an_empty_plan(planned_seconds, planned_tss):
    result = compliance(planned_seconds, planned_tss, 3600, 250.0)
    assert result["tssRatio"] is None and result["tssPercent"] is None
    if planned_seconds < 1:
        assert result["percent"] is None and result["status"] is None
    orjson.dumps(result)  # before: a ratio above 2**63 that orjson refused, every calendar read a 500
