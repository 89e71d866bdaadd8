"""Hand-computed ride metrics on small synthetic recordings, and TrainerDay's reference test vectors."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from trainerday_server.activities.metrics import (
    RideMetrics,
    curve_durations,
    normalized_power,
    power_curve,
    ride_metrics,
)
from trainerday_server.activities.recording import DeviceSummary
from trainerday_server.errors import ValidationFailed

from .synthetic import SPINNER, ride, segments

API_FIELDS = {
    "startTime", "startTimeLocal", "elapsedSeconds", "timerSeconds", "movingSeconds", "distanceMeters",
    "elevationGainMeters", "averageSpeed", "maxSpeed", "averagePower", "maxPower", "normalizedPower",
    "intensityFactor", "tss", "workKj", "averageHeartRate", "maxHeartRate", "averageCadence",
    "variabilityIndex", "timeInPowerZones", "timeInHeartRateZones", "powerCurve", "warnings",
    "averagePowerMoving", "deviceSummary",
}  # fmt: skip


def metrics(recording, ftp=250, **kwargs) -> RideMetrics:
    return ride_metrics(recording, ftp, **kwargs)


# --- TrainerDay's reference vectors (trainerday/cycling-metrics) -----------------------------------


@pytest.mark.parametrize(
    ("watts", "expected"),
    [
        ([120, 140, 160], [160, 150, 140]),  # "should decrease linearly for linear power2"
        (list(range(120, 99, -2)), list(range(120, 109, -1))),  # "... for linear power"
        ([110] * 11, [110] * 11),  # "should be const for const power"
        (
            [102, 106, 110, 114, 118, 120, 116, 112, 108, 104, 100],
            list(range(120, 109, -1)),
        ),  # bell-like spike
    ],
)
def test_power_curve_matches_reference_vectors(watts, expected):
    curve = power_curve(np.array(watts, dtype=float))
    assert curve.seconds == list(range(1, len(watts) + 1))
    assert curve.watts == pytest.approx(expected)


def test_power_curve_reference_average_vector():
    watts = power_curve(np.array([110] * 5 + [120] * 5, dtype=float)).watts
    assert (watts[0], watts[1], watts[3], watts[9]) == pytest.approx((120, 120, 120, 115))


@pytest.mark.parametrize(
    ("time", "watts"),
    [
        (range(11), [120, 118, 116, None, 112, None, None, 106, 104, None, 100]),  # missing samples
        ([0, 10], [120, 100]),  # "should interpolate missing Metrics points linearly"
    ],
)
def test_short_gaps_hold_the_sample_before_unlike_the_reference(time, watts):
    # The reference interpolates linearly (120, 118, ..., 100); the definition (GoldenCheetah's)
    # holds each sample until the next, so the work is what the meter reported.
    held, last = [], None
    for second in range(11):
        if second in time:
            value = watts[list(time).index(second)]
            last = value if value is not None else last
        held.append(last)
    curve = metrics(ride(time, power=watts)).power_curve
    assert curve is not None
    assert curve.watts[0] == 120
    assert curve.watts[-1] == pytest.approx(sum(held) / 11)


def test_channel_ends_are_not_extrapolated_backwards():
    # A missing first second is not invented; a missing last second holds the one before (within 10 s).
    result = metrics(ride(power=[None, 120, None]))
    assert result.power_curve is not None
    assert (result.power_curve.seconds, result.power_curve.watts) == ([1, 2], [120, 120])


@pytest.mark.parametrize(
    ("workout", "tss", "intensity"),
    [
        ([(60, 100, 100)], 100, 1.0),  # "60min @ 100% of FTP should be 100 tss points"
        ([(60, 20, 100)], 50, 0.706),  # "60min @ 20-100% of FTP" (older test file: 50)
        (SPINNER, 72, 0.878),  # "spinner workout should be 72"; workout statistics: Intensity 0.878
    ],
)
def test_tss_and_intensity_match_reference_vectors(workout, tss, intensity):
    result = metrics(ride(power=segments(workout)), ftp=100)
    assert result.tss is not None and round(result.tss) == tss
    assert result.intensity_factor == pytest.approx(intensity, abs=5e-4)


def test_spinner_zone_times_match_reference():
    result = metrics(ride(power=segments(SPINNER)), ftp=100)
    assert result.time_in_power_zones == [1920, 120, 120, 60, 1080, 60, 0]
    assert result.moving_seconds == 56 * 60


def test_an_hour_at_ftp_is_an_hour_in_zone_4():
    result = metrics(ride(power=segments([(60, 200, 200)], ftp=100)), ftp=200)
    assert result.time_in_power_zones == [0, 0, 0, 3600, 0, 0, 0]


# --- the timeline: pauses, gaps, irregular samples -------------------------------------------------


def test_timer_pause_without_records_is_stopped_time():
    time = [*range(60), *range(120, 180)]
    result = metrics(ride(time, power=[200] * 120, speed=[8] * 120, pauses=[(60, 120)]))
    assert (result.elapsed_seconds, result.timer_seconds, result.moving_seconds) == (180, 120, 120)
    assert result.average_power == 200
    assert result.work_kj == pytest.approx(24.0)


def test_records_inside_a_timer_pause_are_ignored():
    watts = [200] * 60 + [1000] * 60 + [200] * 60  # the device kept writing while paused
    result = metrics(ride(power=watts, pauses=[(59.5, 119.5)]))
    assert (result.elapsed_seconds, result.timer_seconds) == (180, 120)
    assert (result.average_power, result.max_power) == (200, 200)


def test_a_long_silence_is_stopped_not_zeros_nor_interpolated():
    time = [*range(60), *range(90, 150)]  # 31 s without samples, no timer event (TCX/GPX auto-pause)
    result = metrics(ride(time, power=[100] * 60 + [300] * 60))
    assert (result.elapsed_seconds, result.timer_seconds, result.moving_seconds) == (150, 120, 120)
    assert result.average_power == 200
    assert result.power_curve is not None and result.power_curve.watts[-1] == 200


def test_smart_recording_holds_each_sample_to_the_next():
    time = list(range(0, 61, 5))  # a sample every 5 s
    result = metrics(ride(time, power=[2 * t for t in time]))  # 2 W per second of ride
    held = [2 * (5 * (second // 5)) for second in range(61)]
    assert result.timer_seconds == 61
    assert result.moving_seconds == 56  # seconds 0..4 hold 0 W and have no speed: not moving
    assert result.average_power == pytest.approx(sum(held) / 61)  # zeros included
    assert result.average_power_moving == pytest.approx(sum(held) / 56)
    assert result.max_power == 120


def test_sub_second_timestamps_land_on_whole_seconds():
    result = metrics(ride([t + 0.4 for t in range(10)], power=[150] * 10))
    assert (result.timer_seconds, result.average_power) == (10, 150)


def test_several_samples_at_one_time_the_last_holds():
    result = metrics(ride([0, 1, 1, 2], power=[100, 50, 300, 100]))
    assert (result.timer_seconds, result.max_power) == (3, 300)


def test_a_long_channel_dropout_is_left_out_not_zeroed():
    watts = [200] * 30 + [None] * 20 + [200] * 30  # the power meter lost its link for 20 s
    result = metrics(ride(power=watts, speed=[8] * 80))
    assert result.moving_seconds == 80
    assert result.average_power == 200
    # 10 s hold the last value, the other 10 are left out of the power figures
    assert result.power_curve is not None and result.power_curve.seconds[-1] == 70


# --- dropouts and moving ---------------------------------------------------------------------------


def test_impossible_samples_are_dropouts_with_warnings():
    result = metrics(ride(power=[100, 20000, 100, -5, 100], heartRate=[120, 255, 121, 0, 122]))
    assert result.warnings == [  # 0 bpm is a strap's dropout, silently
        "1 power sample below 0 W ignored",
        "1 power sample above 3,000 W ignored",
        "1 heart-rate sample above 250 bpm ignored",
    ]
    assert (result.average_power, result.max_power) == (100, 100)  # the sample before holds
    assert result.average_heart_rate == pytest.approx((120 + 120 + 121 + 121 + 122) / 5)
    assert result.max_heart_rate == 122


def test_recording_warnings_come_first():
    recording = ride(power=[100] * 3 + [5000] * 3)
    recording.warnings.append("file ends mid-record at byte 403,456")
    assert metrics(recording).warnings == [
        "file ends mid-record at byte 403,456",
        "3 power samples above 3,000 W ignored",
    ]


@pytest.mark.parametrize(
    ("channels", "moving"),
    [
        ({"speed": [0, 0, 5, 5, 5, 0.5], "power": [0, 0, 0, 100, 0, 0]}, 3),  # coasting at speed is moving
        ({"speed": [0, 0, 0, 0], "power": [0, 150, 150, 0]}, 2),  # trainer: virtual speed 0, pedalling
        ({"power": [0, 0, 150, 150, 0], "cadence": [0, 0, 90, 90, 0]}, 2),  # indoor, no speed
        ({"power": [0, 0, 0, 0], "cadence": [0, 80, 0, 0]}, 1),  # pedalling without load
        ({"heartRate": [100, 101, 102]}, 3),  # nothing says stopped: the timer ran
        ({"heartRate": [100, 101, 102], "speed": [0, 0, 0]}, 3),  # speed zero throughout says nothing
    ],
)
def test_moving_seconds(channels, moving):
    assert metrics(ride(**channels)).moving_seconds == moving


def test_averages_and_maxima_over_timer_seconds():
    result = metrics(
        ride(speed=[0, 6, 6, 6, 0], heartRate=[150, 100, 110, 120, 160], cadence=[0, 90, 0, 80, 0])
    )
    assert result.average_heart_rate == 128  # stopped-but-recording seconds count
    assert result.max_heart_rate == 160  # heart rate peaks after the stop
    assert result.average_cadence == 85  # coasting zeros left out
    assert result.max_speed == 6


# --- distance, speed, climbing ---------------------------------------------------------------------


def test_distance_and_speed_from_positions():
    lat = [47 + 0.0001 * i for i in range(101)]
    result = metrics(ride(latitude=lat, longitude=[8.5] * 101))
    step = 6_371_008.8 * math.radians(0.0001)  # great-circle metres per 0.0001° of latitude
    assert result.distance_meters == pytest.approx(100 * step, rel=1e-9)
    assert result.max_speed == pytest.approx(step, rel=1e-6)
    assert result.average_speed == pytest.approx(100 * step / 101, rel=1e-9)
    assert result.average_speed <= result.max_speed


def test_positions_across_stopped_time_add_no_distance():
    time = [0, 1, 2, 60, 61, 62]  # the rider moved 1 km while stopped
    lat = [47, 47.0001, 47.0002, 47.0092, 47.0093, 47.0094]
    result = metrics(ride(time, latitude=lat, longitude=[8.5] * 6))
    assert result.distance_meters == pytest.approx(4 * 6_371_008.8 * math.radians(0.0001), rel=1e-6)


def test_positions_at_null_island_are_dropouts():
    result = metrics(ride(latitude=[47, 0, 47.0001], longitude=[8.5, 0, 8.5]))
    assert result.warnings == ["1 position at 0°, 0° ignored"]
    assert result.distance_meters == pytest.approx(6_371_008.8 * math.radians(0.0001), rel=1e-6)


@pytest.mark.parametrize(
    ("time", "distance", "expected"),
    [
        (None, [0, 10, 20, 30], 30),
        (None, [5, 15, 25], 25),  # the device counted 5 m before its first record
        (None, [0, 30, 0, 40, 10, 50, 20], 50),  # two sources taking turns (a head unit on a trainer)
        (None, [0, 10, 5000, 20, 30], 30),  # a glitch jumps ahead and back
        ([0, 100, 200, 300, 400], [0, 1000, 2000, 0, 1000], 3000),  # a restart counts again
        ([0, 1, 2, 12, 13], [0, 10, 10, 130, 140], 140),  # catching up 120 m after 11 s without GPS
    ],
)
def test_distance_from_the_distance_channel(time, distance, expected):
    assert metrics(ride(time, distance=distance)).distance_meters == pytest.approx(expected)


def test_speed_derived_from_distance():
    result = metrics(ride(distance=[0, 5, 10, 18, 26, 26, 26]))
    assert result.max_speed == 8
    assert result.moving_seconds == 5  # seconds 1..4, and 0: no speed yet, so nothing says stopped


rng = np.random.default_rng(7)


@pytest.mark.parametrize(
    ("altitude", "expected", "tolerance"),
    [
        (100 + rng.uniform(-1, 1, 3600), 0, 0),  # barometric jitter
        (100 + 2 * (np.arange(3600) % 2), 0, 0),  # a 2 m sawtooth stays under the hysteresis
        (np.linspace(100, 200, 1000) + rng.uniform(-1, 1, 1000), 100, 2),  # one climb, noisy
        (np.r_[np.linspace(100, 150, 500), np.linspace(150, 120, 300), np.linspace(120, 170, 500)], 100, 0.5),
        (np.linspace(200, 100, 1000), 0, 0),  # descending adds nothing
    ],
)
def test_elevation_gain(altitude, expected, tolerance):
    gain = metrics(ride(altitude=altitude)).elevation_gain_meters
    assert gain == pytest.approx(expected, abs=tolerance)


def test_altitude_change_across_a_pause_is_not_climbing():
    time = [*range(100), *range(200, 300)]
    result = metrics(ride(time, altitude=[100] * 100 + [150] * 100, pauses=[(100, 200)]))
    assert result.elevation_gain_meters == 0


# --- the device's own summary ----------------------------------------------------------------------


# An hour at 1 Hz: 3,600 records 0..3599 s, power 200 W but 0 W coasting (at speed) for the last 600 s,
# heart rate 150 bpm, 10 m a second: 3,600 timer seconds, average power 166.7 W, distance 35,990 m.
HOUR = {
    "power": [200] * 3000 + [0] * 600,
    "heartRate": [150] * 3600,
    "speed": [10] * 3600,
    "distance": [10.0 * i for i in range(3600)],
}
DEVICE = DeviceSummary(
    elapsed_seconds=3640.5,
    timer_seconds=3599.0,
    distance_meters=36_400,
    average_power=168,
    max_power=203,
    average_heart_rate=148,
    max_heart_rate=152,
    average_cadence=131,
    total_ascent_meters=321,
    work_joules=600_000,
    normalized_power=215,
    tss=55.5,
    intensity_factor=0.75,
    ftp=253,
)


def test_the_device_summary_is_kept_as_written_and_never_used():
    result = metrics(ride(**HOUR, summary=DEVICE))
    records = metrics(ride(**HOUR))
    ours = dataclasses.asdict(result)
    assert ours.pop("device_summary") == dataclasses.asdict(DEVICE)
    assert ours.pop("warnings") == [  # only figures more than 5 % apart
        "the device's Normalized Power 215 W differs by 13% from the records' 191 W"
    ]
    theirs = dataclasses.asdict(records)
    theirs.pop("device_summary"), theirs.pop("warnings")
    assert ours == theirs
    payload = result.to_json()["deviceSummary"]
    assert payload["averageCadence"] == 131 and payload["workJoules"] == 600_000 and payload["ftp"] == 253


@pytest.mark.parametrize(
    ("figure", "value", "warning"),
    [
        (
            "elapsed_seconds",
            3000,
            "the device's elapsed time 3,000 s differs by 17% from the records' 3,600 s",
        ),
        (
            "distance_meters",
            40_000,
            "the device's distance 40,000 m differs by 11% from the records' 35,990 m",
        ),
        ("average_power", 200, "the device's average power 200 W differs by 20% from the records' 167 W"),
        (
            "max_heart_rate",
            250,
            "the device's max heart rate 250 bpm differs by 67% from the records' 150 bpm",
        ),
        ("work_joules", 1_000_000, "the device's work 1,000 kJ differs by 67% from the records' 600 kJ"),
    ],
)
def test_a_device_figure_more_than_5_percent_off_is_named(figure, value, warning):
    result = metrics(ride(**HOUR, summary=DeviceSummary(**{figure: value})))
    assert result.warnings == [warning]
    assert result.to_json()["deviceSummary"] == {
        **DeviceSummary().to_json(),
        {"elapsed_seconds": "elapsedSeconds", "distance_meters": "distanceMeters",
         "average_power": "averagePower", "max_heart_rate": "maxHeartRate",
         "work_joules": "workJoules"}[figure]: value,
    }  # fmt: skip


def test_a_device_figure_for_a_channel_the_records_lack_is_named_not_reported():
    # A COROS writes average and max power 0 without a power meter; another device writes 180 W.
    result = metrics(ride(heartRate=[120] * 60, summary=DeviceSummary(average_power=0, max_power=180)))
    assert (result.average_power, result.max_power) == (None, None)
    assert result.warnings == ["the device's max power 180 W: the records hold no such figure"]


def test_moving_time_counts_the_timer_seconds_moving():
    # Two stretches of 60 records around a 100 s pause; the rider stands still for the last 20 of each.
    time = [*range(60), *range(160, 220)]
    speed = ([8] * 40 + [0] * 20) * 2
    counted = metrics(ride(time, speed=speed, pauses=[(59, 160)]))
    assert (counted.elapsed_seconds, counted.timer_seconds, counted.moving_seconds) == (220, 120, 80)


# --- thresholds, time zones, JSON ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "local"),
    [
        ("UTC", "2024-05-04T07:30:00Z"),
        ("Europe/Berlin", "2024-05-04T09:30:00+02:00"),
        ("America/Los_Angeles", "2024-05-04T00:30:00-07:00"),
        ("Asia/Kathmandu", "2024-05-04T13:15:00+05:45"),
    ],
)
def test_start_time_in_utc_and_in_the_athletes_zone(zone, local):
    payload = metrics(ride(power=[100]), timezone=zone).to_json()
    assert (payload["startTime"], payload["startTimeLocal"]) == ("2024-05-04T07:30:00Z", local)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"ftp": 0}, "ftp"),
        ({"ftp": -250}, "ftp"),
        ({"ftp": math.nan}, "ftp"),
        ({"lthr": 0}, "lthr"),
    ],
)
def test_bad_arguments_are_validation_errors(kwargs, field):
    with pytest.raises(ValidationFailed) as caught:
        metrics(ride(power=[100]), **kwargs)
    assert [e.field for e in caught.value.errors] == [field]


def test_a_recording_without_samples_is_refused():
    with pytest.raises(ValidationFailed, match="no samples"):
        metrics(ride([], power=[]))


def test_without_ftp_there_is_no_intensity_tss_or_power_zones():
    result = metrics(ride(power=[200] * 60), ftp=None)
    assert (result.intensity_factor, result.tss, result.time_in_power_zones) == (None, None, None)
    assert result.normalized_power == pytest.approx(200)


def test_heart_rate_zones_need_lthr():
    hr = [100] * 10 + [140] * 20 + [170] * 30  # 59%, 82%, 100% of 170 -> zones 1, 2, 4
    assert metrics(ride(heartRate=hr), lthr=170).time_in_heart_rate_zones == [10, 20, 0, 30, 0]
    assert metrics(ride(heartRate=hr)).time_in_heart_rate_zones is None


def test_absent_channels_are_null_in_json():
    payload = metrics(ride(heartRate=[120, 130, 140]), lthr=160).to_json()
    assert set(payload) == API_FIELDS
    nulls = {k for k, v in payload.items() if v is None}
    assert nulls == {
        "distanceMeters", "elevationGainMeters", "averageSpeed", "maxSpeed", "averagePower", "maxPower",
        "normalizedPower", "intensityFactor", "tss", "workKj", "averageCadence", "variabilityIndex",
        "timeInPowerZones", "powerCurve", "averagePowerMoving", "deviceSummary",
    }  # fmt: skip
    assert (payload["averageHeartRate"], payload["maxHeartRate"]) == (130, 140)
    json.dumps(payload, allow_nan=False)


def test_json_of_a_full_ride():
    watts = segments([(10, 50, 50), (10, 100, 100)], ftp=200)
    distance = [9.0 * t for t in range(1200)]
    payload = metrics(ride(power=watts, heartRate=[150] * 1200, distance=distance), ftp=200).to_json()
    assert payload["averagePower"] == 150
    # 1,171 whole 30 s windows: 571 at 100 W, 571 at 200 W, and 29 straddling with k = 1..29 s at 200 W
    fourth_powers = 571 * 100**4 + 571 * 200**4 + sum((100 + 100 * k / 30) ** 4 for k in range(1, 30))
    assert payload["normalizedPower"] == round((fourth_powers / 1171) ** 0.25, 1)
    assert payload["workKj"] == 180
    assert payload["timeInPowerZones"] == [600, 0, 0, 600, 0, 0, 0]
    assert payload["powerCurve"]["seconds"][-1] == 1200
    assert payload["powerCurve"]["watts"][:2] == [200, 200]
    assert payload["powerCurve"]["watts"][-1] == 150
    assert payload["distanceMeters"] == 9 * 1199
    assert payload["averageSpeed"] == round(9 * 1199 / 1200, 3)


@pytest.mark.parametrize(
    ("length", "head", "tail"),
    [
        (1, [1], [1]),
        (61, [1, 2], [59, 60, 61]),
        (3600, list(range(1, 61)), [3000, 3300, 3600]),
        (36_000, [1, 2], [30_600, 32_400, 34_200, 36_000]),
    ],
)
def test_curve_durations(length, head, tail):
    durations = curve_durations(length)
    assert durations[: len(head)] == head and durations[-len(tail) :] == tail
    assert durations == sorted(set(durations))
    assert {300, 1200}.issubset(durations) or length < 1200


def test_normalized_power_needs_thirty_seconds():
    assert normalized_power(np.full(29, 200.0)) is None
    assert normalized_power(np.full(30, 200.0)) == pytest.approx(200)
