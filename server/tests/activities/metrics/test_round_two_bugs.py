"""Issue 9's bugs found with real recordings, each with a real file or one built here (each failed before)."""

from __future__ import annotations

import dataclasses
import math
import struct

import numpy as np
import pytest

from tests.activities.files.fitbytes import T0, definition, fit_segment
from trainerday_server.activities.files import decode_upload
from trainerday_server.activities.metrics import ride_metrics
from trainerday_server.activities.recording import DeviceSummary

from .synthetic import ride

EARTH = 6_371_008.8


def tcx(points: list[tuple[int, float, float]]) -> bytes:
    """A TCX ride of (seconds since start, latitude, cumulative metres) trackpoints, 5 m/s speed."""
    rows = "".join(
        f"<Trackpoint><Time>2024-05-04T07:{30 + t // 60:02d}:{t % 60:02d}Z</Time>"
        f"<Position><LatitudeDegrees>{lat}</LatitudeDegrees><LongitudeDegrees>8.5</LongitudeDegrees>"
        f"</Position><DistanceMeters>{d}</DistanceMeters></Trackpoint>"
        for t, lat, d in points
    )
    return (
        '<?xml version="1.0"?><TrainingCenterDatabase '
        'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"><Activities>'
        '<Activity Sport="Other"><Id>2024-05-04T07:30:00Z</Id><Lap StartTime="2024-05-04T07:30:00Z"><Track>'
        f"{rows}</Track></Lap></Activity></Activities></TrainingCenterDatabase>"
    ).encode()


def test_1_smart_recording_gaps_while_moving_are_ridden():
    # A ski tour at 5 m/s, written every 4 s with a 30 s gap each minute (Garmin's smart recording).
    times = sorted({t for minute in range(10) for t in range(60 * minute, 60 * minute + 30, 4)} | {600})
    points = [(t, 47 + 5 * t / (EARTH * math.radians(1)), 5.0 * t) for t in times]
    result = ride_metrics(decode_upload(tcx(points)).recording, 250)
    assert result.timer_seconds == result.elapsed_seconds == 601  # before: 356, the gaps "stopped"
    assert result.distance_meters == pytest.approx(3000)
    assert result.average_speed is not None and result.max_speed is not None
    assert result.average_speed == pytest.approx(5, rel=0.01)
    assert result.average_speed <= result.max_speed  # before: 8.4 m/s average beside a 5 m/s maximum


def test_1_a_gap_standing_still_is_stopped_even_when_smart_recorded():
    times = [*range(0, 60, 4), 120, *range(124, 180, 4)]  # 60 s without moving between 56 and 120
    distance = [5.0 * min(t, 56) + 5.0 * max(t - 120, 0) for t in times]
    points = [(t, 47 + d / (EARTH * math.radians(1)), d) for t, d in zip(times, distance, strict=True)]
    result = ride_metrics(decode_upload(tcx(points)).recording, 250)
    assert result.elapsed_seconds == 177
    assert result.timer_seconds == 177 - 63  # seconds 57..119 are not the ride


def test_2_a_gpx_with_a_speed_extension_gets_its_distance_from_the_positions():
    step = 0.0001  # degrees of latitude a second
    rows = "".join(
        f'<trkpt lat="{47 + step * i}" lon="8.5"><time>2024-05-04T07:30:{i:02d}Z</time>'
        f"<extensions><speed>11.1</speed></extensions></trkpt>"
        for i in range(60)
    )
    gpx = f'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{rows}</trkseg></trk></gpx>'
    result = ride_metrics(decode_upload(gpx.encode()).recording, 250)
    assert result.distance_meters == pytest.approx(59 * EARTH * math.radians(step), rel=1e-6)  # before: None
    assert result.average_speed is not None and result.average_speed <= result.max_speed == 11.1


def test_3_a_device_zero_for_a_channel_the_records_lack_is_not_a_figure():
    # A COROS writes average and max power 0 W with no power meter: the figures stay null, never 0.0.
    result = ride_metrics(
        ride(heartRate=[120] * 60, summary=DeviceSummary(average_power=0, max_power=0)), 250
    )
    assert (result.average_power, result.max_power, result.tss, result.time_in_power_zones) == (None,) * 4
    assert result.to_json()["deviceSummary"]["averagePower"] == 0  # as the device wrote it


def test_4_a_device_figure_between_two_definitions_is_not_taken():
    # 3,000 s at 200 W then 600 s coasting: 166.7 W with zeros (ours), 200 W without. A device's 180 W lay
    # "between the definitions" and was reported; now the records' figure is, and the device's is named.
    recording = ride(power=[200] * 3000 + [0] * 600, summary=DeviceSummary(average_power=180))
    result = ride_metrics(recording, 250)
    assert result.average_power == pytest.approx(500 / 3)
    assert result.warnings == ["the device's average power 180 W differs by 8% from the records' 167 W"]


def test_5_all_zero_power_is_no_power_meter(samples):
    # nick.fit: 4.6 hours with 0 W on every record; before: NP 0, TSS 0, every second in zone 1.
    result = ride_metrics(decode_upload((samples / "damaged/nick.fit").read_bytes()).recording, 250)
    assert result.timer_seconds > 4.6 * 3600 * 0.85
    for figure in ("average_power", "max_power", "normalized_power", "intensity_factor", "tss", "work_kj"):
        assert getattr(result, figure) is None, figure
    assert (result.time_in_power_zones, result.power_curve, result.average_cadence) == (None, None, None)
    assert "the power channel reads 0 W on every sample: no sensor, no power figures" in result.warnings


def test_6_a_chained_fit_holding_one_activity_twice_counts_it_once(samples):
    once = (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()
    single = ride_metrics(decode_upload(once).recording, 250)
    twice = ride_metrics(decode_upload(once + once).recording, 250)
    assert twice.elapsed_seconds == single.elapsed_seconds == 127  # before: the device's 2 x 113 s
    assert twice.timer_seconds == single.timer_seconds
    assert twice.device_summary is not None and twice.device_summary.sessions == 1
    assert twice.device_summary.elapsed_seconds == pytest.approx(113.15)


def test_8_a_runs_power_gets_no_tss_at_the_cycling_ftp(samples):
    data = (samples / "fit/developer-types-sample.fit").read_bytes()
    recording = decode_upload(data).recording
    assert recording.sport == "running"
    result = ride_metrics(recording, 250)
    assert result.average_power is not None and result.normalized_power is not None  # power figures stay
    assert (result.intensity_factor, result.tss, result.time_in_power_zones) == (None, None, None)
    cycling = ride_metrics(dataclasses.replace(recording, sport="cycling"), 250)
    assert cycling.tss is not None and cycling.tss > 0


def fit_with_distances(distances: list[float]) -> bytes:
    """A FIT activity of one record a second with the given distances (m) and 10 m/s speed."""
    fields = [(253, 4, 0x86), (5, 4, 0x86), (6, 2, 0x84)]  # timestamp, distance (1/100 m), speed (1/1000)
    body = definition(0, 20, fields)
    for i, d in enumerate(distances):
        body += struct.pack("<BIIH", 0, T0 + i, round(d * 100), 10_000)
    return fit_segment(body)


def test_11_an_impossible_distance_jump_is_a_dropout():
    distances = [10.0 * i for i in range(100)] + [1_000_000.0] * 50 + [10.0 * i for i in range(100)]
    result = ride_metrics(decode_upload(fit_with_distances(distances)).recording, 250)
    assert result.distance_meters == pytest.approx(990 + 990 + 0, abs=1)  # before: 1,000,990 m
    assert result.average_speed is not None and result.max_speed == 10
    assert result.average_speed <= result.max_speed  # before: 4,000 m/s beside 10 m/s
    assert "1 distance jump faster than 50 m/s ignored (dropouts)" in result.warnings


def test_11_a_distance_that_starts_absurd_counts_from_its_own_start():
    distances = [1_000_000.0 + 10 * i for i in range(50)] + [10.0 * i for i in range(50)]
    result = ride_metrics(decode_upload(fit_with_distances(distances)).recording, 250)
    assert result.distance_meters == pytest.approx(490 + 490, abs=1)


def test_max_power_is_the_curves_first_point_on_every_sample(samples):
    for path in (p for folder in ("fit", "tcx", "gpx") for p in (samples / folder).iterdir()):
        if not path.is_file():  # a copyleft recording not at hand here
            continue
        result = ride_metrics(decode_upload(path.read_bytes()).recording, 250)
        if result.power_curve is not None:
            assert result.max_power == result.power_curve.watts[0], path.name
        if result.average_speed is not None:
            assert result.max_speed is not None and result.average_speed <= result.max_speed, path.name
        assert not np.isnan(result.timer_seconds)
