"""FIT activity files → Recording, salvaging what damaged files still hold.

A FIT file is one or more chained segments (header, messages, CRC). This module walks the segments, checks
headers and CRCs, and turns what the segments hold into a Recording. The messages inside a segment are read
by a *body decoder*: :func:`read_body_with_fitdecode` (fitdecode, the reference) or the much faster
:func:`trainerday_server.activities.files.fitfast.read_body`, which gives up (``FastPathUnsupported``) on
anything unusual, in which case the whole file is decoded again with fitdecode. Both draw on one WorkBudget
per file, so that no file, however small gzip makes it, costs more than about a second of CPU; and a file may
chain at most MAX_SEGMENTS segments.

Salvage: a segment that ends early (the file was cut mid-record), holds unreadable data, or carries a wrong
or no CRC still gives every message before the damage, and ``Recording.warnings`` says what was wrong and how
much was recovered. Past unreadable data both body decoders resume at the same byte, where messages read
again (fitfast's resync), so a damaged byte that sends the file to fitdecode loses no more of the ride.
A file with no valid FIT header or no timed records is refused (ActivityFileError).
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import fitdecode
import numpy as np

from trainerday_server.activities.recording import DeviceSummary, Recording
from trainerday_server.errors import ActivityFileError
from trainerday_server.fitfile import FIT_EPOCH_OFFSET, crc16

from .build import EARLIEST_TIME, LATEST_TIME, build_recording
from .fitbody import (
    FIT_DATETIME_MIN,
    MAX_MESSAGES,
    MAX_RECORDS,
    MAX_WORK,
    MESG_EVENT,
    MESG_FILE_ID,
    MESG_RECORD,
    MESG_SESSION,
    MESG_SPORT,
    MESSAGE_FIELDS,
    RECORD_FIELDS,
    WORK_PER_FITDECODE_VALUE,
    BodyStop,
    SegmentContent,
    WorkBudget,
    keep_message,
    too_many_records,
)
from .fitfast import FastPathUnsupported, read_body, resync_offset

# Devices chain a few segments (a multisport file one per sport, a settings file before the activity); each
# costs little, but 14 bytes make one, so without a bound a small gzipped upload could hold millions.
MAX_SEGMENTS = 100

# For each channel the record fields that feed it, best first.
CHANNEL_SOURCES: dict[str, tuple[str, ...]] = {
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
SEMICIRCLES_TO_DEGREES = 180.0 / 2**31
TIMER_STOPS = frozenset({"stop", "stop_all", "stop_disable", "stop_disable_all"})


BodyReader = Callable[[bytes, int, int, WorkBudget], SegmentContent]


@dataclass(frozen=True, slots=True)
class _Header:
    offset: int
    body_end: int  # as declared; may lie beyond the end of the file
    crc_ok: bool  # False only when the header carries a CRC and it is wrong


def decode_fit(data: bytes, *, fast: bool = True) -> Recording:
    """Decode a FIT activity file: the fast decoder first, fitdecode where it gives up (the results are
    identical), within the file's WorkBudget. ``fast=False`` is fitdecode alone and unbounded: the reference
    for tests and benchmarks, never for uploads."""
    if not fast:
        return _decode(data, read_body_with_fitdecode, WorkBudget(left=sys.maxsize))
    budget = WorkBudget(MAX_WORK)
    try:
        return _decode(data, read_body, budget)
    except FastPathUnsupported as unsupported:
        budget.slow_because = str(unsupported)
        return _decode(data, read_body_with_fitdecode, budget)


def _decode(data: bytes, read_body: BodyReader, budget: WorkBudget) -> Recording:
    columns: list[dict[str, np.ndarray]] = []  # of each segment that holds records
    messages: dict[int, list[dict[int, Any]]] = {number: [] for number in MESSAGE_FIELDS}
    warnings: list[str] = []
    records = 0
    for index, header in enumerate(_segments(data, warnings)):
        if index == MAX_SEGMENTS:
            _too_many_segments(header, records, warnings)
            break
        content = read_body(data, header.offset, header.body_end, budget)
        records += content.record_count
        if records > MAX_RECORDS:
            raise too_many_records()
        if content.record_count:
            columns.append(content.columns)
        for number, kept in content.messages.items():
            messages[number] += kept[: MAX_MESSAGES - len(messages[number])]
        for offset, size in content.skipped:
            warnings.append(
                f"skipped {size:,} byte{'s' if size > 1 else ''} of damaged data at byte {offset:,}; "
                "the ride continues after it"
            )
        problems = _segment_problems(data, header, content)
        if problems:
            where = f"chained FIT segment {index + 1} (from byte {header.offset:,}): " if index else ""
            problems.append(f"{content.record_count:,} records recovered")
            warnings.append(where + "; ".join(problems))
    if any(len(kept) == MAX_MESSAGES for kept in messages.values()):
        warnings.append(f"over {MAX_MESSAGES:,} messages of one kind; the rest were ignored")
    return _recording(columns, messages, warnings)


def _too_many_segments(header: _Header, records: int, warnings: list[str]) -> None:
    """Past MAX_SEGMENTS: keep the ride the segments so far hold, with a warning; refuse if they hold none."""
    where = f"segment {MAX_SEGMENTS + 1} starts at byte {header.offset:,}"
    if not records:
        raise ActivityFileError(
            f"this FIT file chains more than {MAX_SEGMENTS} segments and the first {MAX_SEGMENTS} hold no "
            f"records ({where})",
            extra={"offset": header.offset},
        )
    warnings.append(
        f"the file chains more than {MAX_SEGMENTS} FIT segments; the rest of it was ignored ({where})"
    )


def _segments(data: bytes, warnings: list[str]) -> Iterator[_Header]:
    """The chained segments' headers in order; the first must be valid, junk after the last is reported."""
    if not data:
        raise ActivityFileError("the file is empty")
    offset = 0
    while offset < len(data):
        header = _read_header(data, offset)
        if isinstance(header, str):
            if offset == 0:
                raise ActivityFileError(f"not a FIT file: {header}", extra={"offset": 0})
            if data[offset:].strip(b"\0"):  # zero padding after the last segment is harmless
                warnings.append(
                    f"the last {len(data) - offset:,} bytes (from byte {offset:,}) are not FIT data "
                    f"({header}) and were ignored"
                )
            return
        yield header
        offset = header.body_end + 2


def _read_header(data: bytes, offset: int) -> _Header | str:
    """The header at ``offset``, or why there is none."""
    if data[offset + 8 : offset + 12] != b".FIT":
        return f"no FIT header at byte {offset:,}"
    size = data[offset]
    if size not in (12, 14):
        return f"FIT header at byte {offset:,} gives an unsupported header size of {size} bytes"
    if len(data) - offset < size:
        return f"the file ends inside the FIT header at byte {offset:,}"
    (body_size,) = struct.unpack_from("<I", data, offset + 4)
    crc_ok = True
    if size == 14:
        (stored,) = struct.unpack_from("<H", data, offset + 12)
        crc_ok = stored in (0, crc16(data[offset : offset + 12]))  # 0 means "not computed"
    return _Header(offset, offset + size + body_size, crc_ok)


def _segment_problems(data: bytes, header: _Header, content: SegmentContent) -> list[str]:
    problems = []
    stop = content.stop
    if stop is not None and not stop.truncated:
        problems.append(
            f"unreadable data at byte {stop.offset:,} ({stop.reason}); "
            f"the segment's remaining {header.body_end - stop.offset:,} bytes were skipped"
        )
    elif stop is not None and stop.offset < len(data):
        problems.append(f"file ends mid-record at byte {len(data):,}")
    elif stop is not None:
        problems.append(
            f"file ends at byte {len(data):,}, before the end its header declares ({header.body_end:,})"
        )
    if not header.crc_ok:
        problems.append("header CRC invalid")
    if header.body_end + 2 > len(data):
        problems.append("CRC missing")
    else:
        (stored,) = struct.unpack_from("<H", data, header.body_end)
        if stored != crc16(memoryview(data)[header.offset : header.body_end]):
            problems.append("CRC invalid")
    return problems


# --- the reference body decoder -------------------------------------------------------------------------


def read_body_with_fitdecode(data: bytes, start: int, body_end: int, budget: WorkBudget) -> SegmentContent:
    """Read one segment's messages with fitdecode (the reference). Where a message cannot be read before the
    segment's end (damage), read on from the byte where messages read again, found as the fast decoder finds
    it (fitfast.resync_offset), with the definitions in force replayed before it; else stop there."""
    end = min(body_end + 2, len(data))
    columns = {name: array("d") for name in RECORD_FIELDS}
    messages: dict[int, list[dict[int, Any]]] = {number: [] for number in MESSAGE_FIELDS}
    skipped: list[tuple[int, int]] = []
    definitions: dict[int, bytes] = {}  # the definition message in force for each local type
    developer: list[bytes] = []  # developer data ids and field descriptions, each after its definition
    last_timestamp = 0
    source: Any = data[start:end]  # then, after damage, a _Replay of the rest
    replayed = 0  # bytes of ``source`` before the file's bytes at ``resumed``
    resumed = start
    while True:
        reader = fitdecode.FitReader(
            source,
            processor=None,  # keep date_time values as FIT seconds
            check_crc=fitdecode.CrcCheck.DISABLED,  # checked for the whole segment by the caller
            error_handling=fitdecode.ErrorHandling.IGNORE,  # decode what can be decoded
            keep_raw_chunks=True,  # for the offsets of damage
        )
        decoded_up_to = resumed if replayed else start
        frames = iter(reader)
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                return SegmentContent(_as_arrays(columns), messages, None, skipped)
            except Exception as exc:  # hostile input makes fitdecode raise more than FitError
                failure = exc
                break
            # Replayed frames cost work too (resyncs could otherwise replay definitions for free).
            budget.spend(WORK_PER_FITDECODE_VALUE * (1 + _value_count(frame)), decoded_up_to)
            if frame.chunk.offset < replayed:
                continue
            decoded_up_to = resumed + frame.chunk.offset - replayed + len(frame.chunk.bytes)
            if isinstance(frame, fitdecode.FitDefinitionMessage):
                definitions[frame.local_mesg_num] = frame.chunk.bytes
            elif isinstance(frame, fitdecode.FitDataMessage):
                if frame.global_mesg_num == MESG_RECORD:
                    if len(columns["timestamp"]) == MAX_RECORDS:
                        raise too_many_records()
                    _append_record(frame, columns)
                    moment = columns["timestamp"][-1]  # its own or its compressed header's, as read
                    last_timestamp = int(moment) if moment == moment else last_timestamp
                    continue
                last_timestamp = _timestamp(frame, last_timestamp)
                if frame.global_mesg_num in MESSAGE_FIELDS:
                    keep_message(messages, frame.global_mesg_num, _message_values(frame))
                elif frame.global_mesg_num in _DEVELOPER_MESSAGES and frame.local_mesg_num in definitions:
                    developer.append(definitions[frame.local_mesg_num] + frame.chunk.bytes)
        if decoded_up_to >= body_end:
            return SegmentContent(_as_arrays(columns), messages, None, skipped)
        truncated = isinstance(failure, fitdecode.FitEOFError) and end == len(data)
        resume_at = None
        if not truncated:
            resume_at = resync_offset(
                data, decoded_up_to, min(body_end, len(data)), definitions, last_timestamp, budget
            )
            if budget.left < 0:
                raise budget.exhausted(decoded_up_to)
        if resume_at is None:
            stop = BodyStop(decoded_up_to, truncated, "" if truncated else _reason(failure))
            return SegmentContent(_as_arrays(columns), messages, stop, skipped)
        skipped.append((decoded_up_to, resume_at - decoded_up_to))
        replay = b"".join(developer) + b"".join(definitions.values())
        head = _replay_header(data[start : start + data[start]], replay, body_end - resume_at)
        source, replayed, resumed = _Replay(head, data, resume_at, end), len(head), resume_at


# Messages that give developer fields their meaning: replayed after a resync with the definitions.
_DEVELOPER_MESSAGES = (206, 207)  # field_description, developer_data_id


def _timestamp(frame: fitdecode.FitDataMessage, last: int) -> int:
    """The message's time in FIT seconds, else ``last``: as the fast decoder follows it, its last valid field
    253 (named or not: the profile does not know every message), or its compressed header's."""
    for field_data in reversed(frame.fields):
        definition = field_data.field_def
        number = definition.def_num if definition is not None and not definition.is_dev else None
        if (number == 253 or (definition is None and field_data.name == "timestamp")) and isinstance(
            field_data.raw_value, int
        ):
            return field_data.raw_value
    return last


def _replay_header(header: bytes, messages: bytes, rest: int) -> bytes:
    """The segment's ``header``, declaring a body of ``messages`` and the ``rest`` bytes that follow them,
    then ``messages``; a 14-byte header's CRC is set to 0, "not computed"."""
    patched = bytearray(header)
    struct.pack_into("<I", patched, 4, len(messages) + rest)
    if len(patched) == 14:
        patched[12:14] = b"\0\0"
    return bytes(patched) + messages


class _Replay:
    """A file for fitdecode: ``head``, then ``data`` from ``offset`` to ``end``, read without copying the
    rest of the file for every resync."""

    def __init__(self, head: bytes, data: bytes, offset: int, end: int) -> None:
        self._head, self._data, self._at, self._end, self._read = head, memoryview(data), offset, end, 0

    def tell(self) -> int:
        return self._read

    def read(self, size: int = -1) -> bytes:
        chunk = b""
        if self._read < len(self._head):
            chunk = self._head[self._read : self._read + size if size >= 0 else None]
        rest = size - len(chunk) if size >= 0 else self._end - self._at
        if rest > 0 and self._at < self._end:
            taken = bytes(self._data[self._at : min(self._end, self._at + rest)])
            self._at += len(taken)
            chunk += taken
        self._read += len(chunk)
        return chunk


def _value_count(frame: object) -> int:
    """The field values (or definitions) fitdecode read for this frame: what its work grows with."""
    if isinstance(frame, fitdecode.FitDataMessage):
        return len(frame.fields)
    if isinstance(frame, fitdecode.FitDefinitionMessage):
        return len(frame.field_defs) + len(frame.dev_field_defs or ())
    return 0


def _append_record(frame: fitdecode.FitDataMessage, columns: dict[str, array]) -> None:
    """One record's values: the message's own fields first, values expanded from components second."""
    own: dict[str, Any] = {}
    expanded: dict[str, Any] = {}
    for field_data in frame.fields:
        definition = field_data.field_def
        if definition is not None and definition.is_dev:
            continue
        values = own if definition is not None else expanded
        if values.get(field_data.name) is None:
            values[field_data.name] = field_data.value
    for name, column in columns.items():
        value = own.get(name)
        if value is None:
            value = expanded.get(name)
        column.append(float(value) if isinstance(value, int | float) else np.nan)


def _message_values(frame: fitdecode.FitDataMessage) -> dict[int, Any]:
    wanted = MESSAGE_FIELDS[frame.global_mesg_num]
    values: dict[int, Any] = {}
    for field_data in frame.fields:
        definition = field_data.field_def
        if definition is None or definition.is_dev or definition.def_num not in wanted:
            continue
        if values.get(definition.def_num) is None:
            values[definition.def_num] = field_data.value
    return values


def _reason(exc: Exception) -> str:
    text = str(exc)
    if isinstance(exc, fitdecode.FitParseError):
        text = text.partition(": ")[2] or text  # drop fitdecode's own "@ offset", relative to the segment
    return text or type(exc).__name__


def _as_arrays(columns: dict[str, array]) -> dict[str, np.ndarray]:
    return {name: np.frombuffer(column, dtype=np.float64) for name, column in columns.items()}


# --- from segments to a Recording -----------------------------------------------------------------------


def _recording(
    segments: list[dict[str, np.ndarray]], messages: dict[int, list[dict[int, Any]]], warnings: list[str]
) -> Recording:
    """The Recording of the record columns of the segments holding records and the messages kept."""
    file_type = next((m[0] for m in messages[MESG_FILE_ID] if isinstance(m.get(0), str)), None)
    if file_type == "course":
        raise ActivityFileError("this FIT file is a course (a planned route), not a recorded activity")
    if not segments:
        kind = f" (its file type is {file_type!r})" if file_type and file_type != "activity" else ""
        damage = f": {'; '.join(warnings)}" if warnings else ""
        raise ActivityFileError(f"this FIT file holds no activity records{kind}{damage}")

    # The columns are taken out of the segments' (a single segment's arrays are used as they are), and the
    # times and channels handed to build_recording with no other reference held here: it can let each
    # array go as soon as it has filtered or ordered it.
    columns = _joined(segments)
    segments.clear()

    sessions = sorted(messages[MESG_SESSION], key=lambda s: s[2] if _is_datetime(s.get(2)) else 0)
    summary = _device_summary(sessions)
    sport, sub_sport = _sport(
        [(s.get(5), s.get(6)) for s in sessions] or [(m.get(0), m.get(1)) for m in messages[MESG_SPORT]]
    )
    return build_recording(
        format="fit",
        epoch=_epoch(columns.pop("timestamp")),
        channels=_channels(columns),
        noun="record",
        warnings=warnings,
        pauses=_pauses(messages[MESG_EVENT]),
        sport=sport,
        sub_sport=sub_sport,
        device=_device(messages[MESG_FILE_ID]),
        summary=summary,
    )


def _epoch(timestamps: np.ndarray) -> np.ndarray:
    """FIT times (in place) as Unix times, NaN out of range: that takes in FIT's relative times too (below
    FIT_DATETIME_MIN)."""
    timestamps += FIT_EPOCH_OFFSET
    timestamps[~((timestamps >= EARLIEST_TIME) & (timestamps < LATEST_TIME))] = np.nan
    return timestamps


def _channels(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The channels of the record columns, taken out of ``columns`` (their arrays reused, in place)."""
    channels = {}
    for channel, sources in CHANNEL_SOURCES.items():
        found = [columns.pop(source) for source in sources if source in columns]
        if not found:
            continue  # no record has it: no column of NaN to carry
        values = found[0]
        for other in found[1:]:
            missing = np.isnan(values)
            values[missing] = other[missing]
        if channel in ("latitude", "longitude"):
            values *= SEMICIRCLES_TO_DEGREES
        channels[channel] = values
    return channels


def _joined(segments: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The segments' columns end to end (NaN where a segment lacks a field); one segment's as they are."""
    if len(segments) == 1:
        return segments[0]
    joined = {}
    for name in RECORD_FIELDS:
        if any(name in segment for segment in segments):
            joined[name] = np.concatenate(
                [segment.get(name, np.full(segment["timestamp"].shape[0], np.nan)) for segment in segments]
            )
    return joined


def _pauses(events: list[dict[int, Any]]) -> list[tuple[float, float]]:
    """Intervals (Unix seconds) from a timer stop to the next timer start."""
    timer = sorted(
        ((e[253], e.get(1)) for e in events if e.get(0) == "timer" and _is_datetime(e.get(253))),
        key=lambda event: event[0],
    )
    pauses = []
    stopped_at: int | None = None
    for timestamp, kind in timer:
        if kind in TIMER_STOPS and stopped_at is None:
            stopped_at = timestamp
        elif kind == "start" and stopped_at is not None:
            pauses.append((float(stopped_at + FIT_EPOCH_OFFSET), float(timestamp + FIT_EPOCH_OFFSET)))
            stopped_at = None
    return pauses


def _sport(values: list[tuple[Any, Any]]) -> tuple[str | None, str | None]:
    """Sport and sub-sport of the sessions (or sport messages); several different sports make a multisport."""
    pairs = [(_name(sport), _name(sub_sport)) for sport, sub_sport in values]
    sports = {sport for sport, _ in pairs if sport is not None}
    if len(sports) > 1:
        return "multisport", None
    sub_sports = {sub for _, sub in pairs if sub is not None}
    return (sports.pop() if sports else None), (sub_sports.pop() if len(sub_sports) == 1 else None)


def _device_summary(sessions: list[dict[int, Any]]) -> DeviceSummary | None:
    """The device's own summary, as written. A session repeated with the same start time (a chained file
    that holds one activity twice) counts once; several distinct sessions (multisport) are added up,
    averages weighted by timer time, maxima the largest."""
    distinct: dict[Any, dict[int, Any]] = {}
    for session in sessions:
        distinct.setdefault(session.get(2) if _is_datetime(session.get(2)) else id(session), session)
    sessions = list(distinct.values())
    if not sessions:
        return None
    if len(sessions) == 1:
        only = sessions[0]

        def total(number: int) -> float | None:
            return _number(only.get(number))

        maximum = average = total
    else:
        weights = [_number(s.get(8)) or _number(s.get(7)) or 0.0 for s in sessions]

        def total(number: int) -> float | None:
            values = [v for v in (_number(s.get(number)) for s in sessions) if v is not None]
            return sum(values) if values else None

        def maximum(number: int) -> float | None:
            values = [v for v in (_number(s.get(number)) for s in sessions) if v is not None]
            return max(values) if values else None

        def average(number: int) -> float | None:
            values = (_number(s.get(number)) for s in sessions)
            pairs = [(v, w) for v, w in zip(values, weights, strict=True) if v is not None]
            if not pairs:
                return None
            weight = sum(w for _, w in pairs)
            if weight <= 0:
                return sum(v for v, _ in pairs) / len(pairs)
            return sum(v * w for v, w in pairs) / weight

    return DeviceSummary(
        elapsed_seconds=total(7),
        timer_seconds=total(8),
        distance_meters=total(9),
        total_ascent_meters=total(22),
        average_power=average(20),
        max_power=maximum(21),
        normalized_power=average(34),
        average_heart_rate=average(16),
        max_heart_rate=maximum(17),
        average_cadence=average(18),
        work_joules=total(48),
        tss=total(35),
        intensity_factor=average(36),
        ftp=maximum(45),
        sessions=len(sessions),
    )


def _device(file_ids: list[dict[int, Any]]) -> str | None:
    if not file_ids:
        return None
    file_id = file_ids[0]
    manufacturer, product = file_id.get(1), file_id.get(8) or file_id.get(2)
    parts = [str(part).strip() for part in (manufacturer, product) if part is not None]
    return " ".join(part for part in parts if part) or None


def _is_datetime(value: Any) -> bool:
    return isinstance(value, int) and value >= FIT_DATETIME_MIN


def _name(value: Any) -> str | None:
    """An enum's name; numbers the profile does not know are no better than nothing."""
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
