"""Invariants of the ride metrics, checked with hypothesis on generated series and recordings."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from trainerday_server.activities.metrics import normalized_power, power_curve, ride_metrics
from trainerday_server.activities.recording import DeviceSummary

from .synthetic import ride

watts_series = arrays(np.float64, st.integers(1, 400), elements=st.floats(0, 2500, allow_nan=False))


def mean_max(watts: np.ndarray, seconds: int) -> float:
    """The best average over any window of exactly ``seconds``, by brute force."""
    return max(watts[i : i + seconds].mean() for i in range(watts.size - seconds + 1))


@settings(deadline=None)  # brute force is slow, and the machine is shared
@given(watts_series)
def test_power_curve_is_exact_and_non_increasing(watts):
    curve = power_curve(watts)
    assert curve.seconds[-1] == watts.size
    assert all(a >= b for a, b in zip(curve.watts, curve.watts[1:], strict=False))
    exact = [mean_max(watts, seconds) for seconds in curve.seconds]
    for i, value in enumerate(curve.watts):
        held = max(exact[i:])  # the best of this duration and every longer one
        assert abs(value - held) <= 1e-9 * max(1.0, held)
        assert value >= exact[i] - 1e-9 * max(1.0, held)


def test_power_curve_never_claims_less_than_was_held():
    # The mean-maximal power rises here (1.5 W over 2 s, 1.67 W over 3 s): 1.67 W was held for 2 s and more.
    assert power_curve(np.array([2.0, 1.0, 2.0])).watts == [2.0, 5 / 3, 5 / 3]


@given(watts_series)
def test_power_curve_ends_are_max_and_mean(watts):
    curve = power_curve(watts)
    assert abs(curve.watts[0] - watts.max()) <= 1e-9 * max(1.0, watts.max())
    assert abs(curve.watts[-1] - watts.mean()) <= 1e-9 * max(1.0, watts.mean())


@given(arrays(np.float64, st.integers(30, 600), elements=st.floats(0, 2500, allow_nan=False)))
def test_normalized_power_is_a_fourth_power_mean_of_the_rolling_average(watts):
    rolling = np.convolve(watts, np.ones(30) / 30, mode="valid")
    np_watts = normalized_power(watts)
    assert np_watts is not None
    # The power-mean inequality: NP is at least the mean of the rolling averages, and at most their max.
    assert rolling.mean() - 1e-6 <= np_watts <= rolling.max() + 1e-6


@given(st.floats(50, 600), arrays(np.float64, st.integers(600, 3600), elements=st.floats(-0.05, 0.05)))
def test_normalized_power_of_a_steady_ride_is_at_least_its_average(level, wobble):
    # NP >= average is not a theorem: the first and last 29 s weigh less in the rolling mean. For a steady
    # ride (within 5 %) of 10 minutes or more, that end effect is below 1 %.
    watts = level * (1 + wobble)
    np_watts = normalized_power(watts)
    assert np_watts is not None
    assert 0.99 * watts.mean() <= np_watts <= watts.max() * (1 + 1e-12)


@given(st.floats(50, 600))
def test_an_hour_at_ftp_is_100_tss_at_any_ftp(ftp):
    result = ride_metrics(ride(power=np.full(3600, ftp)), ftp)
    assert result.tss is not None and abs(result.tss - 100) < 1e-6
    assert result.intensity_factor is not None and abs(result.intensity_factor - 1) < 1e-9
    assert result.time_in_power_zones == [0, 0, 0, 3600, 0, 0, 0]


# Sample spacing as real files have it: mostly 1 s, duplicates, sub-second, smart recording, pauses, gaps.
steps = st.sampled_from([0.0, 0.3, 1.0, 1.0, 1.0, 1.0, 2.0, 5.0, 9.0, 15.0, 120.0])


@st.composite
def recordings(draw, *, dirty: bool = True, with_summary: bool = False):
    n = draw(st.integers(1, 300))
    time = np.cumsum([0.0, *draw(st.lists(steps, min_size=n - 1, max_size=n - 1))])
    span = float(time[-1])
    pause_starts = draw(st.lists(st.floats(0, span), max_size=3))
    pauses = [(start, start + draw(st.floats(0.5, 200))) for start in pause_starts]

    def channel(low: float, high: float, clean: tuple[float, float]) -> np.ndarray:
        odd = st.sampled_from([np.nan, np.inf, -np.inf])
        elements = st.one_of(st.floats(low, high), odd) if dirty else st.floats(*clean)
        return draw(arrays(np.float64, n, elements=elements))

    power = channel(-50, 30000, (1, 1400))
    heart_rate = channel(0, 300, (40, 220))
    extra = {}
    if draw(st.booleans()):
        extra["speed"] = draw(arrays(np.float64, n, elements=st.floats(0, 20)))
    if draw(st.booleans()):
        extra["altitude"] = draw(arrays(np.float64, n, elements=st.floats(-1000, 10000)))
    summary = draw(st.none() | device_summaries(span)) if with_summary else None
    return ride(time, pauses=pauses, power=power, heartRate=heart_rate, summary=summary, **extra)


@st.composite
def device_summaries(draw, span: float) -> DeviceSummary:
    """A head unit's summary of a ride whose records span ``span`` seconds: times near the span (as a
    device reports them, a little off, or far off) or nonsense, other figures anything."""

    def seconds() -> float | None:
        near = st.floats(0.5, 1.05).map(lambda f: f * span)
        return draw(st.none() | near | st.floats(span - 3, span + 3) | st.floats(allow_nan=True))

    anything = st.none() | st.floats(allow_nan=True, allow_infinity=True)
    return DeviceSummary(
        elapsed_seconds=seconds(),
        timer_seconds=seconds(),
        distance_meters=draw(anything),
        average_power=draw(anything),
        max_power=draw(anything),
        average_heart_rate=draw(anything),
        max_heart_rate=draw(anything),
    )


@settings(max_examples=300, deadline=None)
@given(recordings())
def test_any_recording_gives_consistent_json(recording):
    result = ride_metrics(recording, 250, lthr=170, timezone="Europe/Paris")
    payload = result.to_json()
    json.dumps(payload, allow_nan=False)  # no NaN or infinity leaks into the API
    assert 0 <= result.moving_seconds <= result.timer_seconds <= result.elapsed_seconds
    for zones in (payload["timeInPowerZones"], payload["timeInHeartRateZones"]):
        assert zones is None or sum(zones) <= result.timer_seconds
    curve = payload["powerCurve"]
    if curve is not None:
        assert curve["watts"] == sorted(curve["watts"], reverse=True)
        assert curve["watts"][0] <= 3000 and curve["seconds"][-1] <= result.timer_seconds
        assert curve["watts"][0] == payload["maxPower"]  # the 1 s point is the maximum
    if result.average_speed is not None:
        assert result.max_speed is not None and result.average_speed <= result.max_speed
    if result.average_power is not None:  # a power channel that is not all zeros
        assert result.max_power is not None and result.max_power > 0


@settings(max_examples=200, deadline=None)
@given(recordings(dirty=False))
def test_zones_sum_to_the_riding_seconds(recording):
    # Power above zero on every sample: every timer second is moving and has power and heart rate.
    result = ride_metrics(recording, 250, lthr=170)
    assert result.moving_seconds == result.timer_seconds
    if result.timer_seconds == 0:  # paused from start to end
        assert result.time_in_power_zones is result.power_curve is result.average_power is None
        return
    assert result.time_in_power_zones is not None and result.time_in_heart_rate_zones is not None
    assert sum(result.time_in_power_zones) == result.moving_seconds
    assert sum(result.time_in_heart_rate_zones) == result.moving_seconds
    assert result.power_curve is not None and result.power_curve.seconds[-1] == result.moving_seconds
    assert result.average_power is not None
    assert abs(result.power_curve.watts[-1] - result.average_power) <= 1e-9 * result.average_power


@settings(max_examples=400, deadline=None)
@given(recordings(with_summary=True))
def test_moving_time_within_timer_time_within_elapsed_time_with_or_without_a_device_summary(recording):
    result = ride_metrics(recording, 250)
    assert 0 <= result.moving_seconds <= result.timer_seconds <= result.elapsed_seconds
    payload = result.to_json()  # whole seconds in the API, still in order
    assert 0 <= payload["movingSeconds"] <= payload["timerSeconds"] <= payload["elapsedSeconds"]
    # The device's summary changes nothing but the warnings: every figure is the records'.
    counted = ride_metrics(dataclasses.replace(recording, summary=None), 250)
    assert result.to_json() | {"warnings": None, "deviceSummary": None} == counted.to_json() | {
        "warnings": None,
        "deviceSummary": None,
    }
    json.dumps(payload, allow_nan=False)
