"""Recordings written as FIT read back the same; the fast CRC equals the reference one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainerday_server.activities.files.detect import decode_activity
from trainerday_server.activities.files.fit import decode_fit
from trainerday_server.activities.files.fitcrc import fit_crc
from trainerday_server.activities.files.fitencode import encode_fit
from trainerday_server.activities.synthetic import synthetic_ride
from trainerday_server.fitfile import crc16

# The FIT profile's resolution per channel (what a round trip may lose).
RESOLUTION = {"latitude": 1e-7, "longitude": 1e-7, "altitude": 0.1, "distance": 0.005, "speed": 0.0005}


def test_a_synthetic_ride_round_trips_through_fit() -> None:
    ride = synthetic_ride(hours=1.0, seed=3, pauses=2)
    decoded = decode_fit(encode_fit(ride))
    assert decoded.start_time == ride.start_time
    np.testing.assert_array_equal(decoded.time, ride.time)
    assert decoded.pauses == ride.pauses
    assert (decoded.sport, decoded.sub_sport) == ("cycling", "road")
    assert sorted(decoded.channels) == sorted(ride.channels)
    for channel, values in ride.channels.items():
        np.testing.assert_allclose(decoded.channels[channel], values, atol=RESOLUTION.get(channel, 0))
    paused = sum(end - start for start, end in ride.pauses)
    assert decoded.summary is not None and decoded.summary.timer_seconds == ride.time[-1] - paused
    assert decoded.warnings == []


@pytest.mark.parametrize("name", ["tcx/2020-02-05_17-25-14_Training-with-Notes.tcx", "gpx/6909869014.gpx"])
def test_tcx_and_gpx_rides_round_trip_through_fit(samples: Path, name: str) -> None:
    recording = decode_activity((samples / name).read_bytes())
    decoded = decode_fit(encode_fit(recording))
    np.testing.assert_allclose(decoded.time, recording.time, atol=0.5)  # FIT keeps whole seconds
    for channel, values in recording.channels.items():
        np.testing.assert_allclose(decoded.channels[channel], values, atol=RESOLUTION.get(channel, 0.5))


def test_the_10_hour_ride_is_1_hz_with_every_channel() -> None:
    ride = synthetic_ride()
    assert ride.sample_count == 36_000
    assert set(np.diff(ride.time)) - {1.0} == {end - start + 1 for start, end in ride.pauses}
    assert all(ride.has(channel) for channel in ride.channels) and len(ride.channels) == 9


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=5000))
def test_fast_crc_equals_the_reference(data: bytes) -> None:
    assert fit_crc(data) == crc16(data)
