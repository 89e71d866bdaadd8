"""TEST HELPER ONLY: a minimal FIT -> Recording loader over fitdecode, so the metrics tests can run on real
rides before (and independently of) the production decoders in ``activities/files/``.

It reads record messages (timestamp, power, heart rate, cadence, speed, distance, altitude, position,
temperature), timer events (pauses) and the first session (the device's summary). It does no salvage and no
validation; it is not the decoder and must not be used as one.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import fitdecode
import numpy as np

from trainerday_server.activities.recording import CHANNELS, DeviceSummary, Recording

SEMICIRCLE_DEGREES = 180 / 2**31
_FIELDS = {  # channel -> FIT record fields, preferred first
    "power": ("power",),
    "heartRate": ("heart_rate",),
    "cadence": ("cadence",),
    "speed": ("enhanced_speed", "speed"),
    "distance": ("distance",),
    "altitude": ("enhanced_altitude", "altitude"),
    "latitude": ("position_lat",),
    "longitude": ("position_long",),
    "temperature": ("temperature",),
}


class FitRide(NamedTuple):
    recording: Recording
    session: dict[str, Any]  # the first session message's fields, for checks against the device


def load_fit(path: Path) -> FitRide:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    stamps: list[float] = []
    rows: list[list[float]] = []
    stops: list[float] = []
    starts: list[float] = []
    session: dict[str, Any] | None = None
    sport = sub_sport = None
    with fitdecode.FitReader(data, check_crc=fitdecode.CrcCheck.DISABLED) as reader:
        for frame in reader:
            if not isinstance(frame, fitdecode.FitDataMessage):
                continue
            if frame.name == "record" and frame.get_value("timestamp", fallback=None) is not None:
                stamps.append(frame.get_value("timestamp").timestamp())
                rows.append([_value(frame, _FIELDS[name]) for name in CHANNELS])
            elif frame.name == "event" and frame.get_value("event", fallback=None) == "timer":
                moment = frame.get_value("timestamp").timestamp()
                (starts if frame.get_value("event_type", fallback=None) == "start" else stops).append(moment)
            elif frame.name == "session" and session is None:
                session = {f.name: f.value for f in frame.fields}
                sport, sub_sport = session.get("sport"), session.get("sub_sport")
    time = np.array(stamps) - stamps[0]
    table = np.array(rows, dtype=np.float64)
    for column in (CHANNELS.index("latitude"), CHANNELS.index("longitude")):
        table[:, column] *= SEMICIRCLE_DEGREES
    channels = {name: table[:, i] for i, name in enumerate(CHANNELS) if np.isfinite(table[:, i]).any()}
    recording = Recording(
        format="fit",
        start_time=datetime.fromtimestamp(stamps[0], UTC),
        time=time,
        channels=channels,
        sport=str(sport) if sport else None,
        sub_sport=str(sub_sport) if sub_sport else None,
        summary=_summary(session) if session else None,
        pauses=_pauses(stops, starts, stamps[0]),
    )
    return FitRide(recording, session or {})


def _value(frame: fitdecode.FitDataMessage, names: tuple[str, ...]) -> float:
    for name in names:
        value = frame.get_value(name, fallback=None)
        if isinstance(value, int | float):
            return float(value)
    return np.nan


def _pauses(stops: list[float], starts: list[float], origin: float) -> list[tuple[float, float]]:
    """Each timer stop paired with the next timer start after it."""
    pauses = []
    for stop in stops:
        later = [s for s in starts if s > stop]
        if later:
            pauses.append((stop - origin, min(later) - origin))
    return pauses


def _summary(session: dict[str, Any]) -> DeviceSummary:
    def number(name: str) -> float | None:
        value = session.get(name)
        return float(value) if isinstance(value, int | float) else None

    return DeviceSummary(
        elapsed_seconds=number("total_elapsed_time"),
        timer_seconds=number("total_timer_time"),
        distance_meters=number("total_distance"),
        average_power=number("avg_power"),
        max_power=number("max_power"),
        average_heart_rate=number("avg_heart_rate"),
        max_heart_rate=number("max_heart_rate"),
        average_cadence=number("avg_cadence"),
        total_ascent_meters=number("total_ascent"),
    )
