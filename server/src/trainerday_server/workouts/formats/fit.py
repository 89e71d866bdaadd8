"""FIT workout files: what Garmin, Wahoo and Hammerhead head units load as a structured workout.

Written with ``trainerday_server.fitfile``: a ``file_id`` of type workout, one ``workout`` (sport cycling,
the title and, clipped to FIT's 255-byte strings, the description) and one ``workout_step`` per step. Each
step lasts a time (ms) and targets power as a custom range in FIT's %FTP encoding (0-1000 is %FTP, above is
watts + 1000), low = high for a steady segment. The segment's type becomes the step's intensity, its text the
step's notes, its cadence a secondary cadence target.

FIT has no ramps, so a ramp is written as steps of about ``RAMP_STEP_SECONDS``, each at the ramp's mean over
that step rounded to a whole % FTP (neighbours that round alike merge). They come back as those steps: a
staircase whose profile, and so NP, TSS and work, is the ramp's to within the 1 % rounding. Telling such a
staircase from a deliberate one is guesswork, so ramps are not reconstructed. A free ride is an open-target
step that keeps its planned effort in the custom target fields, which devices ignore for open targets.

Reading accepts what other tools write too: power ranges (read as their midpoint), watts targets (with an FTP
to convert them), and repeat steps ("repeat steps 2-3 five times"), which are unrolled.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import fitdecode

from trainerday_server.fitfile import BaseType, Field, FitWriter, fit_timestamp
from trainerday_server.workouts.formats.common import (
    FREERIDE_PERCENT,
    Draft,
    Drafts,
    build_workout,
    file_error,
    minutes_of,
    percent,
)
from trainerday_server.workouts.structure import Segment, Workout

MEDIA_TYPE = "application/vnd.ant.fit"

RAMP_STEP_SECONDS = 30
MAX_STEPS = 10_000  # a 24 h workout of 30 s ramp steps has 2880; anything far beyond is not a real workout

# FIT profile numbers (Profile.xlsx): messages, and the enum values we write.
_FILE_ID, _WORKOUT, _WORKOUT_STEP = 0, 26, 27
_FILE_WORKOUT = 5
_MANUFACTURER_DEVELOPMENT = 255
_SPORT_CYCLING = 2
_DURATION_TIME = 0
_TARGET_OPEN, _TARGET_POWER, _TARGET_CADENCE = 2, 4, 3
_WATTS_OFFSET = 1000  # custom power targets above this are watts + 1000
_FIT_STRING_BYTES = 255

_INTENSITY_OF_TYPE = {"active": 0, "rest": 1, "warmup": 2, "cooldown": 3, "recovery": 4}
_TYPE_OF_INTENSITY = {
    "active": "active",
    "rest": "rest",
    "warmup": "warmup",
    "cooldown": "cooldown",
    "recovery": "recovery",
    "interval": "active",
}


@dataclass(frozen=True, slots=True)
class _Step:
    milliseconds: int
    target_type: int
    low: int
    high: int
    intensity: int | None
    notes: str | None
    cadence_low: int | None
    cadence_high: int | None


def _fit_string(text: str) -> str:
    """``text`` cut at a character boundary to fit a FIT string field with its terminating NUL."""
    return text.encode("utf-8")[: _FIT_STRING_BYTES - 1].decode("utf-8", errors="ignore")


def _string_field(number: int, texts: list[str]) -> Field:
    return Field(number, BaseType.STRING, max(1, *(len(t.encode("utf-8")) + 1 for t in texts)))


def _whole_percent(value: float) -> int:
    return int(value + 0.5)  # half up; percentages are never negative


def _steps(segment: Segment) -> Iterator[_Step]:
    cadences = [c for c in (segment.cadence_start, segment.cadence_end) if c is not None]
    cadence_low, cadence_high = (min(cadences), max(cadences)) if cadences else (None, None)
    intensity = _INTENSITY_OF_TYPE.get(segment.type or "")
    notes = _fit_string(segment.text) if segment.text else None
    total_ms = round(segment.seconds * 1000)
    if segment.type == "freeride" or not segment.is_ramp:
        target = _TARGET_OPEN if segment.type == "freeride" else _TARGET_POWER
        low, high = _whole_percent(segment.start), _whole_percent(segment.end)
        yield _Step(total_ms, target, low, high, intensity, notes, cadence_low, cadence_high)
        return
    count = max(1, round(segment.seconds / RAMP_STEP_SECONDS))
    bounds = [round(total_ms * k / count) for k in range(count + 1)]
    pieces: list[list[int]] = []  # [milliseconds, % FTP]
    for k in range(count):
        middle = (k + 0.5) / count  # a linear ramp's mean over a piece is its value mid-piece
        value = _whole_percent(segment.start + (segment.end - segment.start) * middle)
        if pieces and pieces[-1][1] == value:
            pieces[-1][0] += bounds[k + 1] - bounds[k]
        else:
            pieces.append([bounds[k + 1] - bounds[k], value])
    for index, (milliseconds, value) in enumerate(pieces):
        text = notes if index == 0 else None
        yield _Step(milliseconds, _TARGET_POWER, value, value, intensity, text, cadence_low, cadence_high)


def export_fit(workout: Workout, created: datetime | None = None) -> bytes:
    steps = [step for segment in workout.segments for step in _steps(segment)]
    title, description = _fit_string(workout.title), _fit_string(workout.description)
    writer = FitWriter()
    writer.define(
        0,
        _FILE_ID,
        [
            Field(0, BaseType.ENUM),  # type
            Field(1, BaseType.UINT16),  # manufacturer
            Field(2, BaseType.UINT16),  # product
            Field(4, BaseType.UINT32),  # time_created
        ],
    )
    created_at = (created or datetime.now(UTC)).timestamp()
    writer.write(0, _FILE_WORKOUT, _MANUFACTURER_DEVELOPMENT, 0, fit_timestamp(created_at))
    writer.define(
        1,
        _WORKOUT,
        [
            Field(4, BaseType.ENUM),  # sport
            Field(6, BaseType.UINT16),  # num_valid_steps
            _string_field(8, [title]),  # wkt_name
            _string_field(17, [description]),  # wkt_description
        ],
    )
    writer.write(1, _SPORT_CYCLING, len(steps), title, description)
    writer.define(
        2,
        _WORKOUT_STEP,
        [
            Field(254, BaseType.UINT16),  # message_index
            Field(1, BaseType.ENUM),  # duration_type
            Field(2, BaseType.UINT32),  # duration_value: ms for a time duration
            Field(3, BaseType.ENUM),  # target_type
            Field(4, BaseType.UINT32),  # target_value: 0 = custom range
            Field(5, BaseType.UINT32),  # custom_target_value_low
            Field(6, BaseType.UINT32),  # custom_target_value_high
            Field(7, BaseType.ENUM),  # intensity
            _string_field(8, [s.notes or "" for s in steps]),  # notes
            Field(19, BaseType.ENUM),  # secondary_target_type
            Field(20, BaseType.UINT32),  # secondary_target_value
            Field(21, BaseType.UINT32),  # secondary_custom_target_value_low
            Field(22, BaseType.UINT32),  # secondary_custom_target_value_high
        ],
    )
    for index, step in enumerate(steps):
        has_cadence = step.cadence_low is not None
        writer.write(
            2,
            index,
            _DURATION_TIME,
            step.milliseconds,
            step.target_type,
            0 if step.target_type == _TARGET_POWER else None,
            step.low,
            step.high,
            step.intensity,
            step.notes,
            _TARGET_CADENCE if has_cadence else None,
            0 if has_cadence else None,
            step.cadence_low,
            step.cadence_high,
        )
    return writer.finish()


# --- import -----------------------------------------------------------------------------------------------


def _messages(content: bytes) -> Iterator[tuple[str, dict[str, Any], str]]:
    """``(message name, fields, where)`` for each data message, with decoding errors made ours."""
    if len(content) < 12 or content[8:12] != b".FIT":
        raise file_error("byte 8", "not a FIT file (no .FIT signature in the header)")
    offset = 0  # where the next chunk starts: fitdecode numbers chunks, it does not give their offsets
    reader = fitdecode.FitReader(
        io.BytesIO(content), check_crc=fitdecode.CrcCheck.RAISE, keep_raw_chunks=True
    )
    try:
        for frame in reader:
            start, offset = offset, offset + len(frame.chunk.bytes)
            if frame.frame_type == fitdecode.FIT_FRAME_DATA:
                fields = {f.name: f.value for f in frame.fields}
                yield frame.name, fields, f"{frame.name} message at byte {start}"
    except fitdecode.FitError as exc:
        raise file_error(f"byte {offset}", f"damaged FIT file: {exc}") from None
    except Exception as exc:  # fitdecode may fail in other ways on hostile bytes; they are the file's fault
        raise file_error(f"byte {offset}", f"unreadable FIT file: {type(exc).__name__}: {exc}") from None
    finally:
        reader.close()


def _power(value: Any, where: str, what: str, ftp: float | None) -> float:
    if value == "watts_offset":  # the profile names the value 1000 (1000 % FTP) for where watts begin
        value = _WATTS_OFFSET
    if not isinstance(value, int | float):
        raise file_error(where, f"{what} is missing")
    if value <= _WATTS_OFFSET:
        return percent(value)
    if ftp is None or ftp <= 0:
        raise file_error(where, f"{what} is in watts ({value - _WATTS_OFFSET} W) and no FTP was given")
    return percent((value - _WATTS_OFFSET) * 100 / ftp)


def _draft(fields: dict[str, Any], where: str, ftp: float | None) -> Draft:
    if fields.get("duration_type") != "time":
        raise file_error(where, f"only time durations are supported, not {fields.get('duration_type')!r}")
    seconds = fields.get("duration_time")
    if not isinstance(seconds, int | float):
        raise file_error(where, "the step's duration is missing")
    target = fields.get("target_type")
    low, high = fields.get("custom_target_power_low"), fields.get("custom_target_power_high")
    if target == "open":
        low = fields.get("custom_target_value_low", low)
        high = fields.get("custom_target_value_high", high)
        if isinstance(low, int) and isinstance(high, int):
            start, end = _power(low, where, "planned power", ftp), _power(high, where, "planned power", ftp)
        else:
            start = end = FREERIDE_PERCENT
        kind: str | None = "freeride"
    elif target == "power":
        if fields.get("target_power_zone") not in (0, None):
            raise file_error(where, "power zone targets are not supported, only custom %FTP or watts ranges")
        middle = (_power(low, where, "power low", ftp) + _power(high, where, "power high", ftp)) / 2
        start = end = percent(middle)
        kind = _TYPE_OF_INTENSITY.get(fields.get("intensity") or "")
    else:
        raise file_error(where, f"only power and open targets are supported, not {target!r}")
    cadence_low = cadence_high = None
    if fields.get("secondary_target_type") == "cadence":
        cadence_low = fields.get("secondary_custom_target_cadence_low")
        cadence_high = fields.get("secondary_custom_target_cadence_high")
    draft = Draft(where, minutes_of(seconds), start, end, cadence_low, cadence_high, kind)
    if fields.get("notes"):
        draft.add_text(str(fields["notes"]))
    return draft


def import_fit(content: bytes, default_title: str, ftp: float | None) -> Workout:
    """Read a FIT workout file; watts targets are converted to % of ``ftp``."""
    file_type = None
    title = description = None
    drafts = Drafts()
    first_segment_of_step: list[int] = []  # where each step's segments begin, for repeat steps
    for name, fields, where in _messages(content):
        if file_type is None and name != "file_id":
            raise file_error(where, "a FIT file must begin with a file_id message")
        if name == "file_id":
            file_type = fields.get("type")
            if file_type != "workout":
                raise file_error(where, f"this FIT file is of type {file_type!r}, not a workout")
        elif name == "workout":
            title, description = fields.get("wkt_name"), fields.get("wkt_description")
        elif name == "workout_step":
            if len(first_segment_of_step) >= MAX_STEPS:
                raise file_error(where, f"more than {MAX_STEPS} workout steps")
            first_segment_of_step.append(len(drafts))
            if fields.get("duration_type") == "repeat_until_steps_cmplt":
                _repeat(fields, where, drafts, first_segment_of_step)
            else:
                drafts.add(_draft(fields, where, ftp))
    if file_type is None:
        raise file_error("file_id", "the FIT file has no messages")
    return build_workout(drafts, title=title, description=description, tags=(), default_title=default_title)


def _repeat(fields: dict[str, Any], where: str, drafts: Drafts, first_segment_of_step: list[int]) -> None:
    """Unroll "repeat from step N, ``repeat_steps`` times in all" by appending the copies after the first."""
    back_to, times = fields.get("duration_step"), fields.get("repeat_steps")
    current = len(first_segment_of_step) - 1
    if not isinstance(back_to, int) or not 0 <= back_to < current:
        raise file_error(where, f"repeats from step {back_to!r}, which is not an earlier step")
    if not isinstance(times, int) or times < 1:
        raise file_error(where, f"repeats {times!r} times; expected a whole number of at least 1")
    block = drafts[first_segment_of_step[back_to] :]
    drafts.reserve(len(block) * (times - 1), where)
    for _ in range(times - 1):
        for draft in block:
            drafts.add(Draft(**vars(draft)))
