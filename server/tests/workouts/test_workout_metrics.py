"""Planned metrics against hand-checked figures and TrainerDay's cycling-metrics test vectors."""

from __future__ import annotations

import pytest

from trainerday_server.workouts.metrics import planned_metrics, power_profile
from trainerday_server.workouts.structure import parse_segments

# cycling-metrics' "spinner" workout (src/workout/metrics/workoutStatistics.test.ts), at FTP 100 it expects
# IF 0.878, TSS 72, 56 minutes, dominant zone 5 and, in its six zones, 1920/120/120/60/1080/60 seconds.
SPINNER = (
    [[1, 50, 50], [1, 40, 40], [1, 70, 70], [1, 40, 40], [1, 60, 60], [1, 40, 40], [1, 90, 90], [1, 40, 40]]
    + [[1, 80, 80], [1, 40, 40], [1, 110, 110], [1, 40, 40], [1, 100, 100], [1, 40, 40], [1, 130, 130]]
    + [[1, 40, 40], [1, 120, 120], [3, 30, 30]]
    + [[1, 120, 120], [1, 30, 30]] * 15
    + [[1, 120, 120], [5, 40, 40]]
)


def metrics(raw: list[list[float]], ftp: float) -> dict[str, object]:
    return planned_metrics(parse_segments(raw), ftp).to_json()


@pytest.mark.parametrize("ftp", [100, 200, 317])
def test_an_hour_at_ftp_is_100_tss(ftp: int) -> None:
    assert metrics([[60, 100, 100]], ftp) == {
        "durationSeconds": 3600,
        "normalizedPower": float(ftp),
        "intensityFactor": 1.0,
        "tss": 100.0,
        "workKj": round(ftp * 3.6, 1),
        "timeInZones": [0, 0, 0, 3600, 0, 0, 0],
        "dominantZone": 4,
    }


def test_an_hour_ramp_from_20_to_100_percent_is_50_tss() -> None:
    # cycling-metrics expects round(TSS) == 50; NP-based (average-based would be 36).
    result = metrics([[60, 20, 100]], 100)
    assert result["tss"] == 49.8
    assert result["workKj"] == 216.0  # 3600 s x 60 W mean
    # Mid-second samples 20.011..99.989 %: Z1 up to 55 % is (55-20)/80 of the hour = 1575 s, and so on.
    assert result["timeInZones"] == [1575, 900, 675, 450, 0, 0, 0]


def test_easy_spin_at_ftp_200() -> None:
    # 10 min at 100 W, 120 W, 90 W. By hand: 571 full 30 s windows at each of 100, 120 and 90 W, and 29 in
    # each of the two transitions (mean of r^4 over 100..120 and 120..90): NP^4 = 2.2095e11 / 1771 windows,
    # NP = 105.69 W; IF = 0.528; TSS = 1800 x 105.69 x 0.5284 / (200 x 3600) x 100 = 13.96.
    assert metrics([[10, 50, 50], [10, 60, 60], [10, 45, 45]], 200) == {
        "durationSeconds": 1800,
        "normalizedPower": 105.7,
        "intensityFactor": 0.528,
        "tss": 14.0,
        "workKj": 186.0,
        "timeInZones": [1200, 600, 0, 0, 0, 0, 0],
        # Nothing purposeful above Z2, and Z2 carries 600 x 0.6^4 > Z1's 600 x (0.5^4 + 0.45^4).
        "dominantZone": 2,
    }


def test_cycling_metrics_spinner_vector() -> None:
    result = metrics(SPINNER, 100)
    assert result["normalizedPower"] == 87.8
    assert result["intensityFactor"] == 0.878
    assert round(result["tss"]) == 72  # type: ignore[call-overload]
    assert result["durationSeconds"] == 56 * 60
    # Nothing above 150 %, so our seven zones count as its six do, with an empty zone 7.
    assert result["timeInZones"] == [1920, 120, 120, 60, 1080, 60, 0]
    assert result["dominantZone"] == 5


@pytest.mark.parametrize(
    ("watts", "expected"),
    [
        (120, 2),  # 60 min at 60 % with 1 min at 60 %: endurance
        (230, 2),  # cycling-metrics: 1 min at 115 % is too short to be the point of an hour at 60 %
        (250, 6),  # cycling-metrics: but 1 min at 125 % (zone 6) is
    ],
)
def test_cycling_metrics_dominant_zone_vectors(watts: int, expected: int) -> None:
    # Its vectors are in watts at FTP 200: [[60, 120, 120], [1, watts, watts]].
    assert metrics([[60, 60, 60], [1, watts / 2, watts / 2]], 200)["dominantZone"] == expected


def test_threshold_intervals_are_zone_4_despite_long_easy_time() -> None:
    result = metrics([[15, 50, 50], [10, 95, 95], [5, 50, 50], [10, 95, 95], [20, 45, 45]], 250)
    assert result["timeInZones"][0] > result["timeInZones"][3]  # type: ignore[index]
    assert result["dominantZone"] == 4


def test_fractional_second_segments_blend_and_keep_the_duration() -> None:
    # 1.5 s at 100 % then 2.5 s at 50 %: second 1 averages 75 %; no time lost or gained. (A segment is at
    # least a second: structure.MIN_SEGMENT_MINUTES.)
    profile = power_profile(parse_segments([[1.5 / 60, 100, 100], [2.5 / 60, 50, 50]]), 200)
    assert profile.tolist() == [200.0, 150.0, 100.0, 100.0]
    # 1000 segments of 1.4 s: 1,400 s, not 2,000 (a per-segment ceil) nor 1,000 (a per-segment floor).
    many = planned_metrics(parse_segments([[1.4 / 60, 80, 80]] * 1000), 200)
    assert many.duration_seconds == 1400
    assert many.work_kj == pytest.approx(1400 * 160 / 1000)


def test_last_partial_second_is_averaged_not_stretched() -> None:
    # 61.4 s: 61 samples, the last one averaging the final 1.4 s (the ramp's mean there).
    profile = power_profile(parse_segments([[61.4 / 60, 0, 61.4]]), 100)
    assert len(profile) == 61
    assert profile[0] == pytest.approx(0.5)
    assert profile[-1] == pytest.approx((60 + 61.4) / 2)


def test_short_workout_np_is_average_power() -> None:
    result = planned_metrics(parse_segments([[10 / 60, 80, 100]]), 200)
    assert result.normalized_power == pytest.approx(180)
    assert result.duration_seconds == 10


def test_np_never_below_average_for_an_edge_spike() -> None:
    # 1 s at 1000 % then 60 s at 100 %: full 30 s windows barely see the spike; NP is held at the average.
    result = planned_metrics(parse_segments([[1 / 60, 1000, 1000], [1, 100, 100]]), 100)
    assert result.normalized_power == pytest.approx((1000 + 60 * 100) / 61)


def test_zero_power_is_counted_not_skipped() -> None:
    # cycling-metrics' moving average skips zero samples; a 0 % block must pull NP down.
    with_rest = metrics([[10, 100, 100], [10, 0, 0], [10, 100, 100]], 100)
    assert with_rest["normalizedPower"] < 90  # type: ignore[operator]
    assert with_rest["timeInZones"] == [600, 0, 0, 1200, 0, 0, 0]


def test_zone_boundaries_follow_athlete_zones() -> None:
    # 55 % is zone 1 and 55.01 % zone 2, exactly as athlete/zones.py classifies watts.
    assert metrics([[1, 55, 55]], 200)["timeInZones"] == [60, 0, 0, 0, 0, 0, 0]
    assert metrics([[1, 55.01, 55.01]], 200)["timeInZones"] == [0, 60, 0, 0, 0, 0, 0]
    assert metrics([[1, 151, 151]], 200)["timeInZones"] == [0, 0, 0, 0, 0, 0, 60]


def test_bad_ftp_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="FTP"):
        planned_metrics(parse_segments([[1, 50, 50]]), 0)
