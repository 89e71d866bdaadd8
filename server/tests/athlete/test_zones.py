"""Coggan zones: the boundaries as published, in watts and bpm, and classification agreeing with them."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trainerday_server.athlete.zones import heart_rate_zone_of, heart_rate_zones, power_zone_of, power_zones


def test_power_zones_at_ftp_200():
    zones = [(z.number, z.low, z.high) for z in power_zones(200)]
    assert zones == [
        (1, 0, 110),
        (2, 111, 150),
        (3, 151, 180),
        (4, 181, 210),
        (5, 211, 240),
        (6, 241, 300),
        (7, 301, None),
    ]


def test_power_zones_at_ftp_250_round_down_at_the_boundaries():
    # 55% of 250 is 137.5 W: 137 W is still zone 1, 138 W is zone 2.
    zones = [(z.low, z.high) for z in power_zones(250)]
    assert zones[:2] == [(0, 137), (138, 187)]
    assert power_zone_of(137, 250) == 1
    assert power_zone_of(138, 250) == 2


def test_zone_names():
    assert [z.name for z in power_zones(250)] == [
        "Active Recovery",
        "Endurance",
        "Tempo",
        "Lactate Threshold",
        "VO2max",
        "Anaerobic Capacity",
        "Neuromuscular Power",
    ]


def test_heart_rate_zones_at_lthr_170():
    zones = [(z.number, z.low, z.high) for z in heart_rate_zones(170)]
    assert zones == [(1, 0, 115), (2, 116, 141), (3, 142, 159), (4, 160, 178), (5, 179, None)]
    assert heart_rate_zone_of(178, 170) == 4
    assert heart_rate_zone_of(179, 170) == 5


@pytest.mark.parametrize(
    ("pct", "zone"), [(0, 1), (55, 1), (56, 2), (75, 2), (90, 3), (105, 4), (120, 5), (150, 6), (151, 7)]
)
def test_power_zone_of_percentages(pct, zone):
    assert power_zone_of(pct, 100) == zone


@given(ftp=st.integers(1, 2000), watts=st.integers(0, 5000))
def test_whole_watts_classify_into_the_zone_whose_range_holds_them(ftp, watts):
    zones = power_zones(ftp)
    zone = zones[power_zone_of(watts, ftp) - 1]
    assert zone.low <= watts and (zone.high is None or watts <= zone.high)


@given(ftp=st.integers(1, 2000))
def test_power_zones_tile_the_watt_range(ftp):
    zones = power_zones(ftp)
    assert zones[0].low == 0 and zones[-1].high is None
    for lower, upper in itertools.pairwise(zones):
        assert lower.high is not None and upper.low == lower.high + 1
