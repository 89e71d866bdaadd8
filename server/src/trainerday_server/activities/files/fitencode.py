"""Recording → FIT activity file, the inverse of ``fit.decode_fit`` (to the FIT profile's resolution).

Serves ``GET /activities/{id}/fit`` for rides uploaded as TCX or GPX, and builds synthetic rides for tests
and benchmarks. The file has what Garmin's minimal activity has: file_id, timer events (pauses as stop/start
pairs), one record per sample, a lap, a session (sport and the device summary, if any) and an activity.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from fitdecode import profile  # type: ignore[import-untyped]

from trainerday_server.activities.recording import DeviceSummary, Recording
from trainerday_server.fitfile import BaseType, Field, FitWriter, fit_timestamp

_FILE_ID, _EVENT, _RECORD, _LAP, _SESSION, _ACTIVITY = 0, 21, 20, 19, 18, 34
_MANUFACTURER_DEVELOPMENT = 255
_TIMER, _START, _STOP_ALL = 0, 0, 4

# channel -> record field, and how a value becomes the field's integer (FIT profile scale and offset).
_RECORD_FIELDS: dict[str, tuple[Field, float, float]] = {
    "latitude": (Field(0, BaseType.SINT32), 2**31 / 180.0, 0.0),
    "longitude": (Field(1, BaseType.SINT32), 2**31 / 180.0, 0.0),
    "altitude": (Field(78, BaseType.UINT32), 5.0, 500.0),  # enhanced_altitude
    "heartRate": (Field(3, BaseType.UINT8), 1.0, 0.0),
    "cadence": (Field(4, BaseType.UINT8), 1.0, 0.0),
    "distance": (Field(5, BaseType.UINT32), 100.0, 0.0),
    "speed": (Field(73, BaseType.UINT32), 1000.0, 0.0),  # enhanced_speed
    "power": (Field(7, BaseType.UINT16), 1.0, 0.0),
    "temperature": (Field(13, BaseType.SINT8), 1.0, 0.0),
}
_TYPE_RANGE = {
    BaseType.SINT8: (-127, 126),
    BaseType.UINT8: (0, 254),
    BaseType.UINT16: (0, 65534),
    BaseType.SINT32: (-(2**31) + 1, 2**31 - 2),
    BaseType.UINT32: (0, 2**32 - 2),
}  # the type's range less its invalid value
_SPORTS = {name: number for number, name in profile.MESSAGE_TYPES[_SESSION].fields[5].type.enum.items()}
_SUB_SPORTS = {name: number for number, name in profile.MESSAGE_TYPES[_SESSION].fields[6].type.enum.items()}


def encode_fit(recording: Recording) -> bytes:
    """A FIT activity file holding the recording's samples, pauses, sport and device summary."""
    start = fit_timestamp(recording.start_time.timestamp())
    timestamps = start + np.rint(recording.time).astype(np.int64)
    end = int(timestamps[-1])
    writer = FitWriter()
    writer.define(
        0, _FILE_ID, [Field(0, BaseType.ENUM), Field(1, BaseType.UINT16), Field(4, BaseType.UINT32)]
    )
    writer.write(0, 4, _MANUFACTURER_DEVELOPMENT, start)  # type 4: activity

    writer.define(1, _EVENT, [Field(253, BaseType.UINT32), Field(0, BaseType.ENUM), Field(1, BaseType.ENUM)])
    writer.write(1, start, _TIMER, _START)
    pauses = [(start + round(low), start + round(high)) for low, high in recording.pauses]
    _write_records(writer, recording, timestamps, pauses)
    writer.write(1, end, _TIMER, _STOP_ALL)

    elapsed = float(end - start)
    timer = elapsed - sum(high - low for low, high in pauses)
    summary = recording.summary or DeviceSummary()
    if summary.distance_meters is None and recording.has("distance"):
        summary = replace(summary, distance_meters=float(np.nanmax(recording.channels["distance"])))
    writer.define(3, _LAP, [Field(253, BaseType.UINT32), Field(2, BaseType.UINT32), *_times_and_distance()])
    writer.write(3, end, start, *_scaled_times(elapsed, timer, summary))
    writer.define(
        4,
        _SESSION,
        [
            Field(253, BaseType.UINT32),
            Field(2, BaseType.UINT32),
            Field(5, BaseType.ENUM),
            Field(6, BaseType.ENUM),
            *_times_and_distance(),
            Field(16, BaseType.UINT8),
            Field(17, BaseType.UINT8),
            Field(18, BaseType.UINT8),
            Field(20, BaseType.UINT16),
            Field(21, BaseType.UINT16),
            Field(22, BaseType.UINT16),
        ],
    )
    writer.write(
        4,
        end,
        start,
        _SPORTS.get(recording.sport or ""),
        _SUB_SPORTS.get(recording.sub_sport or ""),
        *_scaled_times(elapsed, timer, summary),
        *(
            _whole(value)
            for value in (
                summary.average_heart_rate,
                summary.max_heart_rate,
                summary.average_cadence,
                summary.average_power,
                summary.max_power,
                summary.total_ascent_meters,
            )
        ),
    )
    writer.define(
        5,
        _ACTIVITY,
        [Field(253, BaseType.UINT32), Field(0, BaseType.UINT32), Field(1, BaseType.UINT16)]
        + [Field(number, BaseType.ENUM) for number in (2, 3, 4)],
    )
    writer.write(5, end, round(timer * 1000), 1, 0, 26, 1)  # manual, activity event, stop
    return writer.finish()


def _write_records(
    writer: FitWriter, recording: Recording, timestamps: np.ndarray, pauses: list[tuple[int, int]]
) -> None:
    """One record per sample, with a timer stop before and a start after each pause, in time order."""
    channels = [channel for channel in _RECORD_FIELDS if channel in recording.channels]
    writer.define(2, _RECORD, [Field(253, BaseType.UINT32)] + [_RECORD_FIELDS[c][0] for c in channels])
    columns = [timestamps.tolist()] + [_integers(recording.channels[c], *_RECORD_FIELDS[c]) for c in channels]
    events = iter(pauses)
    pause = next(events, None)
    for values in zip(*columns, strict=True):
        while pause is not None and values[0] > pause[0]:
            writer.write(1, pause[0], _TIMER, _STOP_ALL)
            writer.write(1, pause[1], _TIMER, _START)
            pause = next(events, None)
        writer.write(2, *values)


def _integers(values: np.ndarray, field: Field, scale: float, offset: float) -> list[int | None]:
    """The field's integers for a channel's values; None (FIT's invalid value) for NaN."""
    low, high = _TYPE_RANGE[field.base_type]
    scaled = np.clip(np.rint((values + offset) * scale), low, high)
    return [None if np.isnan(value) else int(value) for value in scaled.tolist()]


def _times_and_distance() -> list[Field]:
    return [Field(7, BaseType.UINT32), Field(8, BaseType.UINT32), Field(9, BaseType.UINT32)]


def _scaled_times(elapsed: float, timer: float, summary: DeviceSummary) -> tuple[int, int, int | None]:
    elapsed = summary.elapsed_seconds or elapsed
    timer = summary.timer_seconds or timer
    distance = summary.distance_meters
    return round(elapsed * 1000), round(timer * 1000), None if distance is None else round(distance * 100)


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)
