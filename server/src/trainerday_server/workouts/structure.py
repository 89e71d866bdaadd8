"""The structure of a planned workout: its segments. Pure: no HTTP, no database.

A segment travels as a JSON array ``[minutes, start %FTP, end %FTP]`` (a ramp when start != end), optionally
followed by ``cadenceStart, cadenceEnd, type, text``. This module turns such arrays into typed ``Segment``
values, rejects what is wrong with messages that name the segment and the field, and turns segments back into
the arrays the client sent (trailing empty optional fields are not echoed).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from trainerday_server.errors import FieldError, ValidationFailed

MAX_SEGMENTS = 2000
MAX_SEGMENT_MINUTES = 24 * 60
MAX_WORKOUT_MINUTES = 24 * 60
MAX_PERCENT = 1000
# The smallest segment is a second and the smallest effort 1 % of FTP (0 is rest): below them nothing can be
# ridden or measured, and planned metrics of 1e-300 minutes or percent made every ratio against them absurd.
MIN_SEGMENT_MINUTES = 0.999 / 60  # a second, as a client may round 1/60
MIN_PERCENT = 1
MAX_CADENCE = 250
MAX_TEXT = 500
SEGMENT_TYPES = frozenset({"warmup", "active", "rest", "recovery", "cooldown", "freeride"})
# durationMinutes is often a rounded figure; within half a minute of the segments' sum it agrees.
DURATION_TOLERANCE_MINUTES = 0.5

# XML 1.0's characters (https://www.w3.org/TR/xml/#charsets): tab, line feed, carriage return, and all of
# Unicode from U+0020 except the surrogates, U+FFFE and U+FFFF. Workout text travels in ZWO files and SVG
# charts, so it may hold only these.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NOT_XML_RULE = (
    "text may not hold control characters other than tab and line breaks, U+FFFE, U+FFFF "
    "or unpaired surrogates"
)

_FIELDS = ("minutes", "startPercent", "endPercent", "cadenceStart", "cadenceEnd", "type", "text")


@dataclass(frozen=True, slots=True)
class Segment:
    """One step or ramp of a workout. Power is in percent of FTP; cadence in rpm."""

    minutes: float
    start: float
    end: float
    cadence_start: int | None = None
    cadence_end: int | None = None
    type: str | None = None
    text: str | None = None

    @property
    def seconds(self) -> float:
        return self.minutes * 60

    @property
    def is_ramp(self) -> bool:
        return self.start != self.end

    def to_json(self) -> list[Any]:
        """Wire form: ``[minutes, start, end, cadenceStart, cadenceEnd, type, text]`` minus trailing nulls."""
        values: list[Any] = [
            self.minutes,
            self.start,
            self.end,
            self.cadence_start,
            self.cadence_end,
            self.type,
            self.text,
        ]
        while len(values) > 3 and values[-1] is None:
            values.pop()
        return values


def strip_non_xml(text: str) -> str:
    """``text`` without the characters XML cannot carry, for where refusing is no answer: reading a user's
    file, and writing files and charts of text stored before the API refused such characters."""
    return _NOT_XML.sub("", text)


def _non_xml_problem(text: str) -> str | None:
    """What is wrong with ``text`` if it holds a character XML cannot carry: the first one, and where."""
    found = _NOT_XML.search(text)
    if found is None:
        return None
    return f"contains U+{ord(found[0]):04X} at character {found.start() + 1}; {_NOT_XML_RULE}"


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) <= 2**53  # JSON allows 10**400; math.isfinite would overflow on it
    return isinstance(value, float) and math.isfinite(value)


def _check_segment(raw: Any, where: str, errors: list[FieldError]) -> Segment | None:
    if not isinstance(raw, list | tuple):
        errors.append(FieldError(where, "must be an array [minutes, startPercent, endPercent, ...]"))
        return None
    if not 3 <= len(raw) <= len(_FIELDS):
        errors.append(
            FieldError(where, f"must have 3 to {len(_FIELDS)} items ({', '.join(_FIELDS)}), got {len(raw)}")
        )
        return None
    before = len(errors)
    minutes, start, end = raw[0], raw[1], raw[2]
    if not _is_number(minutes) or not MIN_SEGMENT_MINUTES <= minutes <= MAX_SEGMENT_MINUTES:
        errors.append(
            FieldError(
                f"{where}[0]", f"minutes must be a number from 1/60 (a second) to {MAX_SEGMENT_MINUTES}"
            )
        )
    for index, value in ((1, start), (2, end)):
        if not _is_number(value) or not (value == 0 or MIN_PERCENT <= value <= MAX_PERCENT):
            name = _FIELDS[index]
            errors.append(
                FieldError(
                    f"{where}[{index}]", f"{name} must be 0 or a number from {MIN_PERCENT} to {MAX_PERCENT}"
                )
            )
    optional = list(raw[3:]) + [None] * (len(_FIELDS) - len(raw))
    cadence_start, cadence_end, seg_type, text = optional
    for index, value in ((3, cadence_start), (4, cadence_end)):
        if value is not None and (
            not _is_number(value) or value != int(value) or not 0 <= value <= MAX_CADENCE
        ):
            message = f"{_FIELDS[index]} must be null or a whole rpm from 0 to {MAX_CADENCE}"
            errors.append(FieldError(f"{where}[{index}]", message))
    if seg_type is not None and seg_type not in SEGMENT_TYPES:
        types = ", ".join(sorted(SEGMENT_TYPES))
        errors.append(FieldError(f"{where}[5]", f"type must be null or one of {types}"))
    if text is not None and (not isinstance(text, str) or len(text) > MAX_TEXT):
        errors.append(
            FieldError(f"{where}[6]", f"text must be null or a string of at most {MAX_TEXT} characters")
        )
    elif text is not None and (problem := _non_xml_problem(text)):
        errors.append(FieldError(f"{where}[6]", problem))
    if len(errors) > before:
        return None
    return Segment(
        minutes=minutes,
        start=start,
        end=end,
        cadence_start=None if cadence_start is None else int(cadence_start),
        cadence_end=None if cadence_end is None else int(cadence_end),
        type=seg_type,
        text=text,
    )


def _fail(errors: list[FieldError]) -> NoReturn:
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    raise ValidationFailed(detail=f"{first.field}: {first.message}{more}", errors=errors)


def parse_segments(raw: Any, path: str = "segments") -> list[Segment]:
    """Validate wire-form segments, reporting every bad field at once (at most 20) with its path."""
    if not isinstance(raw, list | tuple):
        raise ValidationFailed.single(path, "must be an array of segments")
    if not raw:
        raise ValidationFailed.single(path, "must contain at least one segment")
    if len(raw) > MAX_SEGMENTS:
        raise ValidationFailed.single(path, f"has {len(raw)} segments; at most {MAX_SEGMENTS} are allowed")
    errors: list[FieldError] = []
    segments: list[Segment] = []
    for i, item in enumerate(raw):
        segment = _check_segment(item, f"{path}[{i}]", errors)
        if segment is not None:
            segments.append(segment)
        if len(errors) >= 20:
            break
    if errors:
        _fail(errors)
    total = total_minutes(segments)
    if total > MAX_WORKOUT_MINUTES:
        raise ValidationFailed.single(
            path, f"last {total:g} minutes in all; at most {MAX_WORKOUT_MINUTES} are allowed"
        )
    return segments


def importable(segment: Segment) -> Segment:
    """``segment`` within today's bounds: shorter than a second becomes a second, longer than the longest
    segment the longest; a percent between 0 and 1 becomes the nearer of the two (rest or 1 % of FTP), one
    above 1000 becomes 1000. A segment within the bounds comes back unchanged."""
    minutes = min(max(segment.minutes, 1 / 60), MAX_SEGMENT_MINUTES)
    if minutes == segment.minutes or MIN_SEGMENT_MINUTES <= segment.minutes <= MAX_SEGMENT_MINUTES:
        minutes = segment.minutes
    start, end = _importable_percent(segment.start), _importable_percent(segment.end)
    if (minutes, start, end) == (segment.minutes, segment.start, segment.end):
        return segment
    return replace(segment, minutes=minutes, start=start, end=end)


def _importable_percent(value: float) -> float:
    if value == 0 or MIN_PERCENT <= value <= MAX_PERCENT:
        return value
    if value > MAX_PERCENT:
        return MAX_PERCENT
    return MIN_PERCENT if value >= MIN_PERCENT / 2 else 0


def stored_segments(raw: Sequence[Sequence[Any]]) -> tuple[Segment, ...]:
    """Segments back from wire form that was validated when it was stored (no checks: reads must be fast)."""
    return tuple(Segment(*values) for values in raw)


def total_minutes(segments: Sequence[Segment]) -> float:
    return math.fsum(s.minutes for s in segments)


def _field(path: str, name: str) -> str:
    """``name`` inside the object at ``path``; an empty path is the request body itself."""
    return f"{path}.{name}" if path else name


def check_duration(duration_minutes: float | None, segments: Sequence[Segment], path: str) -> float:
    """Return the workout's duration in minutes: a stated ``durationMinutes`` as sent, int or float (it must
    agree with the segments), else the segments' total, an int when all their minutes are (30, not 30.0)."""
    total = total_minutes(segments)
    if duration_minutes is None:
        minutes = [s.minutes for s in segments]
        return sum(minutes) if all(isinstance(m, int) for m in minutes) else total
    if abs(duration_minutes - total) > DURATION_TOLERANCE_MINUTES:
        raise ValidationFailed.single(
            _field(path, "durationMinutes"),
            f"durationMinutes is {duration_minutes:g} but the segments add up to {total:g} minutes",
        )
    return duration_minutes


MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_TAGS = 20
MAX_TAG = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class Workout:
    """A planned workout: what the library stores, calendar events embed and the file formats carry."""

    title: str
    description: str = ""
    tags: tuple[str, ...] = ()
    segments: tuple[Segment, ...]

    @property
    def minutes(self) -> float:
        return total_minutes(self.segments)

    def xml_safe(self) -> Workout:
        """This workout with every text stripped of what XML cannot carry (see ``strip_non_xml``)."""
        return Workout(
            title=strip_non_xml(self.title),
            description=strip_non_xml(self.description),
            tags=tuple(strip_non_xml(tag) for tag in self.tags),
            segments=tuple(
                s if s.text is None else replace(s, text=strip_non_xml(s.text)) for s in self.segments
            ),
        )

    def importable(self) -> Workout:
        """This workout with every segment brought within the bounds imports check (see ``importable``),
        for exports: workouts stored before the bounds may hold ``[1e-300, 50, 50]``, whose files would
        otherwise not import again."""
        return replace(self, segments=tuple(importable(s) for s in self.segments))

    def to_json(self) -> dict[str, Any]:
        """The wire form, the inverse of ``parse_workout``."""
        return {
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "segments": [s.to_json() for s in self.segments],
        }


def _check_text(value: Any, path: str, limit: int, errors: list[FieldError], *, required: bool) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        errors.append(FieldError(path, "must be a string"))
        return ""
    problem = _non_xml_problem(value)
    if problem:
        errors.append(FieldError(path, problem))
        return ""
    text = value.strip()
    if required and not text:
        errors.append(FieldError(path, "must not be empty"))
    elif len(text) > limit:
        errors.append(FieldError(path, f"must be at most {limit} characters, got {len(text)}"))
    return text


def _check_tags(value: Any, path: str, errors: list[FieldError]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        errors.append(FieldError(path, "must be an array of strings"))
        return ()
    if len(value) > MAX_TAGS:
        errors.append(FieldError(path, f"has {len(value)} tags; at most {MAX_TAGS} are allowed"))
        return ()
    tags: list[str] = []
    for i, tag in enumerate(value):
        text = _check_text(tag, f"{path}[{i}]", MAX_TAG, errors, required=True)
        if text and text not in tags:  # a tag set: repeats add nothing
            tags.append(text)
    return tuple(tags)


def parse_workout(raw: Any, path: str = "workout") -> Workout:
    """Validate a wire-form workout ``{"title", "description", "tags", "segments"}``.

    Every bad field is reported with its path (``workout.title``, ``workout.segments[3][1]``...; with an
    empty ``path``, for a workout that is the whole request body: ``title``, ``segments[3][1]``); title,
    description and tags are stripped of surrounding whitespace and repeated tags are dropped. Every text
    (title, description, tags, segment texts) must hold only characters XML can carry: the library and the
    calendar both validate here, and ZWO files and SVG charts are XML.
    """
    if not isinstance(raw, dict):
        raise ValidationFailed.single(
            path or "body", "must be an object with title, description, tags and segments"
        )

    errors: list[FieldError] = []
    title = _check_text(raw.get("title"), _field(path, "title"), MAX_TITLE, errors, required=True)
    description = _check_text(
        raw.get("description"), _field(path, "description"), MAX_DESCRIPTION, errors, required=False
    )
    tags = _check_tags(raw.get("tags"), _field(path, "tags"), errors)
    segments: list[Segment] = []
    try:
        segments = parse_segments(raw.get("segments"), _field(path, "segments"))
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        _fail(errors)
    return Workout(title=title, description=description, tags=tags, segments=tuple(segments))


def stored_workout(raw: Mapping[str, Any]) -> Workout:
    """A workout back from the wire form it was validated in when stored. No checks: what was accepted then
    stays readable when a rule tightens (exports and charts make its text safe, see ``Workout.xml_safe``)."""
    return Workout(
        title=raw["title"],
        description=raw["description"],
        tags=tuple(raw["tags"]),
        segments=stored_segments(raw["segments"]),
    )
