"""The same ride recorded as FIT and exported as TCX or GPX decodes to the same samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trainerday_server.activities.files.detect import decode_activity

# FIT original, export, and the largest difference allowed per channel (the exports round their numbers).
PAIRS = [
    ("fit/2020-06-01-16-52-40.fit", "tcx/activity_5039744860.tcx", {"latitude": 0, "distance": 1e-4}),
    ("fit/2020-06-01-16-52-40.fit", "gpx/activity_5039744860.gpx", {"latitude": 0}),
    ("fit/4078723797.fit", "gpx/4078723797_strava.gpx", {"latitude": 5e-7, "longitude": 5e-7}),
]


@pytest.mark.parametrize(("original", "export", "tolerance"), PAIRS)
def test_export_matches_the_original(samples: Path, original: str, export: str, tolerance: dict) -> None:
    fit = decode_activity((samples / original).read_bytes())
    other = decode_activity((samples / export).read_bytes())

    assert other.start_time == fit.start_time
    assert other.sample_count == fit.sample_count
    np.testing.assert_array_equal(other.time, fit.time)  # so the same duration, second by second
    np.testing.assert_array_equal(other.channels["heartRate"], fit.channels["heartRate"])
    shared = set(fit.channels) & set(other.channels)
    assert {"heartRate", "cadence", "altitude", "latitude", "longitude"} <= shared
    for channel in shared:
        np.testing.assert_allclose(
            other.channels[channel], fit.channels[channel], rtol=0, atol=tolerance.get(channel, 1e-6),
            err_msg=channel,
        )  # fmt: skip
