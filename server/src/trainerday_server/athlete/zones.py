"""Training zones: Coggan's seven power zones from FTP and his five heart-rate zones from LTHR.

Pure functions, shared by the athlete profile, planned workout metrics and recorded ride metrics, so that
"time in zone 4" means the same thing everywhere. A zone is defined by its upper bound as a percentage of the
threshold; a value belongs to the first zone whose upper bound it does not exceed, so for whole watts the
watt ranges shown to the athlete (``minWatts``..``maxWatts``) classify exactly as the percentages do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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
        if pct <= upper_pct + 1e-9:
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


def power_zone_upper_fractions() -> list[float]:
    """Upper bounds of zones 1..6 as fractions of FTP, for vectorised classification (numpy.searchsorted)."""
    return [upper / 100 for _n, _name, upper in POWER_ZONES[:-1]]


def heart_rate_zone_upper_fractions() -> list[float]:
    """Upper bounds of zones 1..4 as fractions of LTHR."""
    return [upper / 100 for _n, _name, upper in HEART_RATE_ZONES[:-1]]


def seconds_in_zones(zone_numbers: Iterable[int], zone_count: int) -> list[int]:
    """Count one-second samples per zone: a list of ``zone_count`` totals, zone 1 first."""
    totals = [0] * zone_count
    for z in zone_numbers:
        totals[z - 1] += 1
    return totals
