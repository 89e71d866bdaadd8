"""/streams is written a chunk at a time: the same JSON as before, without ever holding the whole body."""

from __future__ import annotations

import tracemalloc

import numpy as np
import orjson
import pytest

from trainerday_server.activities.streams import (
    STREAM_CHUNK_SAMPLES,
    decode_streams,
    encode_streams,
    iter_streams_json,
    streams_to_json,
)
from trainerday_server.errors import ValidationFailed


def long_ride(samples: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A made-up ride: 1 Hz, power with dropouts, heart rate, speed in m/s with decimals."""
    rng = np.random.default_rng(7)
    time = np.arange(samples, dtype=np.float64)
    power = rng.integers(0, 600, samples).astype(np.float64)
    power[rng.random(samples) < 0.01] = np.nan
    heart = 100 + (time % 80)
    speed = np.round(rng.random(samples) * 15, 3)
    return time, {"power": power, "heartRate": heart, "speed": speed}


def expected_json(time: np.ndarray, channels: dict[str, np.ndarray]) -> dict[str, list]:
    """Written here from the arrays, not by the code under test: null for NaN, integers when whole."""

    def column(values: np.ndarray) -> list:
        whole = all(float(v).is_integer() for v in values if not np.isnan(v))
        return [None if np.isnan(v) else (int(v) if whole else float(v)) for v in values]

    return {"time": column(time), **{name: column(values) for name, values in channels.items()}}


def test_chunks_join_into_exactly_the_streams_of_the_ride():
    time, channels = long_ride(STREAM_CHUNK_SAMPLES * 3 + 17)
    blob = encode_streams(time, channels)
    streamed = b"".join(iter_streams_json(blob))
    assert orjson.loads(streamed) == expected_json(time, channels)
    assert streamed == orjson.dumps(streams_to_json(decode_streams(blob)))  # byte for byte as before


def test_chosen_types_and_unrecorded_ones():
    time, channels = long_ride(1000)
    blob = encode_streams(time, channels)
    body = orjson.loads(b"".join(iter_streams_json(blob, "speed, cadence,power,cadence")))
    assert list(body) == ["time", "power", "speed", "cadence"]
    assert body["cadence"] is None and body["speed"] == expected_json(time, channels)["speed"]


def test_an_unknown_type_is_refused_before_the_first_chunk():
    blob = encode_streams(*long_ride(10))
    with pytest.raises(ValidationFailed):
        next(iter_streams_json(blob, "power,watts"))


def traced_peak(work) -> tuple[int, int]:
    tracemalloc.start()
    try:
        size = work()
        return size, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_reader_never_holds_the_whole_body():
    """A 40-hour ride: the memory traced while its streams are written is a fraction of what building the
    body whole took (measured side by side): a column of floats at a time, not every column as Python
    objects plus the whole text. (Measured here for 160 hours, 4 streams: 22 MB against 194 MB.)"""
    time, channels = long_ride(40 * 3600)
    blob = encode_streams(time, channels)
    size, streamed_peak = traced_peak(lambda: sum(len(chunk) for chunk in iter_streams_json(blob)))
    whole_size, whole_peak = traced_peak(lambda: len(orjson.dumps(streams_to_json(decode_streams(blob)))))
    assert size == whole_size > 2_000_000
    assert streamed_peak * 4 < whole_peak, (streamed_peak, whole_peak)


def test_streams_over_http_are_the_rides_samples(client, me, samples):
    from trainerday_server.activities.files import decode_upload

    data = (samples / "fit" / "2020-06-01-16-52-40.fit").read_bytes()
    created = client.post(
        "/api/v1/activities/upload", files={"file": ("ride.fit", data)}, headers=me.headers
    ).json()
    response = client.get(f"/api/v1/activities/{created['id']}/streams", headers=me.headers)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    recording = decode_upload(data, 50 * 1024 * 1024).recording
    body = response.json()
    assert len(body["time"]) == recording.time.size
    assert body["time"] == [int(t) if float(t).is_integer() else t for t in recording.time.tolist()]
    missing = client.get(f"/api/v1/activities/{created['id'] + 1000}/streams", headers=me.headers)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    unknown = client.get(f"/api/v1/activities/{created['id']}/streams?types=watts", headers=me.headers)
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "types"
