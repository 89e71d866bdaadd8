"""A decoded recording: what a FIT, TCX or GPX file holds, in one shape. Pure: no HTTP, no database.

Decoders (``activities/files/``) produce it; metrics (``activities/metrics.py``) and stream storage consume
it. Samples are kept as recorded (not yet resampled): ``time`` holds seconds since ``start_time`` for each
sample, and every channel is a float64 array aligned with ``time``, NaN where the sample lacks that channel.
"""

from __future__ import annotations

import math
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
    """What the head unit itself wrote for the whole ride (a FIT ``session``), as written, never corrected.

    The API shows it beside the figures computed from the records (``deviceSummary``), and ``warnings`` says
    where the two differ by more than 5 % (``metrics.device_warnings``); nothing here feeds a computed figure.
    """

    elapsed_seconds: float | None = None
    timer_seconds: float | None = None
    distance_meters: float | None = None
    total_ascent_meters: float | None = None
    average_power: float | None = None
    max_power: float | None = None
    normalized_power: float | None = None
    average_heart_rate: float | None = None
    max_heart_rate: float | None = None
    average_cadence: float | None = None
    work_joules: float | None = None
    tss: float | None = None
    intensity_factor: float | None = None
    ftp: float | None = None
    sessions: int = 1  # how many distinct sessions the file held (totals added up, averages by timer time)

    def to_json(self) -> dict[str, float | int | None]:
        """The API shape: camelCase, numbers as the device wrote them (scaled per the FIT profile); a value
        JSON cannot carry (NaN, infinity) as null."""
        figures = {
            "elapsedSeconds": self.elapsed_seconds,
            "timerSeconds": self.timer_seconds,
            "distanceMeters": self.distance_meters,
            "totalAscentMeters": self.total_ascent_meters,
            "averagePower": self.average_power,
            "maxPower": self.max_power,
            "normalizedPower": self.normalized_power,
            "averageHeartRate": self.average_heart_rate,
            "maxHeartRate": self.max_heart_rate,
            "averageCadence": self.average_cadence,
            "workJoules": self.work_joules,
            "tss": self.tss,
            "intensityFactor": self.intensity_factor,
            "ftp": self.ftp,
        }
        return {
            **{k: v if v is None or math.isfinite(v) else None for k, v in figures.items()},
            "sessions": self.sessions,
        }


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
