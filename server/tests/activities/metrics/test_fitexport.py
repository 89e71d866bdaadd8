"""FIT export of a recording, read back with fitdecode (CRC checks on) and with our own decoder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import fitdecode
import numpy as np
import pytest

from trainerday_server.activities.files import decode_activity, decode_upload
from trainerday_server.activities.files.fit import decode_fit
from trainerday_server.activities.fitexport import recording_to_fit
from trainerday_server.activities.metrics import ride_metrics
from trainerday_server.activities.recording import Recording
from trainerday_server.activities.synthetic import synthetic_ride

from .synthetic import ride

# FIT's resolution per channel: what a round trip may change.
RESOLUTION = {
    "power": 0.5,
    "heartRate": 0.5,
    "cadence": 0.5,
    "speed": 0.0005,
    "distance": 0.005,
    "altitude": 0.1,
    "latitude": 180 / 2**31,
    "longitude": 180 / 2**31,
    "temperature": 0.5,
}


def messages(data: bytes) -> list[fitdecode.FitDataMessage]:
    with fitdecode.FitReader(data, check_crc=fitdecode.CrcCheck.RAISE) as reader:
        return [frame for frame in reader if isinstance(frame, fitdecode.FitDataMessage)]


def outdoor_ride() -> Recording:
    n = 180
    t = np.arange(n, dtype=float)
    recording = ride(
        t,
        pauses=[(60, 120)],
        power=np.where(t % 17 == 0, np.nan, 150 + (t % 50)),
        heartRate=130 + t % 20,
        cadence=85 + t % 7,
        speed=8 + (t % 10) / 10,
        distance=8.45 * t,
        altitude=400 + t / 7,
        latitude=47.3769 + t * 1e-4,
        longitude=8.5417 + t * 5e-5,
        temperature=21 + 0 * t,
    )
    recording.sport, recording.sub_sport = "cycling", "road"
    return recording


def test_the_file_decodes_with_crc_checks_and_holds_every_message():
    recording = outdoor_ride()
    names = [m.name for m in messages(recording_to_fit(recording, ftp=250))]
    assert names[:2] == ["file_id", "event"]
    assert names.count("record") == 180
    assert names[-3:] == ["lap", "session", "activity"]
    assert names.count("event") == 4  # timer start, stop for the pause, start after it, final stop


def test_records_hold_the_samples():
    recording = outdoor_ride()
    back = decode_fit(recording_to_fit(recording))
    assert back.start_time == recording.start_time
    np.testing.assert_array_equal(back.time, recording.time)
    assert set(back.channels) == set(recording.channels)
    for name, values in recording.channels.items():
        np.testing.assert_allclose(back.channels[name], values, rtol=0, atol=RESOLUTION[name], equal_nan=True)
    assert back.pauses == [(60, 120)]
    assert (back.sport, back.sub_sport) == ("cycling", "road")


def test_the_session_carries_the_rides_metrics():
    recording = outdoor_ride()
    metrics = ride_metrics(recording, 250)
    session = next(m for m in messages(recording_to_fit(recording, ftp=250)) if m.name == "session")
    value = session.get_value
    assert value("start_time") == recording.start_time
    assert value("total_timer_time") == metrics.timer_seconds == 121  # 0..60 and 120..179
    assert value("total_elapsed_time") == metrics.elapsed_seconds == 180
    assert value("total_moving_time") == metrics.moving_seconds
    assert value("total_distance") == pytest.approx(metrics.distance_meters, abs=0.005)
    assert value("avg_power") == round(metrics.average_power)
    assert value("normalized_power") == round(metrics.normalized_power)
    assert value("training_stress_score") == pytest.approx(metrics.tss, abs=0.05)
    assert value("intensity_factor") == pytest.approx(metrics.intensity_factor, abs=0.0005)
    assert value("threshold_power") == 250
    assert value("max_heart_rate") == metrics.max_heart_rate
    assert (value("sport"), value("sub_sport"), value("num_laps")) == ("cycling", "road", 1)


def test_values_fit_cannot_hold_are_written_as_invalid():
    recording = ride(
        power=[100, 70000, -3],
        heartRate=[300, 120, 254],
        altitude=[-1000, 0, 20000],
        temperature=[127, -128, 126],  # sint8: 0x7F is FIT's invalid value
    )
    records = [m for m in messages(recording_to_fit(recording)) if m.name == "record"]
    assert [m.get_value("power") for m in records] == [100, None, None]
    assert [m.get_value("heart_rate") for m in records] == [None, 120, 254]
    assert [m.get_value("altitude") for m in records] == [None, 0, None]
    assert [m.get_value("temperature") for m in records] == [None, -128, 126]


def test_a_ride_without_sport_or_positions():
    recording = ride(power=[200] * 10)
    found = {m.name: m for m in messages(recording_to_fit(recording))}
    assert found["session"].get_value("sport") is None
    assert {f.name for f in found["record"].fields} == {"timestamp", "power"}


def test_a_real_ride_round_trips(samples: Path):
    original = decode_upload((samples / "fit" / "2019-02-17-062644-ELEMNT-297E-195-0.fit").read_bytes())
    recording = dataclasses.replace(original.recording, summary=None)  # as from a TCX: no device session
    back = decode_fit(recording_to_fit(recording, ftp=220, timezone="Europe/Amsterdam"))
    np.testing.assert_array_equal(back.time, recording.time)
    for name, values in recording.channels.items():
        np.testing.assert_allclose(back.channels[name], values, rtol=0, atol=RESOLUTION[name], equal_nan=True)
    assert back.pauses == recording.pauses
    before = ride_metrics(recording, 220)
    after = ride_metrics(dataclasses.replace(back, summary=None), 220)
    assert after.timer_seconds == before.timer_seconds
    assert after.normalized_power == pytest.approx(before.normalized_power)
    assert after.distance_meters == pytest.approx(before.distance_meters, abs=0.01)


def test_a_synthetic_ride_round_trips_through_fit():
    ride_ = synthetic_ride(hours=1.0, seed=3, pauses=2)
    decoded = decode_fit(recording_to_fit(ride_, ftp=250))
    assert decoded.start_time == ride_.start_time
    np.testing.assert_array_equal(decoded.time, ride_.time)
    assert decoded.pauses == ride_.pauses
    assert (decoded.sport, decoded.sub_sport) == ("cycling", "road")
    assert sorted(decoded.channels) == sorted(ride_.channels)
    for name, values in ride_.channels.items():
        np.testing.assert_allclose(decoded.channels[name], values, rtol=0, atol=RESOLUTION[name])
    # The session is the ride's own metrics: decoding them back as the device's summary changes nothing.
    metrics = ride_metrics(ride_, 250)
    assert decoded.summary is not None
    assert decoded.summary.timer_seconds == metrics.timer_seconds
    assert decoded.summary.elapsed_seconds == metrics.elapsed_seconds
    again = ride_metrics(decoded, 250)
    assert (again.timer_seconds, again.elapsed_seconds) == (metrics.timer_seconds, metrics.elapsed_seconds)
    assert again.normalized_power == pytest.approx(metrics.normalized_power)
    assert decoded.warnings == []


@pytest.mark.parametrize("name", ["tcx/2020-02-05_17-25-14_Training-with-Notes.tcx", "gpx/6909869014.gpx"])
def test_tcx_and_gpx_rides_round_trip_through_fit(samples: Path, name: str):
    recording = decode_activity((samples / name).read_bytes())
    decoded = decode_fit(recording_to_fit(recording))
    np.testing.assert_allclose(decoded.time, recording.time, atol=0.5)  # FIT keeps whole seconds
    for channel, values in recording.channels.items():
        np.testing.assert_allclose(
            decoded.channels[channel], values, rtol=0, atol=RESOLUTION[channel], equal_nan=True
        )


def test_the_10_hour_ride_is_1_hz_with_every_channel():
    ride_ = synthetic_ride()
    assert ride_.sample_count == 36_000
    assert set(np.diff(ride_.time)) - {1.0} == {end - start + 1 for start, end in ride_.pauses}
    assert all(ride_.has(channel) for channel in ride_.channels) and len(ride_.channels) == 9
