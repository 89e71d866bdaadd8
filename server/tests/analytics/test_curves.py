"""The compact per-ride curve and the season best over many rides."""

from __future__ import annotations

import numpy as np

from trainerday_server.activities.metrics import power_curve
from trainerday_server.analytics.curves import (
    SEASON_DURATIONS,
    decode_curves,
    encode_curve,
    season_best,
    watts_at,
)
from trainerday_server.analytics.ftp import ftp_suggestions


def test_the_ladder_is_the_activity_curves_up_to_five_hours():
    assert SEASON_DURATIONS[:3] == (1, 2, 3)
    assert SEASON_DURATIONS[59:62] == (60, 70, 80)
    assert 1200 in SEASON_DURATIONS and 3600 in SEASON_DURATIONS
    assert SEASON_DURATIONS[-3:] == (14400, 16200, 18000)
    # Every point of a 6-hour ride's own curve up to 5 h is on the ladder, and nothing else is.
    own = power_curve(np.full(6 * 3600, 200.0)).seconds
    assert tuple(s for s in own if s <= 18000) == SEASON_DURATIONS


def test_encoding_keeps_a_tenth_of_a_watt_and_the_ride_length():
    curve = {"seconds": [1, 2, 3, 5, 7], "watts": [812.3, 700.05, 655.0, 0.0, 201.4]}
    # 5 and 7: 5 is on the ladder; 7 is too (every second to a minute); 4 and 6 are absent from the ride.
    row = decode_curves([encode_curve(curve)])[0]
    assert row[0] == 8123 and row[1] in (7000, 7001)  # 700.05 W: float rounding either way
    assert row[2] == 6550 and row[3] == -1 and row[4] == 0 and row[5] == -1 and row[6] == 2014
    assert (row[7:] == -1).all()
    assert (decode_curves([encode_curve(None)]) == -1).all()


def test_season_best_takes_each_duration_from_its_best_ride_earliest_on_a_tie():
    rides = [
        {"seconds": [1, 2, 3], "watts": [500.0, 400.0, 300.0]},  # a 3-second ride
        {"seconds": [1, 2, 3, 4], "watts": [450.0, 420.0, 300.0, 290.0]},
        {"seconds": [1, 2], "watts": [500.0, 100.0]},
    ]
    best = season_best(decode_curves([encode_curve(r) for r in rides]))
    assert best == [(1, 0, 500.0), (2, 1, 420.0), (3, 0, 300.0), (4, 1, 290.0)]
    assert season_best(decode_curves([])) == []


def test_watts_at_and_ftp_suggestions():
    curve = {"seconds": [1, 1200, 1300], "watts": [900.0, 263.2, 250.0]}
    assert watts_at(curve, 1200) == 263.2
    assert watts_at(curve, 60) is None and watts_at(None, 1200) is None
    # 95 % of 263.2 W is 250.04: FTP 250 is not above 250, 249 is.
    assert ftp_suggestions(curve, 250) == []
    [suggestion] = ftp_suggestions(curve, 240)
    assert suggestion["type"] == "ftp" and suggestion["ftp"] == 250 and suggestion["currentFtp"] == 240
    assert ftp_suggestions({"seconds": [1, 600], "watts": [900.0, 400.0]}, 100) == []
