"""Each ride's power curve in a compact fixed form, and the season curve as the best of many. Pure.

A ride's curve (``activities.metrics.power_curve``) holds a point for every duration of the standard ladder
shorter than the ride, and one for the whole ride. The season curve takes, for each duration of the ladder
up to five hours, the best of the rides that lasted that long. So each ride's curve is kept at upload as its
values on that ladder: tenths of a watt (the precision the activity's own ``powerCurve`` shows) as
little-endian unsigned 16-bit integers, ``NO_VALUE`` where the ride was shorter than the duration. A ride
weighs 220 bytes, and a thousand rides are one query and one ``argmax`` over a (rides x durations) array.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

SEASON_MAX_SECONDS = 5 * 3600
# The activity curve's ladder (activities.metrics.curve_durations) up to five hours, written out rather than
# derived: stored rows are positional over it, so it must not move if that ladder ever does (a test checks
# that the two agree).
SEASON_DURATIONS: tuple[int, ...] = (
    *range(1, 61),
    *range(70, 301, 10),
    *range(360, 1201, 60),
    *range(1500, 3601, 300),
    *range(4500, 10801, 900),
    *range(12600, SEASON_MAX_SECONDS + 1, 1800),
)
NO_VALUE = 0xFFFF
_DTYPE = np.dtype("<u2")
_INDEX = {seconds: i for i, seconds in enumerate(SEASON_DURATIONS)}


def encode_curve(curve: dict[str, Sequence[Any]] | None) -> bytes:
    """A ride's ``powerCurve`` (``{"seconds": [...], "watts": [...]}``, or None) on the season ladder."""
    values = np.full(len(SEASON_DURATIONS), NO_VALUE, dtype=_DTYPE)
    if curve:
        for seconds, watts in zip(curve["seconds"], curve["watts"], strict=True):
            index = _INDEX.get(seconds)
            if index is not None and watts is not None:
                values[index] = min(max(round(watts * 10), 0), NO_VALUE - 1)
    return values.tobytes()


def decode_curves(blobs: Sequence[bytes]) -> np.ndarray:
    """Many encoded curves as one (rides x durations) int32 array of tenths of a watt, -1 where none."""
    size = len(SEASON_DURATIONS) * _DTYPE.itemsize
    if any(len(blob) != size for blob in blobs):
        raise ValueError(f"an encoded power curve must be {size} bytes")
    if not blobs:
        return np.empty((0, len(SEASON_DURATIONS)), dtype=np.int32)
    raw = np.frombuffer(b"".join(blobs), dtype=_DTYPE).reshape(len(blobs), len(SEASON_DURATIONS))
    values = raw.astype(np.int32)
    values[raw == NO_VALUE] = -1
    return values


def season_best(values: np.ndarray) -> list[tuple[int, int, float]]:
    """``(seconds, row, watts)`` for every duration some ride lasted: the best value and the row it is in
    (the first such row on a tie, so with rows in date order, the ride that set it first)."""
    if values.shape[0] == 0:
        return []
    rows = values.argmax(axis=0)
    best = values[rows, np.arange(values.shape[1])]
    return [
        (SEASON_DURATIONS[i], int(rows[i]), int(best[i]) / 10)
        for i in range(len(SEASON_DURATIONS))
        if best[i] >= 0
    ]


def watts_at(curve: dict[str, Sequence[Any]] | None, seconds: int) -> float | None:
    """The ride's best average power for ``seconds``, if the ride lasted that long."""
    if not curve:
        return None
    for duration, watts in zip(curve["seconds"], curve["watts"], strict=True):
        if duration == seconds:
            return float(watts)
    return None
