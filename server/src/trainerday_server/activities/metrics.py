"""Ride metrics from a decoded Recording: times, distance, climbing, power, heart rate, zones, power curve.

Pure and vectorised (numpy): a 10-hour 1 Hz ride takes a few milliseconds.

How the samples become a 1 Hz ride
----------------------------------
1. **Impossible samples are dropouts.** Values outside physical limits (power above 3,000 W or below 0,
   heart rate outside 20-250 bpm, a position at 0°, 0°, ...) are removed before anything else, and
   ``warnings`` says how many ("3 power samples above 3,000 W ignored").
2. **The timeline.** The recording runs while samples keep coming: consecutive samples at most
   ``MAX_GAP_SECONDS`` apart cover every whole second between them. A longer silence (auto-pause, a
   device that stopped writing) is *stopped* time, and so is the time strictly between a FIT timer stop
   and the next start: stopped seconds are neither zeros nor interpolated riding, they are simply not part
   of the ride's timeline. The covered seconds with the timer running are the **timer** seconds (a count of
   seconds, so a device's timer, a duration, may be a second shorter per pause).
3. **Channels on the timeline.** Each channel is linearly interpolated onto those seconds from its own
   valid samples, across channel gaps of at most ``MAX_GAP_SECONDS``; a longer channel dropout (a power
   meter that lost its link) stays missing and is left out of that channel's figures. Nothing is
   extrapolated beyond a channel's first or last sample (by more than half a second).
4. **Moving.** A timer second is moving when the speed is at least ``MOVING_SPEED_MPS`` or the rider
   pedals (power or cadence above zero: indoors, virtual speed may read 0 while the rider works); a second
   with none of the three known counts as moving (the timer ran), and a speed that is zero throughout is
   ignored. Speed comes from the speed channel, else from the distance channel, else from the positions.

Which series each figure uses
-----------------------------
- Averages (power, heart rate, speed) are over moving seconds; average cadence also leaves out zeros
  (coasting), as head units do. Maxima are over all timer seconds.
- Normalized Power, the power curve, time in zones, IF and TSS all use one series: the moving seconds with
  power, in order ("the ride"). So the whole-ride point of the power curve equals the computed average power,
  time in power zones sums to the length of that series, and TSS uses that length as its duration.
- Work (kJ) sums power over all timer seconds. Average speed is distance over moving time.
- Climbing, and distance measured from positions, count only while the timer runs: a change of altitude
  or position across stopped time is left out, as head units do.
- Moving time is the timer time less the timer seconds the records show stopped, so it never exceeds the
  timer time, which never exceeds the elapsed time, whichever of them the device gave.

The device's own summary
------------------------
Where the recording carries one (a FIT session), elapsed and timer time, distance and average/max power and
heart rate are the device's, as the athlete saw them on the head unit, **if its records bear them out**:
possible (within the physical limits above) and within ``RECORDS_TOLERANCE`` (2 %) of what its records
give under one of the definitions devices use (``_record_figures``): an elapsed time no shorter than the
records' span (less a second at each end), a timer time counted or measured (one second less per stretch
of riding) and no longer than the elapsed time, an average power over moving seconds, over every timer
second with zeros or over non-zero samples, an average heart rate over moving or all timer seconds.
Otherwise the records' figure is reported and ``warnings`` names the device's value and the range its
records give. Everything else is always computed from the records: NP, IF, TSS, zones, the power curve,
work, speeds, average cadence (devices disagree on it most: one sample ride's head unit reports 131 rpm),
and elevation gain (a head unit counts climbing on its barometer sampled faster than it records, with its
own smoothing: on the sample rides up to 14 % from a count on its records, 1,254 m against 1,283 m on
4078723797, so a FIT would not agree with its own export).

What a FIT and its TCX/GPX export agree on
------------------------------------------
An export carries the records without the device's summary, so its figures are the records' and agree
with the FIT's exactly where the FIT's are the records' too (start time, NP, IF, TSS, zones, power curve,
work, climbing, speeds, average cadence, a device figure not borne out) and within 2 % where they are the
device's (by the rule above), except by definition:

- elapsed time, where a device kept its clock running before its first or after its last record;
- timer and moving time (and average speed, distance over moving time), by up to a second per stretch of
  riding: a device measures a duration, an export's seconds are counted (the 2-minute ride: 94 s against
  96 s, two stretches);
- average power, where the device averages every timer second with zeros (219 W against the export's 226 W
  over moving seconds on 4078723797) or only non-zero samples;
- anything a format does not carry: GPX has no power in Garmin's export; GPX has no distance or speed
  channel, so distance is measured along the positions, short of the device's by what it counted before
  its first record and in the second after each pause (668.2 m against 653.3 m on the 2-minute ride), and
  maximum speed is the difference of two GPS fixes, not the device's smoothed speed.

Agreement with TrainerDay's reference (trainerday/cycling-metrics)
------------------------------------------------------------------
Normalized Power (30 s rolling mean over whole windows, mean of 4th powers, 4th root), IF = NP / FTP,
TSS = t x NP x IF / (FTP x 3600) x 100, the mean-maximal power (best rolling mean for each duration) and
Coggan's zones are defined as there, and reproduce its test vectors (TSS 100, 50 and 72, IF 0.878, the
spinner workout's zone times, its power curves; see the tests). Differences: the reference returns NP = 0
below 120 s of data, we give NP from 30 s and null below; it rounds NP and IF to two decimals and TSS to a
whole number, we round only in ``to_json``; it interpolates gaps of any length, extrapolates a channel's
ends and treats 0 W as a missing sample, where we stop at ``MAX_GAP_SECONDS``, never extrapolate and keep
zeros as recorded. (Its newest TSS test file expects 49 and 71 for two workouts; its own code gives 50 and
72 there, like its older test file and like us.)
"""

from __future__ import annotations

import dataclasses
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

MAX_GAP_SECONDS = 10.0  # longest silence still bridged as riding; smart recording writes every 1-8 s
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
    average_power: float | None
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
            "warnings": self.warnings,
        }


def ride_metrics(
    recording: Recording, ftp: float | None, lthr: float | None = None, timezone: str | tzinfo = "UTC"
) -> RideMetrics:
    """Compute a ride's metrics.

    ``ftp`` is the athlete's FTP in force on the ride's date (None: no IF, TSS or power zones), ``lthr`` the
    lactate-threshold heart rate (None: no heart-rate zones), ``timezone`` the athlete's IANA zone (or a
    ``tzinfo``, such as the fixed offset a stored ride's local start time carries).
    Raises ValidationFailed for a non-positive threshold, an unknown time zone or a recording without samples.
    """
    zone = timezone if isinstance(timezone, tzinfo) else _time_zone(timezone)
    for name, value in (("ftp", ftp), ("lthr", lthr)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ValidationFailed.single(name, f"must be a positive number, got {value}")
    time = _checked_time(recording)
    warnings = list(recording.warnings)
    channels = _without_dropouts(recording.channels, warnings)
    _add_speed(time, channels)
    seconds = _timeline(time, recording.pauses)
    grid = {name: _resample(time, values, seconds) for name, values in channels.items()}
    power, heart_rate, cadence, speed = (grid.get(n) for n in ("power", "heartRate", "cadence", "speed"))
    moving = _moving(seconds.size, speed, power, cadence)
    ride_power = _moving_samples(power, moving)
    ride_heart_rate = _moving_samples(heart_rate, moving)
    ride_cadence = _moving_samples(cadence, moving)
    np_watts = normalized_power(ride_power) if ride_power is not None else None
    intensity = tss = None
    if np_watts is not None and ride_power is not None and ftp is not None:
        intensity = np_watts / ftp
        tss = ride_power.size * np_watts * intensity / (ftp * 3600) * 100  # t: the ridden power series
    average_power = _mean(ride_power)

    figures = _record_figures(
        time, seconds, _distance(time, channels), power, heart_rate, average_power, _mean(ride_heart_rate)
    )
    reported = _prefer_device(figures, recording.summary, warnings)
    elapsed = reported["elapsed_seconds"] or 0.0
    # A count of whole seconds may exceed a device's elapsed duration by a second or two (see _prefer_device).
    timer = min(reported["timer_seconds"] or 0.0, elapsed)
    # The seconds the records show stopped, taken from the timer the device kept (or we counted).
    moving_seconds = max(timer - (seconds.size - int(moving.sum())), 0.0)
    distance = reported["distance_meters"]
    start = recording.start_time.astimezone(UTC)
    return RideMetrics(
        start_time=start,
        start_time_local=start.astimezone(zone),
        elapsed_seconds=elapsed,
        timer_seconds=timer,
        moving_seconds=moving_seconds,
        distance_meters=distance,
        elevation_gain_meters=_elevation_gain(grid.get("altitude"), seconds),
        average_speed=distance / moving_seconds if distance is not None and moving_seconds else None,
        max_speed=_max(speed),
        average_power=reported["average_power"],
        max_power=reported["max_power"],
        normalized_power=np_watts,
        intensity_factor=intensity,
        tss=tss,
        work_kj=float(np.nansum(power)) / 1000 if power is not None else None,
        average_heart_rate=reported["average_heart_rate"],
        max_heart_rate=reported["max_heart_rate"],
        average_cadence=_mean(ride_cadence[ride_cadence > 0]) if ride_cadence is not None else None,
        variability_index=np_watts / average_power if np_watts is not None and average_power else None,
        time_in_power_zones=_time_in_zones(ride_power, ftp, POWER_ZONES),
        time_in_heart_rate_zones=_time_in_zones(ride_heart_rate, lthr, HEART_RATE_ZONES),
        power_curve=power_curve(ride_power) if ride_power is not None and ride_power.size else None,
        warnings=warnings,
    )


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


def _timeline(time: np.ndarray, pauses: list[tuple[float, float]]) -> np.ndarray:
    """The whole seconds (since start_time) that the recording covers with the timer running."""
    breaks = np.flatnonzero(np.diff(time) > MAX_GAP_SECONDS)
    first = np.rint(time[np.r_[0, breaks + 1]]).astype(np.int64)
    last = np.rint(time[np.r_[breaks, time.size - 1]]).astype(np.int64)
    lengths = last - first + 1
    # Concatenated aranges first[i]..last[i]; bounded by MAX_GAP_SECONDS per sample, whatever the timestamps.
    seconds = np.repeat(first - np.cumsum(np.r_[0, lengths[:-1]]), lengths) + np.arange(lengths.sum())
    return seconds[~_paused(seconds, pauses)]


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


def _add_speed(time: np.ndarray, channels: dict[str, np.ndarray]) -> None:
    """Derive speed from distance, or distance and speed from positions, when the recording lacks them."""
    if "speed" in channels:
        return
    if "distance" not in channels and "latitude" in channels and "longitude" in channels:
        steps = _position_steps(time, channels["latitude"], channels["longitude"])
        if steps is not None:
            channels["distance"] = steps
    distance = channels.get("distance")
    if distance is None:
        return
    valid = np.flatnonzero(np.isfinite(distance))
    if valid.size < 2:
        return
    dt = np.diff(time[valid])
    dd = np.diff(distance[valid])
    with np.errstate(divide="ignore", invalid="ignore"):
        step_speed = np.where((dt > 0) & (dt <= MAX_GAP_SECONDS), dd / dt, np.nan)
    speed = np.full(time.size, np.nan)
    speed[valid[1:]] = np.where((step_speed >= 0) & (step_speed <= LIMITS["speed"].high), step_speed, np.nan)
    channels["speed"] = speed


def _position_steps(time: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray | None:
    """Cumulative great-circle distance along the valid positions (NaN where a sample has none).

    A move across stopped time (samples more than MAX_GAP_SECONDS apart) is not ridden distance: a head
    unit does not count what happens while it is paused, so neither do we.
    """
    valid = np.flatnonzero(np.isfinite(lat) & np.isfinite(lon))
    if valid.size < 2:
        return None
    phi, lam = np.radians(lat[valid]), np.radians(lon[valid])
    a = np.sin(np.diff(phi) / 2) ** 2 + np.cos(phi[:-1]) * np.cos(phi[1:]) * np.sin(np.diff(lam) / 2) ** 2
    steps = 2 * EARTH_RADIUS_METERS * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
    steps[np.diff(time[valid]) > MAX_GAP_SECONDS] = 0.0
    distance = np.full(lat.size, np.nan)
    distance[valid] = np.r_[0.0, np.cumsum(steps)]
    return distance


def _distance(time: np.ndarray, channels: dict[str, np.ndarray]) -> float | None:
    """Ride distance from the cumulative distance channel, which counts from 0 at the start (a first sample
    may already hold a few metres): the furthest point reached.

    Real channels are not monotonic: a head unit on a trainer may interleave two distance sources tens of
    metres apart, a glitch may jump far ahead for one sample, a chained file may count from 0 again. So a
    sample that jumps ahead faster than the speed limit and then drops by more than DISTANCE_RESET_METERS is
    a glitch, any other such drop is a restart, and the furthest points reached between restarts add up.
    """
    distance = channels.get("distance")
    if distance is None:
        return None
    valid = np.isfinite(distance)
    values, times = distance[valid], time[valid]
    if values.size >= 3:
        ahead = np.diff(values)
        too_fast = ahead[:-1] > LIMITS["speed"].high * np.maximum(np.diff(times)[:-1], 1.0)
        glitch = too_fast & (ahead[1:] < -DISTANCE_RESET_METERS)
        values = values[~np.r_[False, glitch, False]]
    restarts = np.flatnonzero(np.diff(values) < -DISTANCE_RESET_METERS) + 1
    return float(np.maximum.reduceat(values, np.r_[0, restarts]).clip(min=0).sum())


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

RECORDS_TOLERANCE = 0.02  # a device figure further than this from what its records give is not reported
# Record times are whole seconds, a device's elapsed time is not: its records may span up to a second more
# at each end (the indoor-trainer sample's Edge 800 reports 2,261.85 s for records spanning 2,263 s).
ELAPSED_SLACK_SECONDS = 2.0
TIMER_SLACK_SECONDS = 1.0  # a device's timer time against its elapsed time: both rounded their own way


@dataclass(frozen=True, slots=True)
class _Figure:
    """A figure as the ride's records give it, and the range a device's own figure must lie in to be
    consistent with those records (unbounded where the records cannot tell)."""

    value: float | None
    low: float = -math.inf
    high: float = math.inf


def _near(value: float | None, *definitions: float | None) -> _Figure:
    """``value`` from the records; a device figure within RECORDS_TOLERANCE of it, or of the same figure
    under another definition devices use (``definitions``), or between them, is consistent with it."""
    known = [v for v in (value, *definitions) if v is not None]
    if not known:
        return _Figure(value)
    return _Figure(value, min(known) * (1 - RECORDS_TOLERANCE), max(known) * (1 + RECORDS_TOLERANCE))


def _record_figures(
    time: np.ndarray,
    seconds: np.ndarray,
    distance: float | None,
    power: np.ndarray | None,
    heart_rate: np.ndarray | None,
    average_power: float | None,
    average_heart_rate: float | None,
) -> dict[str, _Figure]:
    """The figures a device also reports, from the records, with the range of device values they support.

    - Elapsed time: our count of the seconds from the first record to the last; a device's may be longer
      (it kept the clock running before its first or after its last record) but not shorter than the span.
    - Timer time: our count of timer seconds, or one second less per stretch of riding, the way devices
      that measure durations count it (the 2-minute Edge 1000 ride: 96 seconds counted, 93.7 s measured).
    - Average power over moving seconds; devices also average every timer second with zeros (the Edge
      1000 of 4078723797: 219 W, where 226 W is the average over moving seconds) or only non-zero samples.
    - Average heart rate over moving seconds; devices also average over every timer second.
    - Distance, maxima: one definition.
    """
    timer = float(seconds.size)
    stretches = int(np.count_nonzero(np.diff(seconds) > 1)) + 1 if seconds.size else 0
    with_zeros = float(np.nansum(power)) / timer if power is not None and timer else None
    return {
        "elapsed_seconds": _Figure(
            float(round(time[-1]) - round(time[0]) + 1), low=float(time[-1] - time[0]) - ELAPSED_SLACK_SECONDS
        ),
        "timer_seconds": _near(timer, timer - stretches),
        "distance_meters": _near(distance),
        "average_power": _near(
            average_power, with_zeros, _mean(power[power > 0]) if power is not None else None
        ),
        "max_power": _near(_max(power)),
        "average_heart_rate": _near(
            average_heart_rate, _mean(heart_rate[np.isfinite(heart_rate)]) if heart_rate is not None else None
        ),
        "max_heart_rate": _near(_max(heart_rate)),
    }


_DEVICE_FIGURES: tuple[tuple[str, str, Limit, int], ...] = (
    # (DeviceSummary field, words for warnings, possible range, decimals in warnings); elapsed before timer
    ("elapsed_seconds", "elapsed time", Limit("time", "s", 0, math.inf), 0),
    ("timer_seconds", "timer time", Limit("time", "s", 0, math.inf), 0),
    ("distance_meters", "distance", LIMITS["distance"], 1),
    ("average_power", "average power", LIMITS["power"], 0),
    ("max_power", "max power", LIMITS["power"], 0),
    ("average_heart_rate", "average heart rate", LIMITS["heartRate"], 0),
    ("max_heart_rate", "max heart rate", LIMITS["heartRate"], 0),
)


def _prefer_device(
    figures: dict[str, _Figure], device: DeviceSummary | None, warnings: list[str]
) -> dict[str, float | None]:
    """The device's figure where it reported one that is possible and consistent with its records (and a
    timer time no longer than the elapsed time), the records' elsewhere; each figure not taken is a warning.

    So a figure the API reports from a device lies within RECORDS_TOLERANCE of what its records give, under
    one of the definitions devices use, and a TCX or GPX export of the same records agrees with it as far
    as the definitions do (the module docstring lists what agrees and what cannot).
    """
    chosen: dict[str, float | None] = {}
    for name, words, limit, decimals in _DEVICE_FIGURES:
        figure = figures[name]
        if name == "timer_seconds":
            figure = dataclasses.replace(
                figure, high=min(figure.high, (chosen["elapsed_seconds"] or 0.0) + TIMER_SLACK_SECONDS)
            )
        value = getattr(device, name) if device is not None else None
        if value is not None and not (math.isfinite(value) and limit.low <= value <= limit.high):
            warnings.append(f"the device's {words} of {value:,g} {limit.unit} ignored")
            value = None
        elif value is not None and figure.value is not None and not figure.low <= value <= figure.high:
            warnings.append(
                _not_borne_out(words, limit.unit, decimals, value, figure.value, figure.low, figure.high)
            )
            value = None
        chosen[name] = figure.value if value is None else value
    return chosen


def _not_borne_out(
    words: str, unit: str, decimals: int, value: float, records: float, low: float, high: float
) -> str:
    """The warning for a device figure outside the range [low, high] its records give."""

    def show(x: float) -> str:
        return f"{x:,.{decimals}f} {unit}"

    bounds = f"{show(low)} to {show(high)}" if high < math.inf else f"at least {show(low)}"
    return (
        f"the device's {words} ({show(value)}) is not what its records give ({bounds}); "
        f"{show(records)} from the records reported"
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


def _moving_samples(values: np.ndarray | None, moving: np.ndarray) -> np.ndarray | None:
    """The channel's valid samples in moving seconds, in order; None when the channel is absent."""
    return None if values is None else values[moving & np.isfinite(values)]


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
