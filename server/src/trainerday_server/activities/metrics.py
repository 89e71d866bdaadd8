"""Ride metrics from a decoded Recording: times, distance, climbing, power, heart rate, zones, power curve.

Pure and vectorised (numpy): a 10-hour 1 Hz ride takes a few milliseconds.

How the samples become a 1 Hz ride (the timer series)
-----------------------------------------------------
One definition for FIT, TCX and GPX alike (``timer_series``):

1. **Impossible samples are dropouts.** Values outside physical limits (power above 3,000 W or below 0,
   heart rate outside 20-250 bpm, a position at 0°, 0°, ...) are removed, and ``warnings`` says how many.
   A heart rate of 0 is a strap's dropout, removed silently. A distance that jumps faster than any rider
   (a counter reading 1,000,000 m for a while) adds nothing, with a warning; a drop of more than 500 m is
   a restarted counter.
2. **The timer seconds.** Records fall on whole seconds. Every second from the first record to the last is
   a timer second, except those strictly inside a FIT timer pause and those strictly inside a *stopped*
   gap: a silence of more than ``MAX_GAP_SECONDS`` in a file recorded every second, or, in a smart-recorded
   file (records typically more than a second apart), a silence across which the distance did not advance
   at a riding speed. Stopped-but-recording seconds (standing at a light with the timer running) count.
3. **Values.** Each timer second holds the values of the last record at or before it; a record lacking a
   channel holds that channel's last value for up to ``MAX_GAP_SECONDS``, beyond which the channel is
   missing there and left out of its figures.
4. **No sensor, no figures.** A channel absent, or reading 0 on every sample (a head unit that writes 0 W
   all ride without a meter), gives null figures: no average, maximum, NP, IF, TSS, work, zones or curve.
5. **Moving.** A timer second is moving when the speed is at least ``MOVING_SPEED_MPS`` or the rider
   pedals (power or cadence above zero); with none of the three known it counts as moving.

The figures
-----------
- ``averagePower``: the mean over the timer seconds with power, zeros included (work / timer time);
  ``averagePowerMoving`` the same over moving seconds. ``maxPower``: the largest second, which is the 1 s
  point of the power curve. NP: 30 s rolling mean of that series, 4th power, mean, 4th root; IF = NP / FTP
  and TSS = seconds x NP x IF / (FTP x 3600) x 100, only for cycling (or an unspecified sport): a run's
  power is not measured against a cycling FTP. Zones and the curve use the same series.
- ``averageHeartRate``: timer seconds with a heart rate; ``averageCadence``: timer seconds with cadence
  above zero (coasting is no cadence). Maxima over the timer seconds.
- Distance: the furthest point of the cleaned distance channel, else measured along the positions (not
  across stopped gaps). ``averageSpeed`` = distance / moving time, never above ``maxSpeed``.
- Elevation gain: as before (smoothed, hysteresis, GPS-settling jumps rejected).
- ``elapsedSeconds`` counts the seconds from the first record to the last; ``timerSeconds`` the timer
  seconds; ``movingSeconds`` those moving. So moving <= timer <= elapsed, and nothing the device wrote
  can make them longer than the records.

The device's own summary
------------------------
A FIT session's figures are kept as written in ``deviceSummary`` and never used for ours; where one differs
from ours by more than 5 %, ``warnings`` says so in one line (``device_warnings``).

Agreement with TrainerDay's reference (trainerday/cycling-metrics)
------------------------------------------------------------------
Normalized Power (30 s rolling mean over whole windows, mean of 4th powers, 4th root), IF = NP / FTP,
TSS = t x NP x IF / (FTP x 3600) x 100, the mean-maximal power (best rolling mean for each duration) and
Coggan's zones are defined as there, and reproduce its test vectors (TSS 100, 50 and 72, IF 0.878, the
spinner workout's zone times, its power curves; see the tests). Differences: the reference returns NP = 0
below 120 s of data, we give NP from 30 s and null below; it rounds NP and IF to two decimals and TSS to a
whole number, we round only in ``to_json``; it interpolates gaps of any length, extrapolates a channel's
ends and treats 0 W as a missing sample, where we hold a sample until the next (at most ``MAX_GAP_SECONDS``
for a channel missing from records), never extrapolate backwards and keep zeros as recorded. (Its newest
TSS test file expects 49 and 71 for two workouts; its own code gives 50 and 72 there, like its older test
file and like us.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from itertools import chain, count, takewhile
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from trainerday_server.activities.recording import DeviceSummary, Recording
from trainerday_server.athlete.zones import HEART_RATE_ZONES, POWER_ZONES, zone_indices
from trainerday_server.errors import ValidationFailed

MAX_GAP_SECONDS = 10.0  # a longer silence is stopped time, unless the distance shows it was ridden
MAX_RIDDEN_GAP_SECONDS = 600  # the longest silence that counts as ridden (smart recording: 10-60 s)
MOVING_SPEED_MPS = 1.0  # 3.6 km/h: slower than walking, faster than GPS drift at a standstill
NP_WINDOW_SECONDS = 30
# Elevation gain: a centred rolling mean takes out sample-to-sample noise, then only climbs of at least the
# hysteresis are counted, each from its valley to its peak, so GPS or barometric jitter adds nothing.
ELEVATION_SMOOTHING_SECONDS = 5
ELEVATION_HYSTERESIS_METERS = 3.0
MAX_VERTICAL_SPEED_MPS = 5.0  # a 25 % descent at 72 km/h; faster altitude changes are glitches
EARTH_RADIUS_METERS = 6_371_008.8
DISTANCE_RESET_METERS = 500.0  # a bigger drop of the distance channel is a restart, a smaller one jitter


@dataclass(frozen=True, slots=True)
class Limit:
    """The physically possible range of a channel; samples outside it are dropouts."""

    label: str
    unit: str
    low: float
    high: float


LIMITS: dict[str, Limit] = {
    "power": Limit("power", "W", 0, 3000),
    "heartRate": Limit("heart-rate", "bpm", 20, 250),
    "cadence": Limit("cadence", "rpm", 0, 250),
    "speed": Limit("speed", "m/s", 0, 50),
    "distance": Limit("distance", "m", 0, 100_000_000),
    "altitude": Limit("altitude", "m", -500, 9000),
    "latitude": Limit("latitude", "°", -90, 90),
    "longitude": Limit("longitude", "°", -180, 180),
    "temperature": Limit("temperature", "°C", -60, 70),
}


@dataclass(frozen=True, slots=True)
class PowerCurve:
    """For each duration (seconds), the best average power (watts) held over a stretch at least that long."""

    seconds: list[int]
    watts: list[float]

    def to_json(self) -> dict[str, list[Any]]:
        return {"seconds": self.seconds, "watts": [round(w, 1) for w in self.watts]}


@dataclass(slots=True)
class RideMetrics:
    """The summary of one ride. SI units; ``None`` where the recording lacks what a figure needs."""

    start_time: datetime  # UTC
    start_time_local: datetime  # the same instant in the athlete's time zone
    elapsed_seconds: float
    timer_seconds: float
    moving_seconds: float  # the timer time less the seconds the records show stopped
    distance_meters: float | None
    elevation_gain_meters: float | None
    average_speed: float | None  # m/s, distance over moving time
    max_speed: float | None
    average_power: float | None  # over every timer second with power, zeros included
    average_power_moving: float | None  # over the moving seconds only (Strava's view)
    max_power: float | None
    normalized_power: float | None
    intensity_factor: float | None
    tss: float | None
    work_kj: float | None
    average_heart_rate: float | None
    max_heart_rate: float | None
    average_cadence: float | None
    variability_index: float | None
    time_in_power_zones: list[int] | None  # seconds in Coggan zones 1..7
    time_in_heart_rate_zones: list[int] | None  # seconds in zones 1..5
    power_curve: PowerCurve | None
    device_summary: DeviceSummary | None = None  # the device's own figures, as written
    warnings: list[str] = field(default_factory=list)  # the recording's own, then those of the metrics

    def to_json(self) -> dict[str, Any]:
        """The API shape: camelCase names, whole seconds, sensible rounding."""
        return {
            "startTime": _iso(self.start_time),
            "startTimeLocal": _iso(self.start_time_local),
            "elapsedSeconds": round(self.elapsed_seconds),
            "timerSeconds": round(self.timer_seconds),
            "movingSeconds": round(self.moving_seconds),
            "distanceMeters": _round(self.distance_meters, 1),
            "elevationGainMeters": _round(self.elevation_gain_meters, 1),
            "averageSpeed": _round(self.average_speed, 3),
            "maxSpeed": _round(self.max_speed, 3),
            "averagePower": _round(self.average_power, 1),
            "averagePowerMoving": _round(self.average_power_moving, 1),
            "maxPower": _round(self.max_power, 1),
            "normalizedPower": _round(self.normalized_power, 1),
            "intensityFactor": _round(self.intensity_factor, 3),
            "tss": _round(self.tss, 1),
            "workKj": _round(self.work_kj, 1),
            "averageHeartRate": _round(self.average_heart_rate, 1),
            "maxHeartRate": _round(self.max_heart_rate, 1),
            "averageCadence": _round(self.average_cadence, 1),
            "variabilityIndex": _round(self.variability_index, 3),
            "timeInPowerZones": self.time_in_power_zones,
            "timeInHeartRateZones": self.time_in_heart_rate_zones,
            "powerCurve": self.power_curve.to_json() if self.power_curve else None,
            "deviceSummary": self.device_summary.to_json() if self.device_summary else None,
            "warnings": self.warnings,
        }


def ride_metrics(
    recording: Recording, ftp: float | None, lthr: float | None = None, timezone: str | tzinfo = "UTC"
) -> RideMetrics:
    """Compute a ride's metrics, every figure from the records over the timer series (module docstring).

    ``ftp`` is the athlete's cycling FTP in force on the ride's date (None: no IF, TSS or power zones; they
    are also left out for sports other than cycling, whose power is not measured against a cycling FTP),
    ``lthr`` the lactate-threshold heart rate (None: no heart-rate zones), ``timezone`` the athlete's IANA
    zone (or a ``tzinfo``, such as the fixed offset a stored ride's local start time carries).
    Raises ValidationFailed for a non-positive threshold, an unknown time zone or a recording without samples.
    """
    zone = timezone if isinstance(timezone, tzinfo) else _time_zone(timezone)
    for name, value in (("ftp", ftp), ("lthr", lthr)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ValidationFailed.single(name, f"must be a positive number, got {value}")
    time = _checked_time(recording)
    warnings = list(recording.warnings)
    channels = _without_dropouts(recording.channels, warnings)
    distance_channel = _clean_distance(time, channels, warnings)
    series = timer_series(
        time, channels, distance_channel, recording.pauses, from_positions="distance" not in channels
    )
    seconds = series.seconds
    power = _meaningful(series.channels.get("power"), "power", "W", warnings)
    heart_rate = _meaningful(series.channels.get("heartRate"), "heart-rate", "bpm", warnings)
    cadence = _meaningful(series.channels.get("cadence"), "cadence", "rpm", warnings)
    speed = series.channels.get("speed")
    moving = _moving(seconds.size, speed, power, cadence)

    ride_power = power[np.isfinite(power)] if power is not None else None
    ride_heart_rate = heart_rate[np.isfinite(heart_rate)] if heart_rate is not None else None
    np_watts = normalized_power(ride_power) if ride_power is not None else None
    against_ftp = ftp if _measured_against_ftp(recording.sport) else None
    intensity = tss = None
    if np_watts is not None and ride_power is not None and against_ftp is not None:
        intensity = np_watts / against_ftp
        tss = ride_power.size * np_watts * intensity / (against_ftp * 3600) * 100
    average_power = _mean(ride_power)
    moving_power = power[moving & np.isfinite(power)] if power is not None else None

    elapsed = float(series.elapsed_seconds)
    timer = float(seconds.size)
    moving_seconds = float(np.count_nonzero(moving))
    distance = series.distance_meters
    max_speed = _max(speed)
    average_speed = distance / moving_seconds if distance is not None and moving_seconds else None
    if average_speed is not None and max_speed is not None and average_speed > max_speed:
        # Only where the speed channel and the distance channel disagree (two sensors); never report an
        # average above the maximum.
        warnings.append(
            f"the distance over moving time ({average_speed:.2f} m/s) exceeds the speed channel's maximum "
            f"({max_speed:.2f} m/s); the maximum is reported as the average"
        )
        average_speed = max_speed
    if max_speed is None and average_speed is not None:
        max_speed = average_speed
    cadence_pedalling = cadence[cadence > 0] if cadence is not None else None
    result_warnings = warnings
    device_warnings(
        recording.summary,
        result_warnings,
        elapsed=elapsed,
        timer=timer,
        distance=distance,
        average_power=average_power,
        max_power=_max(power),
        normalized_power=np_watts,
        average_heart_rate=_mean(ride_heart_rate),
        max_heart_rate=_max(heart_rate),
        work_kj=float(np.nansum(power)) / 1000 if power is not None else None,
    )
    start = recording.start_time.astimezone(UTC)
    return RideMetrics(
        start_time=start,
        start_time_local=start.astimezone(zone),
        elapsed_seconds=elapsed,
        timer_seconds=timer,
        moving_seconds=moving_seconds,
        distance_meters=distance,
        elevation_gain_meters=_elevation_gain(
            _resample(time, channels["altitude"], seconds) if "altitude" in channels else None, seconds
        ),
        average_speed=average_speed,
        max_speed=max_speed,
        average_power=average_power,
        average_power_moving=_mean(moving_power),
        max_power=_max(power),
        normalized_power=np_watts,
        intensity_factor=intensity,
        tss=tss,
        work_kj=float(np.nansum(power)) / 1000 if power is not None else None,
        average_heart_rate=_mean(ride_heart_rate),
        max_heart_rate=_max(heart_rate),
        average_cadence=_mean(cadence_pedalling),
        variability_index=np_watts / average_power if np_watts is not None and average_power else None,
        time_in_power_zones=_time_in_zones(ride_power, against_ftp, POWER_ZONES),
        time_in_heart_rate_zones=_time_in_zones(ride_heart_rate, lthr, HEART_RATE_ZONES),
        power_curve=power_curve(ride_power) if ride_power is not None and ride_power.size else None,
        device_summary=recording.summary,
        warnings=result_warnings,
    )


# Sports whose power is measured against the (cycling) FTP; None: the file does not say, as most exports.
FTP_SPORTS = frozenset({None, "cycling", "e_biking", "training", "generic"})


def _measured_against_ftp(sport: str | None) -> bool:
    return sport in FTP_SPORTS


def normalized_power(watts: np.ndarray) -> float | None:
    """Coggan's Normalized Power of a 1 Hz series: 30 s rolling mean, mean of 4th powers, 4th root.

    Only whole windows count (as in TrainerDay's reference). None below 30 s of data.
    """
    if watts.size < NP_WINDOW_SECONDS:
        return None
    rolling = _window_sums(_cumulative(watts), NP_WINDOW_SECONDS) / NP_WINDOW_SECONDS
    return float(np.mean(rolling**4) ** 0.25)


def curve_durations(length: int) -> list[int]:
    """Durations of the power curve: every second to 1 min, then 10 s steps to 5 min, minutes to 20 min,
    5 min to 1 h, 15 min to 3 h and half hours beyond, and the whole length last."""
    ladder = chain(
        range(1, 61),
        range(70, 301, 10),
        range(360, 1201, 60),
        range(1500, 3601, 300),
        range(4500, 10801, 900),
        count(12600, 1800),
    )
    durations = list(takewhile(lambda d: d < length, ladder))
    return [*durations, length] if length > 0 else []


def power_curve(watts: np.ndarray) -> PowerCurve:
    """The power curve of a 1 Hz series at ``curve_durations``: for each duration, the best average power
    held over any stretch at least that long, so it never rises by construction.

    Each duration's mean-maximal power is exact (every window, O(n) per duration with cumulative sums).
    The mean-maximal power itself can rise with duration: over [2, 1, 2] W the best 2 s average is 1.5 W
    and the 3 s average 1.67 W. Taking, for each duration, the best of it and all longer ones fixes that
    without ever claiming an average that was not held.
    """
    if watts.size == 0:
        return PowerCurve([], [])
    sums = _cumulative(watts)
    durations = curve_durations(watts.size)
    # No mean exceeds the series' maximum, whatever the cumulative sums' last-bit rounding says.
    best = np.minimum([_window_sums(sums, d).max() / d for d in durations], watts.max())
    return PowerCurve(durations, np.maximum.accumulate(best[::-1])[::-1].tolist())


# --- the timeline -----------------------------------------------------------------------------------------


def _checked_time(recording: Recording) -> np.ndarray:
    time = np.asarray(recording.time, dtype=np.float64)
    if time.ndim != 1 or time.size == 0:
        raise ValidationFailed.single("recording", "has no samples")
    if not np.isfinite(time).all() or (np.diff(time) < 0).any():
        raise ValueError("Recording.time must be finite and non-decreasing")
    if recording.start_time.tzinfo is None:
        raise ValueError("Recording.start_time must be timezone-aware")
    for name, values in recording.channels.items():
        if values.shape != time.shape:
            raise ValueError(f"channel {name!r} has {values.shape} samples, time has {time.shape}")
    return time


@dataclass(frozen=True, slots=True)
class TimerSeries:
    """The ride at 1 Hz: the timer seconds and each channel's value in them (NaN where it has none)."""

    seconds: np.ndarray  # int64 seconds since start_time, increasing
    channels: dict[str, np.ndarray]  # float64 like ``seconds``
    elapsed_seconds: int  # seconds from the first record's to the last's, both counted
    distance_meters: float | None


def timer_series(
    time: np.ndarray,
    channels: dict[str, np.ndarray],
    distance: np.ndarray | None,
    pauses: list[tuple[float, float]],
    *,
    from_positions: bool = False,
) -> TimerSeries:
    """The 1 Hz timer series of a recording (channels already cleaned, ``distance`` the cleaned cumulative
    distance aligned with ``time``, or None).

    Records fall on whole seconds (rounded); several in one second merge, the last valid value of each
    channel winning. Every second from the first record to the last belongs to the timer, except those
    strictly inside a timer pause and those strictly inside a *stopped* gap: a silence of more than
    MAX_GAP_SECONDS across which the distance did not advance at a riding speed (in a smart-recorded file,
    whose records are more than a second apart, long gaps while moving are ridden, up to
    MAX_RIDDEN_GAP_SECONDS). Each timer second holds the values of the
    last record at or before it. Speed, where the file has none, is the distance covered to the next record
    over the time to it. A record that lacks a channel holds that channel's last value for up to
    MAX_GAP_SECONDS; beyond that (a sensor that lost its link) the channel is missing and left out of its
    figures.
    """
    record_seconds = np.rint(time).astype(np.int64)
    record_seconds -= record_seconds[0]
    unique = record_seconds[np.r_[True, np.diff(record_seconds) != 0]]  # time is in order
    merged = {name: _last_per_second(record_seconds, values, unique) for name, values in channels.items()}
    merged_distance = _last_per_second(record_seconds, distance, unique) if distance is not None else None

    gaps = np.diff(unique)
    stopped = gaps > MAX_GAP_SECONDS
    # Only a smart-recorded file (records further apart than a second, typically) has ridden gaps: in a
    # file recorded every second, a long silence is a pause, whatever the positions say (riding on with the
    # timer stopped, GPS lost).
    smart = gaps.size > 0 and 2 * int(np.count_nonzero(gaps > 1)) >= gaps.size  # the median gap over 1 s
    if smart and merged_distance is not None and stopped.any():
        with np.errstate(invalid="ignore"):
            gap_speed = np.diff(merged_distance) / np.maximum(gaps, 1)
            ridden = (
                (gap_speed >= MOVING_SPEED_MPS)
                & (gap_speed <= LIMITS["speed"].high)
                & (gaps <= MAX_RIDDEN_GAP_SECONDS)
            )
        stopped &= ~ridden
    if from_positions and merged_distance is not None:
        # A head unit counts no distance while stopped; positions do move (riding on with the timer off).
        valid = np.flatnonzero(np.isfinite(merged_distance))
        steps, spans = np.diff(merged_distance[valid]), np.diff(unique[valid])
        with np.errstate(invalid="ignore", divide="ignore"):
            ridden = smart & (steps / spans >= MOVING_SPEED_MPS) & (spans <= MAX_RIDDEN_GAP_SECONDS)
        steps[(spans > MAX_GAP_SECONDS) & ~ridden] = 0.0
        merged_distance[valid] = merged_distance[valid[0]] + np.r_[0.0, np.cumsum(steps)]
    # Stretches of contiguous timer seconds, broken at the stopped gaps.
    breaks = np.flatnonzero(stopped)
    first = unique[np.r_[0, breaks + 1]]
    last = unique[np.r_[breaks, unique.size - 1]]
    lengths = last - first + 1
    seconds = np.repeat(first - np.cumsum(np.r_[0, lengths[:-1]]), lengths) + np.arange(lengths.sum())
    seconds = seconds[~_paused(seconds, pauses)]
    holder = np.searchsorted(unique, seconds, side="right") - 1  # the last record at or before
    held = {name: _held(values, unique, holder, seconds) for name, values in merged.items()}
    if "speed" not in held and merged_distance is not None and unique.size >= 2:
        with np.errstate(invalid="ignore"):
            ahead = np.r_[np.diff(merged_distance) / gaps, np.nan]
        ahead[~((ahead >= 0) & (ahead <= LIMITS["speed"].high))] = np.nan
        if _has(ahead):
            held["speed"] = ahead[holder]
    total = None
    if merged_distance is not None and _has(merged_distance):
        total = float(np.nanmax(merged_distance))
    return TimerSeries(seconds, held, int(unique[-1] - unique[0] + 1), total)


def _held(values: np.ndarray, unique: np.ndarray, holder: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """A channel on the timer seconds: the value of the holding record, or, where that record lacks the
    channel, the channel's last value if at most MAX_GAP_SECONDS old (a sensor skipping a record)."""
    valid = np.isfinite(values)
    if valid.all():
        return values[holder]
    index = np.where(valid, np.arange(values.size), -1)
    last_valid = np.maximum.accumulate(index)[holder]
    usable = (last_valid == holder) | (
        (last_valid >= 0) & (seconds - unique[np.maximum(last_valid, 0)] <= MAX_GAP_SECONDS)
    )
    return np.where(usable, values[np.maximum(last_valid, 0)], np.nan)


def _last_per_second(record_seconds: np.ndarray, values: np.ndarray, unique: np.ndarray) -> np.ndarray:
    """For each of ``unique`` seconds, the last valid value of the records in it (NaN if none)."""
    if unique.size == record_seconds.size:  # one record a second, the usual case
        return np.array(values, dtype=np.float64)
    valid = np.isfinite(values)
    at, kept = record_seconds[valid], values[valid]
    out = np.full(unique.size, np.nan)
    if at.size:
        last = np.r_[np.diff(at) != 0, True]
        out[np.searchsorted(unique, at[last])] = kept[last]
    return out


def _paused(seconds: np.ndarray, pauses: list[tuple[float, float]]) -> np.ndarray:
    """True for the seconds strictly inside a timer pause: records at the stop and at the start count, as
    head units count their power into the ride's work."""
    spans = sorted((start, end) for start, end in pauses if end > start)
    if not spans:
        return np.zeros(seconds.size, dtype=bool)
    starts = np.array([s for s, _ in spans])
    ends = np.maximum.accumulate(np.array([e for _, e in spans]))  # overlapping pauses merge
    index = np.searchsorted(starts, seconds, side="left") - 1  # the last pause starting before
    return (index >= 0) & (seconds < ends[np.maximum(index, 0)])


def _resample(time: np.ndarray, values: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """A channel on the timeline: linear between its own valid samples at most MAX_GAP_SECONDS apart."""
    valid = np.isfinite(values)
    t, v = time[valid], values[valid]
    if t.size == 0:
        return np.full(seconds.size, np.nan)
    last_of_each_time = np.r_[np.diff(t) > 0, True]  # several samples at one time: the last one holds
    t, v = t[last_of_each_time], v[last_of_each_time]
    at = seconds.astype(np.float64)
    after = np.searchsorted(t, at, side="right")  # t[after - 1] <= at < t[after]
    prev = t[np.maximum(after - 1, 0)]
    next_ = t[np.minimum(after, t.size - 1)]
    has_prev, has_next = after > 0, after < t.size
    near = (has_prev & (at - prev <= 0.5)) | (has_next & (next_ - at <= 0.5))
    bridged = has_prev & has_next & (next_ - prev <= MAX_GAP_SECONDS)
    out = np.interp(at, t, v)
    out[~(near | bridged)] = np.nan
    return out


def _moving(
    size: int, speed: np.ndarray | None, power: np.ndarray | None, cadence: np.ndarray | None
) -> np.ndarray:
    """Moving: speed at least MOVING_SPEED_MPS, or pedalling (power or cadence above zero); a second with
    none of the three known counts as moving, since the timer ran."""
    if speed is not None and not np.nanmax(speed, initial=0.0) >= MOVING_SPEED_MPS:
        speed = None  # a trainer that reports 0 km/h throughout says nothing about moving
    known = np.zeros(size, dtype=bool)
    moving = np.zeros(size, dtype=bool)
    for values, threshold in ((speed, MOVING_SPEED_MPS), (power, 1e-9), (cadence, 1e-9)):
        if values is not None:
            known |= np.isfinite(values)
            moving |= values >= threshold
    return moving | ~known


# --- channels ---------------------------------------------------------------------------------------------


def _without_dropouts(channels: dict[str, np.ndarray], warnings: list[str]) -> dict[str, np.ndarray]:
    """Copies of the channels with impossible samples set to NaN, each kind counted in ``warnings``."""
    cleaned: dict[str, np.ndarray] = {}
    for name, raw in channels.items():
        values = np.array(raw, dtype=np.float64)
        if name == "heartRate":
            values[values == 0] = np.nan  # a strap's dropout, not a heart rate
        limit = LIMITS.get(name)
        if limit is not None:
            with np.errstate(invalid="ignore"):
                below, above = values < limit.low, values > limit.high
            for bad, words in ((below, f"below {limit.low:,g}"), (above, f"above {limit.high:,g}")):
                n = int(bad.sum())
                if n:
                    values[bad] = np.nan
                    warnings.append(f"{_count(n, limit.label + ' sample')} {words} {limit.unit} ignored")
        if _has(values):
            cleaned[name] = values
    lat, lon = cleaned.get("latitude"), cleaned.get("longitude")
    if lat is not None and lon is not None:
        null_island = (lat == 0) & (lon == 0)  # written by some devices before the first GPS fix
        n = int(null_island.sum())
        if n:
            lat[null_island] = lon[null_island] = np.nan
            warnings.append(f"{_count(n, 'position')} at 0°, 0° ignored")
    return cleaned


def _clean_distance(
    time: np.ndarray, channels: dict[str, np.ndarray], warnings: list[str]
) -> np.ndarray | None:
    """The cumulative distance (m, from 0 at the first record) aligned with ``time``, NaN where a record has
    none: the distance channel cleaned, else measured along the positions; None without either.

    A step faster than the speed limit is a dropout (a glitch, a counter jumping to 1,000,000 m) and adds
    nothing; a drop of more than DISTANCE_RESET_METERS is a restarted counter (a chained file) and the count
    goes on from where it was; smaller drops (two sensors interleaved) are kept, and the ride's distance is
    the furthest point reached. A first value above DISTANCE_RESET_METERS is an offset, not ridden.
    """
    limit = LIMITS["speed"].high
    source = channels.get("distance")
    words = "distance"
    if source is None:
        lat, lon = channels.get("latitude"), channels.get("longitude")
        if lat is None or lon is None:
            return None
        source, words = _along_positions(lat, lon), "position"
        if source is None:
            return None
    valid = np.flatnonzero(np.isfinite(source))
    if valid.size == 0:
        return None
    if valid.size >= 3:  # one sample far ahead and straight back: that sample is a dropout
        ahead = np.diff(source[valid])
        too_fast = ahead[:-1] > limit * np.maximum(np.diff(time[valid])[:-1], 1.0)
        glitch = too_fast & (ahead[:-1] > DISTANCE_RESET_METERS) & (ahead[1:] < -DISTANCE_RESET_METERS)
        valid = valid[~np.r_[False, glitch, False]]
    values = source[valid]
    steps = np.diff(values)
    dt = np.maximum(np.diff(time[valid]), 1.0)
    # Interleaved sources step tens of metres back and forth; only a jump no sensor could make is a dropout.
    impossible = (steps > limit * dt) & (steps > DISTANCE_RESET_METERS)
    restarts = steps < -DISTANCE_RESET_METERS
    n = int(impossible.sum()) + source.size - valid.size - int(np.isnan(source).sum())
    if n:
        warnings.append(f"{_count(n, words + ' jump')} faster than {limit:,g} m/s ignored (dropouts)")
    steps[impossible | restarts] = 0.0
    base = 0.0 if abs(values[0]) <= DISTANCE_RESET_METERS else float(values[0])
    cleaned = np.full(source.size, np.nan)
    cleaned[valid] = np.r_[values[0], values[0] + np.cumsum(steps)] - base
    np.clip(cleaned, 0.0, None, out=cleaned)
    return cleaned


def _along_positions(lat: np.ndarray, lon: np.ndarray) -> np.ndarray | None:
    """Cumulative great-circle distance along the valid positions (NaN where a sample has none)."""
    valid = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon))
    if valid.size < 2:
        return None
    phi, lam = np.radians(lat[valid]), np.radians(lon[valid])
    a = np.sin(np.diff(phi) / 2) ** 2 + np.cos(phi[:-1]) * np.cos(phi[1:]) * np.sin(np.diff(lam) / 2) ** 2
    steps = 2 * EARTH_RADIUS_METERS * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
    distance = np.full(lat.size, np.nan)
    distance[valid] = np.r_[0.0, np.cumsum(steps)]
    return distance


def _meaningful(values: np.ndarray | None, label: str, unit: str, warnings: list[str]) -> np.ndarray | None:
    """The channel, or None when it is absent or reads 0 on every sample: a head unit that writes 0 W all
    ride has no power meter, and a ride without one has no power figures (never 0, never TSS 0)."""
    if values is None or not _has(values):
        return None
    if not (values[np.isfinite(values)] != 0).any():
        warnings.append(f"the {label} channel reads 0 {unit} on every sample: no sensor, no {label} figures")
        return None
    return values


def _elevation_gain(altitude: np.ndarray | None, seconds: np.ndarray) -> float | None:
    """Climbing on the 1 Hz altitude while the timer runs.

    Steps of altitude across stopped time (a pause, a gap) and steps faster than MAX_VERTICAL_SPEED_MPS
    (a GPS altitude settling after its first fix jumps 87 m and back in 3 s) are left out; both the jump
    and its return are, so the levels around a glitch still line up. The rest is smoothed and the
    valley-to-peak climbs of at least the hysteresis are summed.
    """
    if altitude is None:
        return None
    valid = np.isfinite(altitude)
    if not valid.any():
        return None
    stretch = np.cumsum(np.r_[0, np.diff(seconds) > 1])[valid]  # which unbroken stretch of riding
    steps = np.diff(altitude[valid])
    steps[(np.diff(stretch) != 0) | (np.abs(steps) > MAX_VERTICAL_SPEED_MPS * np.diff(seconds[valid]))] = 0.0
    series = np.cumsum(np.r_[altitude[valid][0], steps])
    half = ELEVATION_SMOOTHING_SECONDS // 2  # centred window; the ends repeat so start and finish stay put
    padded = np.pad(series, half, mode="edge")
    smooth = _window_sums(_cumulative(padded), 2 * half + 1) / (2 * half + 1)
    return _climbed(_turning_points(smooth), ELEVATION_HYSTERESIS_METERS)


def _turning_points(series: np.ndarray) -> np.ndarray:
    """The series reduced to its ends and local extrema (the climb count depends on nothing else)."""
    series = series[np.r_[True, np.diff(series) != 0]]
    if series.size < 3:
        return series
    slope = np.sign(np.diff(series))
    turns = np.flatnonzero(slope[1:] != slope[:-1]) + 1
    return series[np.r_[0, turns, series.size - 1]]


def _climbed(points: np.ndarray, hysteresis: float) -> float:
    """Sum of the climbs, each from its valley to its peak, counting a climb or a descent only once it
    exceeds ``hysteresis``. Loops over turning points only: a few hundred on a real ride."""
    gain = 0.0
    low = high = float(points[0])
    climbing: bool | None = None  # unknown until the first swing exceeds the hysteresis
    for value in points.tolist():
        if climbing is None:
            low, high = min(low, value), max(high, value)
            if value - low >= hysteresis:
                climbing, high = True, value
            elif high - value >= hysteresis:
                climbing, low = False, value
        elif climbing:
            if value > high:
                high = value
            elif high - value >= hysteresis:
                gain += high - low
                climbing, low = False, value
        elif value < low:
            low = value
        elif value - low >= hysteresis:
            climbing, high = True, value
    if climbing:
        gain += high - low
    return gain


# --- device summary ---------------------------------------------------------------------------------------

DEVICE_DIFFERENCE = 0.05  # a device figure further than this from ours is named in ``warnings``


def device_warnings(device: DeviceSummary | None, warnings: list[str], **ours: float | None) -> None:
    """One line in ``warnings`` for each figure where the device's own and ours differ by more than
    DEVICE_DIFFERENCE (``ours`` by RideMetrics field name; work in kJ). The device's figure is not used."""
    if device is None:
        return
    compared = (
        ("elapsed", "elapsed_seconds", "elapsed time", "s", 1.0),
        ("timer", "timer_seconds", "timer time", "s", 1.0),
        ("distance", "distance_meters", "distance", "m", 1.0),
        ("average_power", "average_power", "average power", "W", 1.0),
        ("max_power", "max_power", "max power", "W", 1.0),
        ("normalized_power", "normalized_power", "Normalized Power", "W", 1.0),
        ("average_heart_rate", "average_heart_rate", "average heart rate", "bpm", 1.0),
        ("max_heart_rate", "max_heart_rate", "max heart rate", "bpm", 1.0),
        ("work_kj", "work_joules", "work", "kJ", 1000.0),
    )
    for key, field_name, words, unit, scale in compared:
        theirs = getattr(device, field_name)
        if theirs is None or not math.isfinite(theirs) or theirs <= 0:
            continue
        theirs /= scale
        mine = ours.get(key)
        if mine is None:
            warnings.append(f"the device's {words} {theirs:,.0f} {unit}: the records hold no such figure")
        elif abs(theirs - mine) > DEVICE_DIFFERENCE * max(abs(mine), abs(theirs)):
            warnings.append(
                f"the device's {words} {theirs:,.0f} {unit} differs by {abs(theirs - mine) / mine:.0%} "
                f"from the records' {mine:,.0f} {unit}"
                if mine
                else f"the device's {words} {theirs:,.0f} {unit}; the records give 0 {unit}"
            )


# --- small helpers ----------------------------------------------------------------------------------------


def _time_in_zones(
    values: np.ndarray | None, threshold: float | None, table: Sequence[tuple[int, str, float]]
) -> list[int] | None:
    """Seconds per zone, classified as ``athlete.zones`` does."""
    if values is None or threshold is None or values.size == 0:
        return None
    return np.bincount(zone_indices(table, values, threshold), minlength=len(table)).tolist()


def _cumulative(values: np.ndarray) -> np.ndarray:
    return np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))


def _window_sums(cumulative: np.ndarray, width: int) -> np.ndarray:
    return cumulative[width:] - cumulative[:-width]


def _has(values: np.ndarray) -> bool:
    return bool(np.isfinite(values).any())


def _mean(values: np.ndarray | None) -> float | None:
    return float(values.mean()) if values is not None and values.size else None


def _max(values: np.ndarray | None) -> float | None:
    return float(np.nanmax(values)) if values is not None and _has(values) else None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed.single("timezone", f"unknown IANA time zone {name!r}") from exc
