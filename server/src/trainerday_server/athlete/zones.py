"""Training zones: Coggan's seven power zones from FTP and his five heart-rate zones from LTHR.

Pure functions, shared by the athlete profile, planned workout metrics and recorded ride metrics, so that
"time in zone 4" means the same thing everywhere. A zone is defined by its upper bound as a percentage of the
threshold; a value belongs to the first zone whose upper bound it does not exceed, so for whole watts the
watt ranges shown to the athlete (``minWatts``..``maxWatts``) classify exactly as the percentages do.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Percent points a value may exceed a zone's upper bound and stay in it: float rounding, not physiology.
_TOLERANCE = 1e-9

# (zone, name, upper bound in % of FTP); the top zone has no upper bound.
POWER_ZONES: tuple[tuple[int, str, float], ...] = (
    (1, "Active Recovery", 55),
    (2, "Endurance", 75),
    (3, "Tempo", 90),
    (4, "Lactate Threshold", 105),
    (5, "VO2max", 120),
    (6, "Anaerobic Capacity", 150),
    (7, "Neuromuscular Power", math.inf),
)

# Coggan's heart-rate zones, as % of lactate-threshold heart rate.
HEART_RATE_ZONES: tuple[tuple[int, str, float], ...] = (
    (1, "Active Recovery", 68),
    (2, "Endurance", 83),
    (3, "Tempo", 94),
    (4, "Lactate Threshold", 105),
    (5, "VO2max", math.inf),
)


@dataclass(frozen=True, slots=True)
class Zone:
    """One zone in absolute units (watts or bpm); ``high`` is None for the open top zone."""

    number: int
    name: str
    low: int
    high: int | None


def _absolute_zones(table: Sequence[tuple[int, str, float]], threshold: int) -> list[Zone]:
    zones: list[Zone] = []
    low = 0
    for number, name, upper_pct in table:
        if math.isinf(upper_pct):
            zones.append(Zone(number, name, low, None))
            break
        # Small epsilon: 55% of 200 is 110 exactly, and 0.55 * 200 is 110.00000000000001 in floats.
        # At absurdly low thresholds a zone can be empty (high = low - 1); the ranges still tile.
        high = max(math.floor(upper_pct * threshold / 100 + 1e-9), low - 1)
        zones.append(Zone(number, name, low, high))
        low = high + 1
    return zones


def _zone_of(table: Sequence[tuple[int, str, float]], value: float, threshold: float) -> int:
    pct = value * 100 / threshold
    for number, _name, upper_pct in table:
        if pct <= upper_pct + _TOLERANCE:
            return number
    return table[-1][0]


def power_zones(ftp: int) -> list[Zone]:
    """Coggan's seven power zones in watts for this FTP."""
    return _absolute_zones(POWER_ZONES, ftp)


def heart_rate_zones(lthr: int) -> list[Zone]:
    """Coggan's five heart-rate zones in bpm for this lactate-threshold heart rate."""
    return _absolute_zones(HEART_RATE_ZONES, lthr)


def power_zone_of(watts: float, ftp: float) -> int:
    """The power zone (1..7) that ``watts`` falls in at this FTP."""
    return _zone_of(POWER_ZONES, watts, ftp)


def heart_rate_zone_of(bpm: float, lthr: float) -> int:
    """The heart-rate zone (1..5) that ``bpm`` falls in at this LTHR."""
    return _zone_of(HEART_RATE_ZONES, bpm, lthr)


def zone_indices(
    table: Sequence[tuple[int, str, float]], values: npt.NDArray[np.float64], threshold: float
) -> npt.NDArray[np.intp]:
    """The zone of each value, 0-based (zone 1 -> 0), classified as :func:`power_zone_of` does, vectorised."""
    return np.searchsorted(_upper_percents(table), values * 100 / threshold, side="left")


@functools.cache
def _upper_percents(table: Sequence[tuple[int, str, float]]) -> npt.NDArray[np.float64]:
    return np.array([upper for _n, _name, upper in table[:-1]]) + _TOLERANCE
