"""Planned vs done compliance, hand-computed."""

from __future__ import annotations

import math

import pytest

from trainerday_server.activities.compliance import compliance
from trainerday_server.errors import ValidationFailed


@pytest.mark.parametrize(
    ("planned", "actual", "expected"),
    [
        # ((planned s, planned TSS), (actual s, actual TSS)), (duration %, TSS %, overall %, status)
        ((3600, 100), (3600, 100), (100, 100, 100, "green")),
        ((3600, 100), (2700, 70), (75, 70, 70, "yellow")),  # TSS decides when both sides have it
        ((3600, 100), (4500, 121), (125, 121, 121, "yellow")),
        ((3600, 100), (4500, 160), (125, 160, 160, "orange")),
        ((3600, None), (1500, 40), (42, None, 42, "orange")),  # no planned TSS: duration decides
        ((3600, 80), (3600, None), (100, None, 100, "green")),  # no power, no actual TSS
        ((3600, 100), (2862, 79.5), (80, 80, 80, "green")),  # 79.5 % rounds half up, to 80 %: green
        ((3600, 100), (1782, 49.4), (50, 49, 49, "orange")),
        ((0, 0), (1800, 40), (None, None, None, None)),  # nothing was planned to compare with
        ((None, None), (1800, 40), (None, None, None, None)),
    ],
)
def test_compliance(planned, actual, expected):
    result = compliance(*planned, *actual)
    assert (result["durationPercent"], result["tssPercent"], result["percent"], result["status"]) == expected


def test_ratios_are_exact_to_three_places():
    result = compliance(3600, 90, 2400, 60)
    assert (result["durationRatio"], result["tssRatio"]) == (0.667, 0.667)


@pytest.mark.parametrize("bad", [-1, math.nan, math.inf])
def test_bad_numbers_are_validation_errors(bad):
    with pytest.raises(ValidationFailed) as caught:
        compliance(3600, 100, bad, 50)
    assert caught.value.errors[0].field == "actualSeconds"
