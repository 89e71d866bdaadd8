"""Property tests: metric invariants and format round trips over generated workouts."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from trainerday_server.workouts.formats import export_workout, import_workout
from trainerday_server.workouts.metrics import planned_metrics, power_profile
from trainerday_server.workouts.structure import SEGMENT_TYPES, Segment, Workout

words = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9,.!'&<>]{0,8}( [A-Za-z0-9,.!'&<>]{1,8}){0,4}", fullmatch=True)
cadences = st.none() | st.integers(40, 130)


@st.composite
def segments(draw: st.DrawFn, *, whole_percent: bool = False, ramps: bool = True) -> Segment:
    seconds = draw(st.integers(1, 40 * 60))
    # 0 (rest) or from 1 % of FTP: below that is no effort (structure.MIN_PERCENT)
    percent = (
        st.integers(0, 400) if whole_percent else st.integers(0, 40000).map(lambda p: p // 100 and p / 100)
    )
    start = draw(percent)
    end = draw(percent) if ramps and draw(st.booleans()) else start
    return Segment(
        minutes=seconds / 60,
        start=start,
        end=end,
        cadence_start=draw(cadences),
        cadence_end=draw(cadences),
        type=draw(st.none() | st.sampled_from(sorted(SEGMENT_TYPES))),
        text=draw(st.none() | words),
    )


def workouts(**options: bool) -> st.SearchStrategy[Workout]:
    return st.builds(
        Workout,
        title=words,
        description=words,
        tags=st.lists(words, max_size=3, unique=True).map(tuple),
        segments=st.lists(segments(**options), min_size=1, max_size=30).map(tuple),
    )


ftps = st.integers(50, 600)


# --- metrics ------------------------------------------------------------------------------------------------


@given(ftp=ftps)
def test_an_hour_at_ftp_is_100_tss_at_any_ftp(ftp: int) -> None:
    assert planned_metrics([Segment(60, 100, 100)], ftp).tss == pytest.approx(100, abs=1e-6)


@settings(max_examples=100)
@given(workout=workouts(), ftp=ftps)
def test_metric_invariants(workout: Workout, ftp: int) -> None:
    metrics = planned_metrics(workout.segments, ftp)
    seconds = workout.minutes * 60
    assert metrics.duration_seconds == max(1, round(seconds))
    assert sum(metrics.time_in_zones) == metrics.duration_seconds
    work = sum(s.seconds * (s.start + s.end) / 2 * ftp / 100 for s in workout.segments)
    assert metrics.work_kj == pytest.approx(work / 1000, rel=1e-9, abs=1e-9)
    average = work / seconds
    assert metrics.normalized_power >= average * (1 - 1e-9)
    assert metrics.normalized_power <= max(max(s.start, s.end) for s in workout.segments) * ftp / 100 + 1e-9
    assert metrics.intensity_factor == pytest.approx(metrics.normalized_power / ftp)
    assert metrics.tss == pytest.approx(seconds * metrics.intensity_factor**2 / 36)
    assert metrics.time_in_zones[metrics.dominant_zone - 1] > 0


@settings(max_examples=100)
@given(workout=workouts(), ftp=ftps, other=ftps)
def test_relative_metrics_do_not_depend_on_ftp(workout: Workout, ftp: int, other: int) -> None:
    a, b = planned_metrics(workout.segments, ftp), planned_metrics(workout.segments, other)
    assert a.intensity_factor == pytest.approx(b.intensity_factor, rel=1e-9, abs=1e-12)
    assert a.tss == pytest.approx(b.tss, rel=1e-9, abs=1e-12)
    assert a.normalized_power * other == pytest.approx(b.normalized_power * ftp, rel=1e-9, abs=1e-9)
    assert a.dominant_zone == b.dominant_zone


@given(workout=workouts(), ftp=ftps)
def test_profile_integrates_to_the_work(workout: Workout, ftp: int) -> None:
    profile = power_profile(workout.segments, ftp)
    seconds = workout.minutes * 60
    last = seconds - (len(profile) - 1)  # the last sample's span
    total = math.fsum(profile[:-1]) + profile[-1] * last
    assert total / 1000 == pytest.approx(planned_metrics(workout.segments, ftp).work_kj, rel=1e-9, abs=1e-9)


# --- round trips --------------------------------------------------------------------------------------------


def same_time(a: float, b: float) -> bool:
    return abs(a - b) * 60 <= 0.001 + 1e-9  # the millisecond all formats keep


@settings(max_examples=75)
@given(workout=workouts())
def test_zwo_round_trip(workout: Workout) -> None:
    back = import_workout(export_workout(workout, "zwo").content, "x.zwo")
    assert (back.title, back.description, back.tags) == (workout.title, workout.description, workout.tags)
    assert len(back.segments) == len(workout.segments)
    for before, after in zip(workout.segments, back.segments, strict=True):
        assert same_time(before.minutes, after.minutes)
        assert (after.start, after.end, after.text) == (before.start, before.end, before.text)
        assert (after.cadence_start, after.cadence_end) == (before.cadence_start, before.cadence_end)
        if before.type in ("warmup", "cooldown", "freeride"):
            assert after.type == before.type
        else:  # ZWO has no such types: SteadyState/Ramp read back untyped, IntervalsT as active/rest
            assert after.type in (None, "active", "rest")


@settings(max_examples=75)
@given(workout=workouts(), fmt=st.sampled_from(["mrc", "erg"]), ftp=ftps)
# 481 s is 8.01666... minutes, which times 60 is a hair over 481 s: the text at 481 s once fell to segment 1.
@example(Workout(title="0", segments=(Segment(481 / 60, 0, 0), Segment(1 / 60, 0, 0, text="0"))), "mrc", 50)
def test_course_round_trip(workout: Workout, fmt: str, ftp: int) -> None:
    back = import_workout(export_workout(workout, fmt, ftp=ftp).content, f"x.{fmt}")
    assert (back.title, back.description, back.tags) == (workout.title, workout.description, ())
    assert len(back.segments) == len(workout.segments)
    assert same_time(back.minutes, workout.minutes)  # rounding does not add up along the course
    for before, after in zip(workout.segments, back.segments, strict=True):
        assert same_time(before.minutes, after.minutes)
        assert (after.start, after.end, after.text) == (before.start, before.end, before.text)
        assert (after.cadence_start, after.cadence_end, after.type) == (None, None, None)  # no room for them


@settings(max_examples=75)
@given(workout=workouts(whole_percent=True, ramps=False))
def test_fit_round_trip_of_steady_whole_percent_segments(workout: Workout) -> None:
    back = import_workout(export_workout(workout, "fit").content, "x.fit")
    assert (back.title, back.description) == (workout.title, workout.description)
    assert len(back.segments) == len(workout.segments)
    for before, after in zip(workout.segments, back.segments, strict=True):
        assert same_time(before.minutes, after.minutes)
        assert (after.start, after.end, after.text) == (before.start, before.end, before.text)
        cadences = [c for c in (before.cadence_start, before.cadence_end) if c is not None]
        expected = (min(cadences), max(cadences)) if cadences else (None, None)  # FIT keeps a range
        assert (after.cadence_start, after.cadence_end) == expected
        assert after.type == before.type


@settings(max_examples=100)
@given(workout=workouts(whole_percent=True))
def test_fit_round_trip_turns_ramps_into_staircases(workout: Workout) -> None:
    back = list(import_workout(export_workout(workout, "fit").content, "x.fit").segments)
    for segment in workout.segments:
        # The steps of this segment are the next ones whose durations add up to its own.
        steps, seconds = [], 0.0
        while seconds < segment.seconds - 1e-6:
            steps.append(back.pop(0))
            seconds += steps[-1].seconds
        assert seconds == pytest.approx(segment.seconds, abs=1e-6)
        assert steps[0].text == segment.text and {s.type for s in steps} == {segment.type}
        if not segment.is_ramp or segment.type == "freeride":
            assert [(s.start, s.end) for s in steps] == [(segment.start, segment.end)]
            continue
        values = [s.start for s in steps]
        assert all(s.start == s.end for s in steps)
        assert values == sorted(values, reverse=segment.end < segment.start)  # a staircase the ramp's way
        low, high = sorted((segment.start, segment.end))
        assert low <= values[0] + 0.5 and values[-1] - 0.5 <= high
        # Each step is the ramp's mean over it to within half a percent, so work moves by at most that.
        work = sum(s.seconds * s.start for s in steps)
        assert abs(work - segment.seconds * (segment.start + segment.end) / 2) <= 0.5 * segment.seconds + 1e-6
    assert back == []
