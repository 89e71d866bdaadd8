"""A decoded recording: what a FIT, TCX or GPX file holds, in one shape. Pure: no HTTP, no database.

Decoders (``activities/files/``) produce it; metrics (``activities/metrics.py``) and stream storage consume
it. Samples are kept as recorded (not yet resampled): ``time`` holds seconds since ``start_time`` for each
sample, and every channel is a float64 array aligned with ``time``, NaN where the sample lacks that channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

# Channel names are the public stream names of the API (GET /activities/{id}/streams?types=...).
CHANNELS: tuple[str, ...] = (
    "power",  # W
    "heartRate",  # bpm
    "cadence",  # rpm
    "speed",  # m/s
    "distance",  # m, cumulative
    "altitude",  # m
    "latitude",  # degrees
    "longitude",  # degrees
    "temperature",  # degrees C
)


@dataclass(slots=True)
class DeviceSummary:
    """What the head unit itself reported for the whole ride (a FIT ``session``), where it did.

    The API reports them in preference to computed ones, as the athlete saw them on the device, where the
    recording's own samples bear them out (``metrics._prefer_device``; ascent and cadence are never used).
    """

    elapsed_seconds: float | None = None
    timer_seconds: float | None = None
    distance_meters: float | None = None
    average_power: float | None = None
    max_power: float | None = None
    average_heart_rate: float | None = None
    max_heart_rate: float | None = None
    average_cadence: float | None = None
    total_ascent_meters: float | None = None


@dataclass(slots=True)
class Recording:
    """One activity's samples and metadata, independent of the file format it came from."""

    format: str  # "fit" | "tcx" | "gpx"
    start_time: datetime  # UTC, timezone-aware: the first sample's time
    time: np.ndarray  # float64 seconds since start_time, non-decreasing
    channels: dict[
        str, np.ndarray
    ]  # name (from CHANNELS) -> float64 array like ``time``; absent channels omitted
    sport: str | None = None  # e.g. "cycling", "running" (FIT names; TCX/GPX mapped onto them)
    sub_sport: str | None = None  # e.g. "indoor_cycling", "virtual_activity", "road"
    device: str | None = None  # manufacturer / product, when the file says
    summary: DeviceSummary | None = None
    # (start, end) seconds since start_time in which the recording timer was stopped (FIT timer events).
    pauses: list[tuple[float, float]] = field(default_factory=list)
    # Human-readable notes about damage or doubtful data: what was wrong and how much was recovered.
    warnings: list[str] = field(default_factory=list)
    name: str | None = None  # the activity's name in the file, if any (GPX <trk><name>)
    description: str | None = None  # free text in the file, if any (TCX <Notes>, GPX <desc>)

    @property
    def sample_count(self) -> int:
        return int(self.time.shape[0])

    def has(self, channel: str) -> bool:
        """True when the channel exists and holds at least one real sample."""
        values = self.channels.get(channel)
        return values is not None and bool(np.isfinite(values).any())
