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
def test_short_gaps_are_interpolated_as_in_the_reference(time, watts):
    curve = metrics(ride(time, power=watts)).power_curve
    assert curve is not None
    assert curve.watts == pytest.approx(list(range(120, 109, -1)))


def test_channel_ends_are_not_extrapolated_unlike_the_reference():
    # The reference holds 120 W over the missing first and last seconds ([120, 120, 120]); we do not invent
    # power the meter did not measure.
    result = metrics(ride(power=[None, 120, None]))
    assert result.power_curve is not None
    assert (result.power_curve.seconds, result.power_curve.watts) == ([1], [120])


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


def test_smart_recording_is_interpolated_to_1_hz():
    time = list(range(0, 61, 5))  # a sample every 5 s
    result = metrics(ride(time, power=[2 * t for t in time]))  # 2 W per second of ride
    assert result.timer_seconds == 61
    assert result.moving_seconds == 60  # second 0 has 0 W and no speed: not moving
    assert result.average_power == pytest.approx(61)  # mean of 2, 4, ..., 120
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
    assert result.power_curve is not None and result.power_curve.seconds[-1] == 60


# --- dropouts and moving ---------------------------------------------------------------------------


def test_impossible_samples_are_dropouts_with_warnings():
    result = metrics(ride(power=[100, 20000, 100, -5, 100], heartRate=[120, 255, 121, 0, 122]))
    assert result.warnings == [
        "1 power sample below 0 W ignored",
        "1 power sample above 3,000 W ignored",
        "1 heart-rate sample below 20 bpm ignored",
        "1 heart-rate sample above 250 bpm ignored",
    ]
    assert (result.average_power, result.max_power) == (100, 100)  # neighbours bridge the dropouts
    assert (result.average_heart_rate, result.max_heart_rate) == (121, 122)


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


def test_averages_over_moving_maxima_over_timer():
    result = metrics(
        ride(speed=[0, 6, 6, 6, 0], heartRate=[150, 100, 110, 120, 160], cadence=[0, 90, 0, 80, 0])
    )
    assert result.average_heart_rate == 110  # moving seconds 1..3
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
# heart rate 150 bpm, 10 m a second. From the records: 3,600 timer seconds, all moving; average power over
# moving seconds 166.7 W, with every timer second 166.7 W, over non-zero samples 200 W; distance 35,990 m.
HOUR = {
    "power": [200] * 3000 + [0] * 600,
    "heartRate": [150] * 3600,
    "speed": [10] * 3600,
    "distance": [10.0 * i for i in range(3600)],
}
BORNE_OUT = DeviceSummary(
    elapsed_seconds=3640.5,  # the clock ran on after the last record: longer is possible
    timer_seconds=3599.0,  # measured, not counted: one second less
    distance_meters=36_400,  # 1.1 % more than the records
    average_power=198,  # within 2 % of the non-zero average
    max_power=203,
    average_heart_rate=148,
    max_heart_rate=152,
    average_cadence=131,  # never reported
    total_ascent_meters=321,  # never reported: no altitude, no climbing
)


def test_the_device_summary_wins_where_its_records_bear_it_out():
    result = metrics(ride(**HOUR, summary=BORNE_OUT))
    assert result.warnings == []
    assert (result.elapsed_seconds, result.timer_seconds, result.distance_meters) == (3640.5, 3599, 36_400)
    assert (result.average_power, result.max_power) == (198, 203)
    assert (result.average_heart_rate, result.max_heart_rate) == (148, 152)
    assert result.elevation_gain_meters is None and result.average_cadence is None
    assert result.normalized_power == pytest.approx(normalized_power(np.array(HOUR["power"], dtype=float)))
    assert result.moving_seconds == 3599  # the device's timer, no second of it stopped
    assert result.average_speed == pytest.approx(36_400 / 3599)


@pytest.mark.parametrize(
    ("figure", "value", "reported", "warning"),
    [
        (
            "elapsed_seconds",
            3590,  # the records span 3,599 s: a device's elapsed time can be 2 s shorter, no more
            3600,
            "the device's elapsed time (3,590 s) is not what its records give (at least 3,597 s); "
            "3,600 s from the records reported",
        ),
        (
            "timer_seconds",
            3673,  # 2 % more than 3,600 counted seconds
            3600,
            "the device's timer time (3,673 s) is not what its records give (3,527 s to 3,672 s); "
            "3,600 s from the records reported",
        ),
        (
            "distance_meters",
            36_800,
            35_990,
            "the device's distance (36,800.0 m) is not what its records give (35,270.2 m to 36,709.8 m); "
            "35,990.0 m from the records reported",
        ),
        (
            "average_power",
            160,  # below the average with zeros (166.7 W) by more than 2 %
            500 / 3,
            "the device's average power (160 W) is not what its records give (163 W to 204 W); "
            "167 W from the records reported",
        ),
        (
            "max_power",
            210,
            200,
            "the device's max power (210 W) is not what its records give (196 W to 204 W); "
            "200 W from the records reported",
        ),
        (
            "average_heart_rate",
            120,  # a device that averaged in dropouts of 0 bpm
            150,
            "the device's average heart rate (120 bpm) is not what its records give (147 bpm to 153 bpm); "
            "150 bpm from the records reported",
        ),
        (
            "max_heart_rate",
            140,
            150,
            "the device's max heart rate (140 bpm) is not what its records give (147 bpm to 153 bpm); "
            "150 bpm from the records reported",
        ),
    ],
)
def test_a_device_figure_its_records_do_not_bear_out_is_replaced(figure, value, reported, warning):
    summary = dataclasses.replace(BORNE_OUT, **{figure: value})
    if figure == "timer_seconds":
        summary.elapsed_seconds = 4000  # so that only the records can refuse it
    result = metrics(ride(**HOUR, summary=summary))
    assert result.warnings == [warning]
    assert getattr(result, figure) == pytest.approx(reported)
    others = {f.name for f in dataclasses.fields(DeviceSummary)} - {
        figure,
        "average_cadence",
        "total_ascent_meters",
    }
    for name in others:
        assert getattr(result, name) == getattr(summary, name), name  # the others stay the device's


def test_a_device_elapsed_time_within_whole_second_rounding_of_the_records_is_kept():
    summary = DeviceSummary(elapsed_seconds=3597.0, timer_seconds=3597.0)  # records span 3,599 s
    result = metrics(ride(**HOUR, summary=summary))
    assert (result.warnings, result.elapsed_seconds, result.timer_seconds) == ([], 3597, 3597)


def test_a_device_timer_time_longer_than_its_elapsed_time_is_replaced():
    # Both within 2 % of the records, but a timer cannot run longer than the clock.
    summary = DeviceSummary(elapsed_seconds=3598, timer_seconds=3640)
    result = metrics(ride(**HOUR, summary=summary))
    assert result.warnings == [
        "the device's timer time (3,640 s) is not what its records give (3,527 s to 3,599 s); "
        "3,600 s from the records reported"
    ]
    # The 3,600 counted seconds are cut to the device's elapsed time, which may be two seconds shorter.
    assert (result.elapsed_seconds, result.timer_seconds, result.moving_seconds) == (3598, 3598, 3598)


def test_impossible_device_figures_are_ignored():
    summary = DeviceSummary(
        timer_seconds=-5, elapsed_seconds=math.inf, max_power=20_000, average_heart_rate=0
    )
    result = metrics(ride(power=[100] * 60, heartRate=[120] * 60, summary=summary))
    assert result.warnings == [
        "the device's elapsed time of inf s ignored",
        "the device's timer time of -5 s ignored",
        "the device's max power of 20,000 W ignored",
        "the device's average heart rate of 0 bpm ignored",
    ]
    assert (result.max_power, result.average_heart_rate) == (100, 120)
    assert (result.elapsed_seconds, result.timer_seconds) == (60, 60)


def test_moving_time_is_the_devices_timer_less_the_stopped_seconds():
    # Two stretches of 60 records around a 100 s pause; the rider stands still for the last 20 of each.
    time = [*range(60), *range(160, 220)]
    speed = ([8] * 40 + [0] * 20) * 2
    counted = metrics(ride(time, speed=speed, pauses=[(59, 160)]))
    assert (counted.elapsed_seconds, counted.timer_seconds, counted.moving_seconds) == (220, 120, 80)
    summary = DeviceSummary(elapsed_seconds=219.4, timer_seconds=118.2)  # 59 s + 59 s measured
    measured = metrics(ride(time, speed=speed, pauses=[(59, 160)], summary=summary))
    assert measured.warnings == []
    assert (measured.elapsed_seconds, measured.timer_seconds) == (219.4, 118.2)
    assert measured.moving_seconds == pytest.approx(118.2 - 40)


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
        "timeInPowerZones", "powerCurve",
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
