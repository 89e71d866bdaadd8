"""Planned metrics of a workout at an athlete's FTP: NP, IF, TSS, work, time in zones, dominant zone. Pure.

Everything is computed from the 1 Hz power profile the segments describe. Sample ``k`` is the *average* power
over second ``[k, k+1)`` of the piecewise-linear plan, which is what a power meter recording the workout
would log. Three consequences, all deliberate:

- A ramp's samples are its values at mid-second. TrainerDay's cycling-metrics samples the start of each second
  instead; the two differ by under 0.05 % in NP (60 min 20→100 % at FTP 100: TSS 49.8 here, 49.8 there).
- Segments need not last whole seconds: a second that straddles two segments blends them by time, and work is
  the exact integral. The profile has ``round(total seconds)`` samples (at least one); its last sample
  averages whatever time is left, so durations never drift however many fractional segments there are.
- ``durationSeconds`` and the zone counts are whole seconds of that profile; TSS uses the exact duration.

Normalized Power follows Coggan as TrainerDay implements it: the 30 s trailing rolling mean over full windows
only, its fourth-power mean, the fourth root. Two edge rules keep it meaningful: a workout shorter than 30 s
has NP = average power, and NP is never reported below average power (full windows under-weight the first
and last 29 s, so a short spike at either end could otherwise push NP below the mean, which NP by definition
cannot be). TrainerDay's moving average also skips zero-power seconds (a bug); we do not.

Zones are Coggan's seven (``athlete/zones.py``); cycling-metrics has six (its zone 6 is everything above
120 %, our zones 6 and 7). Its test vectors agree with ours zone for zone where no second exceeds 150 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from trainerday_server.athlete.zones import POWER_ZONES, zone_indices
from trainerday_server.workouts.structure import Segment

ROLLING_SECONDS = 30
ZONE_COUNT = len(POWER_ZONES)
# Zones above endurance become the workout's purpose once this many seconds are spent in them: TrainerDay's
# thresholds, with our zones 6 and 7 pooled as they are one zone in cycling-metrics.
_PURPOSEFUL_SECONDS = (((3,), 600), ((4,), 360), ((5,), 120), ((6, 7), 60))

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PlannedMetrics:
    """What a workout asks of the athlete at one FTP."""

    duration_seconds: int
    normalized_power: float  # W
    intensity_factor: float
    tss: float
    work_kj: float
    time_in_zones: tuple[int, ...]  # seconds in Coggan zones 1..7
    dominant_zone: int  # 1..7

    def to_json(self) -> dict[str, Any]:
        """The API's ``metrics`` object, rounded for display (NP, TSS and kJ to 0.1, IF to 0.001)."""
        return {
            "durationSeconds": self.duration_seconds,
            "normalizedPower": round(self.normalized_power, 1),
            "intensityFactor": round(self.intensity_factor, 3),
            "tss": round(self.tss, 1),
            "workKj": round(self.work_kj, 1),
            "timeInZones": list(self.time_in_zones),
            "dominantZone": self.dominant_zone,
        }


@dataclass(frozen=True, slots=True)
class _Plan:
    """Segments as arrays: boundaries (s), start power (W) and slope (W/s) of each, work (J) at boundaries."""

    bounds: FloatArray  # len m + 1, bounds[0] == 0
    start_watts: FloatArray
    slope: FloatArray
    energy_at_bounds: FloatArray  # J, len m + 1

    @property
    def seconds(self) -> float:
        return float(self.bounds[-1])

    def energy_at(self, t: FloatArray) -> FloatArray:
        """Cumulative work in joules at times ``t`` (seconds from the start, within the plan)."""
        index = np.clip(np.searchsorted(self.bounds, t, side="right") - 1, 0, len(self.slope) - 1)
        tau = t - self.bounds[index]
        return self.energy_at_bounds[index] + tau * (self.start_watts[index] + 0.5 * self.slope[index] * tau)


def _plan(segments: Sequence[Segment], ftp: float) -> _Plan:
    if not segments:
        raise ValueError("a workout needs at least one segment")
    if not ftp > 0:
        raise ValueError(f"FTP must be positive, got {ftp}")
    table = np.array([(s.minutes * 60, s.start, s.end) for s in segments], dtype=np.float64)
    seconds = table[:, 0]
    start = table[:, 1] * (ftp / 100)
    end = table[:, 2] * (ftp / 100)
    bounds = np.concatenate(([0.0], np.cumsum(seconds)))
    energy = np.concatenate(([0.0], np.cumsum(seconds * (start + end) / 2)))
    return _Plan(bounds, start, (end - start) / seconds, energy)


def _profile(plan: _Plan) -> FloatArray:
    total = plan.seconds
    count = max(1, round(total))
    edges = np.arange(count + 1, dtype=np.float64)
    edges[-1] = total  # the last sample covers what is left, between half a second and a second and a half
    return np.diff(plan.energy_at(edges)) / np.diff(edges)


def power_profile(segments: Sequence[Segment], ftp: float) -> FloatArray:
    """The workout as 1 Hz power in watts at this FTP (see the module docstring for how seconds are cut)."""
    return _profile(_plan(segments, ftp))


def _fourth_power(values: FloatArray) -> FloatArray:
    # Two squarings: numpy's general float power is several times slower, and calendar reads compute
    # metrics for every planned workout.
    squares = values * values
    return squares * squares


def _normalized_power(watts: FloatArray) -> float:
    average = float(watts.mean())
    if len(watts) < ROLLING_SECONDS:
        return average
    cumulative = np.concatenate(([0.0], np.cumsum(watts)))
    rolling = (cumulative[ROLLING_SECONDS:] - cumulative[:-ROLLING_SECONDS]) / ROLLING_SECONDS
    return max(float(np.mean(_fourth_power(rolling))) ** 0.25, average)


def _dominant_zone(zones: npt.NDArray[np.intp], intensity: FloatArray, seconds: npt.NDArray[np.intp]) -> int:
    """The zone that is the workout's purpose.

    Each second weighs ``(power / FTP) ** 4``, the weighting NP gives it, so a zone's weight is its share of
    the workout's NP load; the heaviest zone wins. But warm-ups and recoveries are long and easy, so once
    the workout spends a purposeful time above endurance (10 min in Z3, 6 min in Z4, 2 min in Z5 or 1 min
    in Z6-Z7, TrainerDay's thresholds) only zones 3 to 7 compete. This is TrainerDay's rule with NP's
    weighting in place of its time-to-exhaustion table; both give the same answer on its test vectors.
    """
    load = np.bincount(zones, weights=_fourth_power(intensity), minlength=ZONE_COUNT)
    if any(sum(seconds[z - 1] for z in group) >= limit for group, limit in _PURPOSEFUL_SECONDS):
        load[:2] = -1.0
    return int(np.argmax(load)) + 1


def planned_metrics(segments: Sequence[Segment], ftp: float) -> PlannedMetrics:
    """Planned metrics of ``segments`` (validated, at least one) at ``ftp`` watts."""
    plan = _plan(segments, ftp)
    watts = _profile(plan)
    normalized = _normalized_power(watts)
    intensity_factor = normalized / ftp
    intensity = watts / ftp
    zones = zone_indices(POWER_ZONES, watts, ftp)
    seconds = np.bincount(zones, minlength=ZONE_COUNT)
    return PlannedMetrics(
        duration_seconds=len(watts),
        normalized_power=normalized,
        intensity_factor=intensity_factor,
        tss=plan.seconds * normalized * intensity_factor / (ftp * 3600) * 100,
        work_kj=float(plan.energy_at_bounds[-1]) / 1000,
        time_in_zones=tuple(int(s) for s in seconds),
        dominant_zone=_dominant_zone(zones, intensity, seconds),
    )
