"""A FIT activity file from a Recording, for GET /activities/{id}/fit when the original was a TCX or GPX.

Written with the shared ``fitfile.FitWriter``: file_id (type activity), timer start and stop events (one
stop/start pair per pause), one record per sample as recorded (timestamp, position, altitude, heart rate,
cadence, distance, speed, power, temperature: only the channels the ride has), then one lap, one session
and the activity message. The lap and session carry the ride's metrics as the API reports them.
"""

from __future__ import annotations

import math
from datetime import timedelta, tzinfo

import numpy as np
from fitdecode.profile import FIELD_TYPES

from trainerday_server.activities.metrics import RideMetrics, ride_metrics
from trainerday_server.activities.recording import Recording
from trainerday_server.fitfile import BaseType, Field, FitWriter, fit_timestamp

# FIT profile numbers (messages, enum values) used below.
FILE_ID, EVENT, RECORD, LAP, SESSION, ACTIVITY = 0, 21, 20, 19, 18, 34
FILE_TYPE_ACTIVITY = 4
MANUFACTURER_DEVELOPMENT = 255
EVENT_TIMER, EVENT_SESSION, EVENT_LAP, EVENT_ACTIVITY = 0, 8, 9, 26
EVENT_TYPE_START, EVENT_TYPE_STOP, EVENT_TYPE_STOP_ALL = 0, 1, 4
SEMICIRCLES_PER_DEGREE = 2**31 / 180

_U8, _U16, _U32 = BaseType.UINT8, BaseType.UINT16, BaseType.UINT32
# Record fields per channel: (field number, base type, scale, offset), as in the FIT profile.
_RECORD_FIELDS: dict[str, tuple[int, BaseType, float, float]] = {
    "latitude": (0, BaseType.SINT32, SEMICIRCLES_PER_DEGREE, 0),
    "longitude": (1, BaseType.SINT32, SEMICIRCLES_PER_DEGREE, 0),
    "altitude": (2, _U16, 5, 500),
    "heartRate": (3, _U8, 1, 0),
    "cadence": (4, _U8, 1, 0),
    "distance": (5, _U32, 100, 0),
    "speed": (6, _U16, 1000, 0),
    "power": (7, _U16, 1, 0),
    "temperature": (13, BaseType.SINT8, 1, 0),
}
_TIMESTAMP = Field(253, _U32)
_EVENT_FIELDS = (_TIMESTAMP, Field(0, BaseType.ENUM), Field(1, BaseType.ENUM))
# The lap's and the session's summary: name -> (lap field number or None, session field number, type, scale).
_SUMMARY_FIELDS: dict[str, tuple[int | None, int, BaseType, float]] = {
    "start_time": (2, 2, _U32, 1),
    "total_elapsed_time": (7, 7, _U32, 1000),
    "total_timer_time": (8, 8, _U32, 1000),
    "total_distance": (9, 9, _U32, 100),
    "avg_speed": (13, 14, _U16, 1000),
    "max_speed": (14, 15, _U16, 1000),
    "avg_heart_rate": (15, 16, _U8, 1),
    "max_heart_rate": (16, 17, _U8, 1),
    "avg_cadence": (17, 18, _U8, 1),
    "avg_power": (19, 20, _U16, 1),
    "max_power": (20, 21, _U16, 1),
    "total_ascent": (21, 22, _U16, 1),
    "normalized_power": (33, 34, _U16, 1),
    "total_work": (41, 48, _U32, 1),
    "total_moving_time": (52, 59, _U32, 1000),
    "sport": (25, 5, BaseType.ENUM, 1),
    "sub_sport": (39, 6, BaseType.ENUM, 1),
    "training_stress_score": (None, 35, _U16, 10),
    "intensity_factor": (None, 36, _U16, 1000),
    "threshold_power": (None, 45, _U16, 1),
    "first_lap_index": (None, 25, _U16, 1),
    "num_laps": (None, 26, _U16, 1),
}


def recording_to_fit(
    recording: Recording, *, ftp: float | None = None, timezone: str | tzinfo = "UTC"
) -> bytes:
    """The recording as a FIT activity file; the session's metrics are ``ride_metrics`` at ``ftp``.

    Samples keep their recorded times (rounded to whole seconds, FIT's resolution) and values (in FIT's
    units); a value FIT cannot hold (NaN, out of its field's range) is written as FIT's invalid value.
    """
    metrics = ride_metrics(recording, ftp, timezone=timezone)
    start = fit_timestamp(metrics.start_time.timestamp())
    stamps = start + np.rint(recording.time).astype(np.int64)
    end = int(stamps[-1])
    writer = FitWriter()

    writer.define(0, FILE_ID, [Field(0, BaseType.ENUM), Field(1, _U16), Field(2, _U16), Field(4, _U32)])
    writer.write(0, FILE_TYPE_ACTIVITY, MANUFACTURER_DEVELOPMENT, 0, start)
    writer.define(1, EVENT, _EVENT_FIELDS)
    writer.write(1, start, EVENT_TIMER, EVENT_TYPE_START)

    names = [name for name in _RECORD_FIELDS if name in recording.channels]
    writer.define(
        2, RECORD, [_TIMESTAMP, *(Field(_RECORD_FIELDS[n][0], _RECORD_FIELDS[n][1]) for n in names)]
    )
    columns = [_fit_column(recording.channels[n], *_RECORD_FIELDS[n][1:]) for n in names]
    events = sorted(
        [(start + round(s), EVENT_TYPE_STOP_ALL) for s, e in recording.pauses if e > s]
        + [(start + round(e), EVENT_TYPE_START) for s, e in recording.pauses if e > s]
    )
    next_event = 0
    for row in zip(stamps.tolist(), *columns, strict=True):
        while next_event < len(events) and events[next_event][0] <= row[0]:
            writer.write(1, events[next_event][0], EVENT_TIMER, events[next_event][1])
            next_event += 1
        writer.write(2, *row)
    writer.write(1, end, EVENT_TIMER, EVENT_TYPE_STOP_ALL)

    summary = _summary(metrics, recording, ftp, start)
    for local, message, event, column in ((3, LAP, EVENT_LAP, 0), (4, SESSION, EVENT_SESSION, 1)):
        fields, values = [_TIMESTAMP, Field(254, _U16), Field(0, BaseType.ENUM), Field(1, BaseType.ENUM)], []
        for name, (lap_number, session_number, base, _scale) in _SUMMARY_FIELDS.items():
            number = lap_number if column == 0 else session_number
            if number is not None:
                fields.append(Field(number, base))
                values.append(summary[name])
        writer.define(local, message, fields)
        writer.write(local, end, 0, event, EVENT_TYPE_STOP, *values)

    enum = BaseType.ENUM
    activity_fields = [
        _TIMESTAMP,
        Field(0, _U32),
        Field(1, _U16),
        Field(2, enum),
        Field(3, enum),
        Field(4, enum),
    ]
    writer.define(5, ACTIVITY, [*activity_fields, Field(5, _U32)])
    local_end = end + int((metrics.start_time_local.utcoffset() or timedelta(0)).total_seconds())
    writer.write(5, end, summary["total_timer_time"], 1, 0, EVENT_ACTIVITY, EVENT_TYPE_STOP, local_end)
    return writer.finish()


def _summary(
    metrics: RideMetrics, recording: Recording, ftp: float | None, start: int
) -> dict[str, int | None]:
    """The lap and session values in FIT units (scaled integers), None where the ride has none."""
    values: dict[str, float | None] = {
        "start_time": start,
        "total_elapsed_time": metrics.elapsed_seconds,
        "total_timer_time": metrics.timer_seconds,
        "total_distance": metrics.distance_meters,
        "avg_speed": metrics.average_speed,
        "max_speed": metrics.max_speed,
        "avg_heart_rate": metrics.average_heart_rate,
        "max_heart_rate": metrics.max_heart_rate,
        "avg_cadence": metrics.average_cadence,
        "avg_power": metrics.average_power,
        "max_power": metrics.max_power,
        "total_ascent": metrics.elevation_gain_meters,
        "normalized_power": metrics.normalized_power,
        "total_work": metrics.work_kj * 1000 if metrics.work_kj is not None else None,
        "total_moving_time": metrics.moving_seconds,
        "sport": _enum("sport", recording.sport),
        "sub_sport": _enum("sub_sport", recording.sub_sport),
        "training_stress_score": metrics.tss,
        "intensity_factor": metrics.intensity_factor,
        "threshold_power": ftp,
        "first_lap_index": 0,
        "num_laps": 1,
    }
    return {
        name: _fit_value(values[name], base, scale, 0)
        for name, (_l, _s, base, scale) in _SUMMARY_FIELDS.items()
    }


def _fit_column(values: np.ndarray, base: BaseType, scale: float, offset: float) -> list[int | None]:
    """A channel in a FIT field's units: round((value + offset) * scale), None where it cannot be held."""
    scaled = np.rint((values + offset) * scale)
    low, high = _range(base)
    with np.errstate(invalid="ignore"):
        holdable = (scaled >= low) & (scaled <= high)
    out = np.full(values.size, None, dtype=object)
    out[holdable] = scaled[holdable].astype(np.int64).tolist()
    return out.tolist()


def _fit_value(value: float | None, base: BaseType, scale: float, offset: float) -> int | None:
    if value is None or not math.isfinite(value):
        return None
    scaled = round((value + offset) * scale)
    low, high = _range(base)
    return scaled if low <= scaled <= high else None


def _range(base: BaseType) -> tuple[int, int]:
    """The values a FIT base type holds, its invalid value (the largest: 0x7F..., 0xFF...) excluded."""
    bits = base.size * 8
    if base in (BaseType.SINT8, BaseType.SINT16, BaseType.SINT32):
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 2
    return 0, 2**bits - 2


def _enum(type_name: str, value: str | None) -> int | None:
    """A FIT enum value from its profile name ("cycling" -> 2), None when unknown."""
    if value is None:
        return None
    return next((number for number, name in FIELD_TYPES[type_name].enum.items() if name == value), None)
