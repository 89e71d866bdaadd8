"""The streams blob: round trips, partial reads, hostile blobs, and the API's JSON shape."""

from __future__ import annotations

import json
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from trainerday_server.activities.recording import CHANNELS
from trainerday_server.activities.streams import (
    SCALES,
    decode_streams,
    encode_streams,
    streams_to_json,
)
from trainerday_server.errors import ValidationFailed

from .device_session import load_fit

# Plausible ranges per channel, plus the occasional absurd value a damaged file may hold.
RANGES = {
    "power": (0, 3000),
    "heartRate": (0, 255),
    "cadence": (0, 255),
    "speed": (0, 60),
    "distance": (0, 1e7),
    "altitude": (-500, 9000),
    "latitude": (-90, 90),
    "longitude": (-180, 180),
    "temperature": (-40, 60),
}


@st.composite
def streams(draw):
    n = draw(st.integers(0, 400))
    steps_ms = draw(
        st.lists(st.sampled_from([0, 1, 250, 1000, 1000, 1000, 5000, 3_600_000]), min_size=n, max_size=n)
    )
    time = np.cumsum(np.array(steps_ms, dtype=np.int64)) / 1000
    names = draw(st.lists(st.sampled_from(CHANNELS), unique=True))
    channels = {}
    for name in names:
        low, high = RANGES[name]
        values = st.one_of(st.floats(low, high), st.just(np.nan), st.floats(-1e300, 1e300), st.just(np.inf))
        channels[name] = draw(arrays(np.float64, n, elements=values))
    return time, channels


def quantised(name: str, values: np.ndarray) -> np.ndarray:
    """What the format promises to give back: the value on its channel's grid, or NaN."""
    scale = SCALES[name]
    with np.errstate(invalid="ignore", over="ignore"):
        q = np.rint(values * scale)
    return np.where(np.abs(q) < 2.0**61, q / scale, np.nan)


@settings(max_examples=300, deadline=None)
@given(streams())
def test_round_trip(data):
    time, channels = data
    decoded = decode_streams(encode_streams(time, channels))
    assert set(decoded) == {"time", *channels}
    np.testing.assert_array_equal(decoded["time"], time)
    for name, values in channels.items():
        np.testing.assert_array_equal(decoded[name], quantised(name, values))


@given(streams(), st.lists(st.sampled_from(CHANNELS), unique=True))
def test_only_the_requested_types_come_back(data, types):
    time, channels = data
    decoded = decode_streams(encode_streams(time, channels), types)
    assert set(decoded) == {"time", *(set(types) & set(channels))}


def test_whole_values_round_trip_exactly():
    time = np.arange(5.0)
    channels = {"power": np.array([0, 250, 1999, np.nan, 65535]), "latitude": np.array([47.1234567] * 5)}
    decoded = decode_streams(encode_streams(time, channels))
    np.testing.assert_array_equal(decoded["power"], channels["power"])
    assert decoded["latitude"].tolist() == [47.1234567] * 5  # the nearest double, not 47.123456700000004


def test_types_as_the_query_parameter_string():
    blob = encode_streams(np.arange(3.0), {"power": np.ones(3), "speed": np.ones(3), "cadence": np.ones(3)})
    assert set(decode_streams(blob, "power, speed,")) == {"time", "power", "speed"}


def test_unknown_stream_type_is_a_validation_error():
    blob = encode_streams(np.arange(3.0), {"power": np.ones(3)})
    with pytest.raises(ValidationFailed) as caught:
        decode_streams(blob, ["power", "watts"])
    assert caught.value.errors[0].field == "types"
    assert "unknown stream type 'watts'" in caught.value.errors[0].message


@pytest.mark.parametrize(
    ("time", "channels", "message"),
    [
        (np.array([0.0, 2.0, 1.0]), {}, "non-decreasing"),
        (np.array([0.0, np.nan]), {}, "finite"),
        (np.arange(3.0), {"watts": np.ones(3)}, "unknown channel 'watts'"),
        (np.arange(3.0), {"power": np.ones(4)}, "shape"),
    ],
)
def test_bad_streams_are_refused(time, channels, message):
    with pytest.raises(ValueError, match=message):
        encode_streams(time, channels)


def small_blob() -> bytes:
    time = np.arange(20.0)
    return encode_streams(time, {"power": np.where(time % 3 == 0, np.nan, 200 + time), "speed": time / 3})


def test_every_truncation_is_a_clear_error():
    blob = small_blob()
    for end in range(len(blob)):
        with pytest.raises(ValueError, match=r"streams blob|column|byte"):
            decode_streams(blob[:end])


def test_every_flipped_byte_is_an_error_or_a_blob():
    blob = small_blob()
    for i in range(len(blob)):
        for bit in (0x01, 0x80):
            damaged = bytearray(blob)
            damaged[i] ^= bit
            try:
                decoded = decode_streams(bytes(damaged))
            except ValueError:
                continue
            assert all(v.shape == (20,) for v in decoded.values())


def test_trailing_bytes_and_other_versions_are_refused():
    blob = small_blob()
    with pytest.raises(ValueError, match="3 unexpected bytes"):
        decode_streams(blob + b"abc")
    with pytest.raises(ValueError, match="version 2 is not supported"):
        decode_streams(blob[:4] + b"\x02" + blob[5:])
    with pytest.raises(ValueError, match="not a streams blob"):
        decode_streams(b"PK\x03\x04" + blob[4:])


def test_a_decompression_bomb_is_not_inflated():
    bomb = zlib.compress(bytes(50_000_000), 9)  # 50 MB of zeros in about 50 kB
    blob = (
        struct.pack("<4sBBI", b"TDST", 1, 1, 10)
        + bytes([4])
        + b"time"
        + struct.pack("<BdII", 8, 1000.0, 10, len(bomb))
        + bomb
    )
    tracemalloc.start()
    with pytest.raises(ValueError, match="expected 80 bytes once inflated, got 81 or more"):
        decode_streams(blob)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1_000_000


def test_streams_to_json_aligns_on_time_with_nulls():
    time = np.array([0.0, 1.0, 2.0, 3.0])
    channels = {"power": np.array([200, np.nan, 210, 220]), "speed": np.array([8.123, 8.2, np.nan, 8.0])}
    payload = streams_to_json(decode_streams(encode_streams(time, channels)))
    assert payload == {"time": [0, 1, 2, 3], "power": [200, None, 210, 220], "speed": [8.123, 8.2, None, 8.0]}
    assert all(type(v) is int for v in payload["power"] if v is not None)
    json.dumps(payload, allow_nan=False)


def test_fractional_times_stay_fractional():
    payload = streams_to_json(decode_streams(encode_streams(np.array([0.0, 0.999, 2.5]), {})))
    assert payload == {"time": [0.0, 0.999, 2.5]}


def test_a_real_long_ride_round_trips_compactly(samples):
    recording = load_fit(samples / "fit" / "2019-02-17-062644-ELEMNT-297E-195-0.fit").recording
    blob = encode_streams(recording.time, recording.channels)
    raw_size = 8 * recording.time.size * (1 + len(recording.channels))
    assert len(blob) < 0.12 * raw_size  # about 95 kB for 13,471 samples of 10 columns (1.08 MB as float64)
    decoded = decode_streams(blob)
    for name, values in recording.channels.items():
        np.testing.assert_allclose(decoded[name], values, rtol=0, atol=0.5 / SCALES[name], equal_nan=True)
