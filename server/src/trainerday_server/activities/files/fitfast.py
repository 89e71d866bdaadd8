"""A fast FIT body decoder: a plain walk over the messages; record fields cut out with numpy.

fitdecode builds Python objects for every field of every message, some 50 µs a record. Here the walk only
notes where each record starts; afterwards the fields we want are cut out of the file for all records of
one definition at once and scaled with fitdecode's own profile, so both decoders agree value for value (a
test holds them to it on every sample file). Anything unusual raises FastPathUnsupported, and fitdecode
decodes the file instead: data before its definition, messages overrunning their segment, compressed
speed/distance, array or oddly typed fields we read. A field defined twice in a message is read as the
reference reads it: the first valid value is the field's, and the last valid timestamp is the one that
compressed timestamp headers count from.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fitdecode import profile, types

from .fitbody import (
    FIT_DATETIME_MIN,
    MAX_RECORDS,
    MESG_RECORD,
    MESSAGE_FIELDS,
    RECORD_FIELDS,
    RESYNC_MAX_BACKSTEP_SECONDS,
    RESYNC_MAX_GAP_SECONDS,
    WORK_PER_DEFINITION_FIELD,
    WORK_PER_MESSAGE_READ,
    BodyStop,
    SegmentContent,
    WorkBudget,
    keep_message,
    too_many_records,
)

TIMESTAMP_FIELD = 253

# Numeric FIT base types: numpy/struct code and the raw value meaning "invalid" (None: NaN, for floats).
_NUMERIC: dict[int, tuple[str, int | None]] = {
    0x00: ("B", 0xFF),
    0x01: ("b", 0x7F),
    0x02: ("B", 0xFF),
    0x83: ("h", 0x7FFF),
    0x84: ("H", 0xFFFF),
    0x85: ("i", 0x7FFFFFFF),
    0x86: ("I", 0xFFFFFFFF),
    0x88: ("f", None),
    0x89: ("d", None),
    0x0A: ("B", 0),
    0x8B: ("H", 0),
    0x8C: ("I", 0),
    0x8E: ("q", 0x7FFFFFFFFFFFFFFF),
    0x8F: ("Q", 0xFFFFFFFFFFFFFFFF),
    0x90: ("Q", 0),
}
_STRING = 0x07

_RECORD_PROFILE = {
    number: f for number, f in profile.MESSAGE_TYPES[MESG_RECORD].fields.items() if f.name in RECORD_FIELDS
}
# For each message we keep, the fields to read: those we want and those that select their subfields.
_MESSAGE_READS = {
    number: frozenset(wanted).union(
        reference.def_num
        for wanted_number in wanted
        for subfield in profile.MESSAGE_TYPES[number].fields[wanted_number].subfields or ()
        for reference in subfield.ref_fields
    )
    for number, wanted in MESSAGE_FIELDS.items()
}
# Record fields whose components expand into fields we read, other than the plain widening of altitude and
# speed into enhanced_altitude and enhanced_speed (same values, which we read from the fields themselves).
_UNSUPPORTED_COMPONENTS = {
    number
    for number, f in profile.MESSAGE_TYPES[MESG_RECORD].fields.items()
    if f.components and any(c.name in RECORD_FIELDS for c in f.components)
} - {2, 6}


# Record fields read into the column of the field their channel prefers (see _record_columns).
_FOLDED = {"speed": "enhanced_speed", "altitude": "enhanced_altitude"}


class FastPathUnsupported(Exception):
    """The fast path does not handle something in this file; decode it with fitdecode instead."""


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    offset: int  # within the message
    code: str  # numpy type code with byte order
    invalid: int | None
    scale: float | None
    value_offset: float | None


@dataclass(frozen=True, slots=True)
class _FieldReader:
    number: int
    offset: int
    unpacker: struct.Struct
    parse: Callable[[Any], Any]  # fitdecode's: the invalid value becomes None


@dataclass(slots=True)
class _Definition:
    global_number: int
    size: int  # bytes of a data message after its header byte
    # To follow the time for compressed timestamp headers: the last valid timestamp field counts. The last
    # one is read; others, if the timestamp is defined more than once, only when it is invalid.
    timestamp: struct.Struct | None = None
    timestamp_offset: int = 0
    earlier_timestamp_offsets: tuple[int, ...] = ()
    columns: tuple[_Column, ...] | None = None  # record messages: the fields we read
    readers: tuple[_FieldReader, ...] | None = None  # other messages we read
    # Offsets of record messages' contents: 4 bytes each, as a file (at most 50 MB inflated) fits in an int32.
    rows: array[int] = field(default_factory=lambda: array("i"))


def read_body(data: bytes, start: int, body_end: int, budget: WorkBudget) -> SegmentContent:
    """Read the messages of the segment whose header is at ``start``, like fit.read_body_with_fitdecode."""
    if len(data) >= 1 << 31:
        raise FastPathUnsupported("a file of 2 GiB or more: its offsets do not fit the rows' int32")
    end = min(body_end, len(data))
    definitions: dict[int, _Definition] = {}
    known: dict[bytes, _Definition] = {}  # devices redefine the same layout often; share its plan and rows
    records: list[_Definition] = []
    messages: dict[int, list[dict[int, Any]]] = {number: [] for number in MESSAGE_FIELDS}
    # Records whose time is in a compressed header: their content offsets, and those times.
    compressed_rows, compressed_times = array("i"), array("q")
    record_count = 0
    last_timestamp = 0
    stop = None
    skipped: list[tuple[int, int]] = []
    pos = start + data[start]
    work_left = budget.left  # a local: this loop is the hot path
    try:
        while pos < end:
            header = data[pos]
            if header & 0xC0 == 0x40:
                work_left -= 1
                if work_left < 0:
                    raise budget.exhausted(pos)
                definition_end = _definition_end(data, pos, header, end)
                if definition_end > end:
                    stop = _cut_off(pos, definition_end, body_end, len(data))
                    break
                key = data[pos + 1 : definition_end] + (b"d" if header & 0x20 else b"")
                definition = known.get(key)
                if definition is None:
                    work_left -= WORK_PER_DEFINITION_FIELD * (definition_end - pos) // 3
                    definition = known[key] = _read_definition(data, pos, header)
                    if definition.columns is not None:
                        records.append(definition)
                definitions[header & 0x0F] = definition
                pos = definition_end
                continue
            definition_or_none = definitions.get((header >> 5) & 0x03 if header & 0x80 else header & 0x0F)
            if definition_or_none is None:
                # Damage (neither decoder could read on): resync at the next message that reads again.
                budget.left = work_left
                resumed = _resync(data, pos, end, definitions, last_timestamp, budget)
                work_left = budget.left
                if work_left < 0:
                    raise budget.exhausted(pos)
                if resumed is None:
                    local = (header >> 5) & 0x03 if header & 0x80 else header & 0x0F
                    stop = BodyStop(pos, truncated=False, reason=f"local message {local} not defined")
                    break
                skipped.append((pos, resumed - pos))
                pos = resumed
                continue
            definition = definition_or_none
            content = pos + 1
            pos = content + definition.size
            if pos > end:
                stop = _cut_off(content - 1, pos, body_end, len(data))
                break
            if header & 0x80:
                if definition.timestamp is not None:
                    raise FastPathUnsupported("compressed timestamp header on a message with a timestamp")
                offset = header & 0x1F
                rolled_over = 0x20 if offset < last_timestamp & 0x1F else 0
                last_timestamp = (last_timestamp & ~0x1F) + offset + rolled_over
                if definition.columns is not None:
                    compressed_rows.append(content)
                    compressed_times.append(last_timestamp)
            elif definition.timestamp is not None:
                (value,) = definition.timestamp.unpack_from(data, content + definition.timestamp_offset)
                if value != 0xFFFFFFFF:
                    last_timestamp = value
                elif definition.earlier_timestamp_offsets:
                    last_timestamp = _earlier_valid_timestamp(definition, data, content, last_timestamp)
            if definition.columns is not None:
                record_count += 1
                if record_count > MAX_RECORDS:
                    raise too_many_records()
                definition.rows.append(content)
            else:  # records pay once the walk is over, out of the hot path (MAX_RECORDS bounds them)
                work_left -= 1 if definition.readers is None else WORK_PER_MESSAGE_READ
                if work_left < 0:
                    raise budget.exhausted(content - 1)
                if definition.readers is not None:
                    values = _message_values(definition, data, content)
                    keep_message(messages, definition.global_number, values)
        work_left -= record_count
        if work_left < 0:
            raise budget.exhausted(pos)
    finally:
        budget.left = work_left
    if stop is None and body_end > len(data):
        stop = BodyStop(len(data), truncated=True)
    columns = _record_columns(data, records)
    if compressed_rows:
        _fill_compressed_times(columns, records, compressed_rows, compressed_times)
    return SegmentContent(columns, messages, stop, skipped)


def _resync(
    data: bytes,
    damaged: int,
    end: int,
    definitions: dict[int, _Definition],
    last_timestamp: int,
    budget: WorkBudget,
) -> int | None:
    """The first offset after ``damaged`` where the messages read again, or None within the file's bound.

    A resync point is a data message of a defined local type whose timestamp follows the last one read
    (RESYNC_MAX_GAP_SECONDS), itself followed by a header that reads (or the segment's end); or a
    definition, well formed, of a known message, followed by such a data message of its own type. Cheap
    checks on the header byte come first; every offset tried costs the file's budget a unit of work, and
    every definition looked at its fields' work too.
    """
    if last_timestamp < FIT_DATETIME_MIN:
        return None  # no time read yet: nothing to tell a plausible message from random bytes
    earliest, latest = last_timestamp - RESYNC_MAX_BACKSTEP_SECONDS, last_timestamp + RESYNC_MAX_GAP_SECONDS
    last_offset = min(end, damaged + 1 + budget.resync_offsets_left)
    for offset in range(damaged + 1, last_offset):
        header = data[offset]
        if header & 0x80:
            continue  # a compressed timestamp header carries too little to check
        if header & 0x40:
            definition_end = _plausible_definition_end(data, offset, header, end, budget)
            if budget.left < 0:
                return None  # the caller refuses the file: its work is spent
            if definition_end is None:
                continue
            try:
                candidate = _read_definition(data, offset, header, plans=False)
            except FastPathUnsupported:
                continue
            known = {**definitions, header & 0x0F: candidate}
            if data[definition_end] & 0xC0 or data[definition_end] & 0x0F != header & 0x0F:
                continue
            if _timed_data_reads(data, definition_end, end, known, earliest, latest):
                break
        elif _timed_data_reads(data, offset, end, definitions, earliest, latest):
            break
    else:
        offset = last_offset
    tried = offset - damaged
    budget.resync_offsets_left -= tried
    budget.left -= tried
    return offset if offset < last_offset else None


def resync_offset(
    data: bytes,
    damaged: int,
    end: int,
    definitions: dict[int, bytes],
    last_timestamp: int,
    budget: WorkBudget,
) -> int | None:
    """:func:`_resync` for the reference decoder (fit.read_body_with_fitdecode), so that both decoders resume
    at the same byte: ``definitions`` are the definition messages in force, by local type, as bytes."""
    known = {}
    for local, message in definitions.items():
        try:
            known[local] = _read_definition(message, 0, message[0], plans=False)
        except FastPathUnsupported:
            continue  # no timestamp we can read: its messages are no resync point
    return _resync(data, damaged, end, known, last_timestamp, budget)


def _plausible_definition_end(
    data: bytes, offset: int, header: int, end: int, budget: WorkBudget
) -> int | None:
    """Where a definition at ``offset`` would end, if its bytes look like one and a message follows. Its
    fields, once looked at, are charged to ``budget``."""
    if header & 0x10 or offset + 6 > end or data[offset + 1] != 0 or data[offset + 2] > 1:
        return None
    global_number = int.from_bytes(data[offset + 3 : offset + 5], "big" if data[offset + 2] else "little")
    if global_number not in profile.MESSAGE_TYPES or data[offset + 5] == 0:
        return None
    definition_end = _definition_end(data, offset, header, end)
    if definition_end >= end:
        return None
    budget.left -= WORK_PER_DEFINITION_FIELD * data[offset + 5]
    for at in range(offset + 6, offset + 6 + 3 * data[offset + 5], 3):
        base = types.BASE_TYPES.get(data[at + 2])
        if base is None or data[at + 1] % base.size:
            return None
    return definition_end


def _timed_data_reads(
    data: bytes, offset: int, end: int, definitions: dict[int, _Definition], earliest: int, latest: int
) -> bool:
    """Whether a data message starts at ``offset`` whose timestamp lies within [earliest, latest] and after
    which the next header reads: a definition, a message of a defined type, or the segment's end."""
    definition = definitions.get(data[offset] & 0x0F)
    if definition is None or definition.timestamp is None:
        return False
    following = offset + 1 + definition.size
    if following > end:
        return False
    (timestamp,) = definition.timestamp.unpack_from(data, offset + 1 + definition.timestamp_offset)
    if not earliest <= timestamp <= latest:
        return False
    if following == end:
        return True
    header = data[following]
    if header & 0x80:
        return (header >> 5) & 0x03 in definitions
    return bool(header & 0x40) or header & 0x0F in definitions


def _cut_off(start: int, end: int, body_end: int, file_size: int) -> BodyStop:
    """A message (``start`` to ``end``) runs past its segment. If the file ends inside it, as when a device
    crashes (its header often declaring a body that ends mid-record, too), stop there; else let fitdecode
    judge."""
    if end > file_size and body_end + 2 >= file_size:
        return BodyStop(start, truncated=True)
    raise FastPathUnsupported("message runs past the end of its segment")


def _definition_end(data: bytes, pos: int, header: int, end: int) -> int:
    """Where the definition message at ``pos`` ends; beyond ``end`` if it is cut off."""
    if pos + 6 > end:
        return end + 1
    fields_end = pos + 6 + 3 * data[pos + 5]
    if not header & 0x20:
        return fields_end
    if fields_end >= end:  # the count of developer fields is cut off
        return end + 1
    return fields_end + 1 + 3 * data[fields_end]


def _read_definition(data: bytes, pos: int, header: int, *, plans: bool = True) -> _Definition:
    """The definition message at ``pos``; without ``plans``, only its size and timestamp (what resync needs),
    so that fields the fast path does not read do not matter."""
    endian = ">" if data[pos + 2] else "<"
    (global_number,) = struct.unpack_from(endian + "H", data, pos + 3)
    fields = [tuple(data[at : at + 3]) for at in range(pos + 6, pos + 6 + 3 * data[pos + 5], 3)]
    developer_sizes = []
    if header & 0x20:
        developer_start = pos + 7 + 3 * data[pos + 5]
        developer_end = developer_start + 3 * data[developer_start - 1]
        developer = [data[at : at + 3] for at in range(developer_start, developer_end, 3)]
        if any(number == TIMESTAMP_FIELD for number, _, _ in developer):
            raise FastPathUnsupported("developer field numbered like the timestamp")
        developer_sizes = [size for _, size, _ in developer]
    if any(size == 0 for _, size, _ in fields) or 0 in developer_sizes:
        raise FastPathUnsupported("field of size zero")

    definition = _Definition(global_number, sum(size for _, size, _ in fields) + sum(developer_sizes))
    offset = 0
    layout = []  # (number, offset, size, base type)
    for number, size, base_type in fields:
        layout.append((number, offset, size, base_type))
        offset += size
    timestamps = [field for field in layout if field[0] == TIMESTAMP_FIELD]
    if any(size != 4 or base_type != 0x86 for _, _, size, base_type in timestamps):
        raise FastPathUnsupported("timestamp that is not a uint32")
    if timestamps:
        *earlier, definition.timestamp_offset = (offset for _, offset, _, _ in timestamps)
        definition.timestamp = struct.Struct(endian + "I")
        definition.earlier_timestamp_offsets = tuple(earlier)
    if not plans:
        return definition
    if global_number == MESG_RECORD:
        definition.columns = _record_plan(layout, endian)
    elif global_number in MESSAGE_FIELDS:
        definition.readers = _message_plan(layout, endian, global_number)
    return definition


def _earlier_valid_timestamp(definition: _Definition, data: bytes, content: int, default: int) -> int:
    """The last valid one of the earlier timestamp fields (the last being invalid), else ``default``."""
    assert definition.timestamp is not None
    for offset in reversed(definition.earlier_timestamp_offsets):
        (value,) = definition.timestamp.unpack_from(data, content + offset)
        if value != 0xFFFFFFFF:
            return int(value)
    return default


def _record_plan(layout: list[tuple[int, int, int, int]], endian: str) -> tuple[_Column, ...]:
    columns = []
    for number, offset, size, base_type in layout:
        if number in _UNSUPPORTED_COMPONENTS:
            raise FastPathUnsupported(f"record field {number} expands into fields we read")
        profile_field = _RECORD_PROFILE.get(number)
        if profile_field is None:
            continue
        numeric = _NUMERIC.get(base_type)
        if numeric is None or struct.calcsize(numeric[0]) != size:
            raise FastPathUnsupported(f"record field {profile_field.name} is not a single number")
        if profile_field.components and base_type != profile_field.base_type.identifier:
            raise FastPathUnsupported(f"record field {profile_field.name} is not of its profile type")
        code, invalid = numeric
        scale, value_offset = profile_field.scale, profile_field.offset
        columns.append(_Column(profile_field.name, offset, endian + code, invalid, scale, value_offset))
    return tuple(columns)


def _message_plan(
    layout: list[tuple[int, int, int, int]], endian: str, global_number: int
) -> tuple[_FieldReader, ...]:
    """Readers for the message's single-valued fields that we read (see _MESSAGE_READS)."""
    wanted, read = MESSAGE_FIELDS[global_number], _MESSAGE_READS[global_number]
    readers = []
    for number, offset, size, base_type in layout:
        if number not in read:
            continue
        base = types.BASE_TYPES.get(base_type)
        if base is not None and base_type == _STRING:
            readers.append(_FieldReader(number, offset, struct.Struct(f"{size}s"), base.parse))
        elif base is not None and base.size == size and base_type in _NUMERIC:
            readers.append(_FieldReader(number, offset, struct.Struct(endian + base.fmt), base.parse))
        elif number in wanted:
            raise FastPathUnsupported(f"field {number} of message is not a single value")
    return tuple(readers)


def _message_values(definition: _Definition, data: bytes, content: int) -> dict[int, Any]:
    """The wanted fields' values as fitdecode gives them without a processor (enums named, numbers scaled)."""
    assert definition.readers is not None
    raw: dict[int, list[Any]] = {}  # a field defined twice has two values
    for r in definition.readers:
        raw.setdefault(r.number, []).append(r.parse(r.unpacker.unpack_from(data, content + r.offset)[0]))
    message_profile = profile.MESSAGE_TYPES.get(definition.global_number)
    values = {}
    for number in MESSAGE_FIELDS[definition.global_number]:
        if number not in raw:
            continue
        value = next((value for value in raw[number] if value is not None), None)
        field_profile = message_profile.fields.get(number) if message_profile else None
        if field_profile is not None and value is not None:
            field_profile = _subfield(field_profile, raw)
            value = field_profile.render(value)
            if isinstance(value, int | float):
                if field_profile.scale:
                    value = float(value) / field_profile.scale
                if field_profile.offset:
                    value = value - field_profile.offset
        values[number] = value
    return values


def _subfield(field_profile: Any, raw: dict[int, list[Any]]) -> Any:
    """The subfield that the message's other fields select (e.g. garmin_product for a Garmin's product)."""
    for subfield in field_profile.subfields or ():
        for reference in subfield.ref_fields:
            if reference.raw_value in raw.get(reference.def_num, ()):
                return subfield
    return field_profile


def _record_columns(data: bytes, records: list[_Definition]) -> dict[str, np.ndarray]:
    """Cut the fields we read out of every record, all records of one definition at once, in file order.

    Only the fields some record has get a column (the timestamp always): a column is 8 bytes a record, and
    a million records once held twelve of them, mostly NaN, and as many copies. Each value is read once,
    into its place: a field defined twice reads its second definition only where the first is invalid, and
    speed and altitude are read into enhanced_speed and enhanced_altitude where those are invalid or absent
    (the channel prefers them: fit.CHANNEL_SOURCES), not into columns of their own."""
    used = [d for d in records if d.rows]
    total = sum(len(d.rows) for d in used)
    columns: dict[str, np.ndarray] = {}
    if not used:
        return {"timestamp": np.empty(0)}
    buffer = np.frombuffer(data, dtype=np.uint8)
    places = None  # where each definition's records go, when definitions interleave
    if len(used) > 1:
        order = np.argsort(_record_positions(used), kind="stable")
        places = np.empty(total, dtype=np.int32)
        places[order] = np.arange(total, dtype=np.int32)
        del order
    first = 0
    for definition in used:
        rows = np.frombuffer(definition.rows, dtype=np.int32)
        count = rows.shape[0]
        at = slice(first, first + count) if places is None else places[first : first + count]
        first += count
        assert definition.columns is not None
        read: set[str] = set()
        for column in sorted(definition.columns, key=lambda c: c.name in _FOLDED):  # enhanced_* first
            name = _FOLDED.get(column.name, column.name)
            target = columns.get(name)
            if target is None and len(used) == 1:  # no other definition's records to interleave
                columns[name] = _column(buffer, rows, column)
                read.add(name)
                continue
            if target is None:
                target = columns[name] = np.full(total, np.nan)
            if name not in read:
                read.add(name)
                target[at] = _column(buffer, rows, column)
                continue
            # A field defined twice: its first valid value, as the reference reads it.
            mine = target[at]
            missing = np.flatnonzero(np.isnan(mine))
            if missing.size:
                mine[missing] = _column(buffer, rows[missing], column)
                target[at] = mine
    if "timestamp" not in columns:
        columns["timestamp"] = np.full(total, np.nan)
    return columns


def _record_positions(records: list[_Definition]) -> np.ndarray:
    return np.concatenate([np.frombuffer(d.rows, dtype=np.int32) for d in records if d.rows])


def _column(buffer: np.ndarray, rows: np.ndarray, column: _Column) -> np.ndarray:
    """One field of every record: its bytes gathered one byte position at a time (memory in proportion to
    the records, whatever the message size), then read as the field's type, invalid as NaN, scaled."""
    dtype = np.dtype(column.code)
    raw_bytes = np.empty((rows.shape[0], dtype.itemsize), dtype=np.uint8)
    for byte in range(dtype.itemsize):
        raw_bytes[:, byte] = buffer[rows + (column.offset + byte)]
    raw = raw_bytes.view(dtype)[:, 0]
    values = raw.astype(np.float64)
    if column.invalid is not None:
        values[raw == column.invalid] = np.nan
    if column.scale:
        values /= column.scale
    if column.value_offset:
        values -= column.value_offset
    return values


def _fill_compressed_times(
    columns: dict[str, np.ndarray], records: list[_Definition], rows: array[int], times: array[int]
) -> None:
    """Give records without a timestamp field the time from their compressed header."""
    positions = np.sort(_record_positions(records))
    compressed = np.frombuffer(rows, dtype=np.int32)  # ascending: in file order
    index = np.minimum(np.searchsorted(compressed, positions), compressed.shape[0] - 1)
    timestamps = columns["timestamp"]
    fill = (compressed[index] == positions) & np.isnan(timestamps)
    timestamps[fill] = np.frombuffer(times, dtype=np.int64)[index[fill]]
