"""What every workout file format shares: the error it raises, limits, number formatting, and building a
validated ``Workout`` from segments read out of a file while remembering where each came from."""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from trainerday_server.errors import PayloadTooLarge, TrainerDayError, ValidationFailed
from trainerday_server.workouts.structure import (
    MAX_DESCRIPTION,
    MAX_SEGMENTS,
    MAX_TAG,
    MAX_TAGS,
    MAX_TEXT,
    MAX_TITLE,
    Workout,
    parse_workout,
    strip_non_xml,
)

# Real workout files are small: 2000 segments of ZWO with a text each are well under 1 MiB.
MAX_FILE_BYTES = 2 * 1024 * 1024
# The effort assumed for a free-ride block that states none (Zwift's FreeRide has no target): easy riding.
FREERIDE_PERCENT = 50.0
DEFAULT_TITLE = "Imported workout"


@dataclass
class WorkoutFileError(TrainerDayError):
    """A workout file we cannot read; ``detail`` starts with where (line, element, step or byte offset)."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "invalid-workout-file"
    title: ClassVar[str] = "Invalid workout file"


def file_error(where: str, message: str) -> WorkoutFileError:
    return WorkoutFileError(detail=f"{where}: {message}", extra={"location": where})


def check_size(content: bytes) -> None:
    if len(content) > MAX_FILE_BYTES:
        raise PayloadTooLarge(
            detail=f"workout file is {len(content)} bytes; at most {MAX_FILE_BYTES} are accepted",
            extra={"limit": MAX_FILE_BYTES},
        )


def number(text: Any, where: str, what: str) -> float:
    """A finite number from a file's text, or an error naming ``where`` and ``what``."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        shown = "nothing" if text is None else repr(str(text)[:40])
        raise file_error(where, f"{what} must be a number, got {shown}") from None
    if not math.isfinite(value):
        raise file_error(where, f"{what} must be a finite number, got {text!r}")
    return value


def format_number(value: float, places: int) -> str:
    """Shortest decimal with at most ``places`` decimals: 600 -> "600", 0.625 -> "0.625"."""
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def percent(value: float) -> float:
    """A percentage of FTP read from a file, rounded off below the resolution of any format we write."""
    return round(value, 4)


# The finest time any format we read or write keeps.
TIME_RESOLUTION_SECONDS = 0.001


def minutes_of(seconds: float) -> float:
    """Minutes from seconds at millisecond resolution, the finest any format we read keeps."""
    return round(seconds, 3) / 60


def one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Draft:
    """A segment as read from a file, not yet validated, with where in the file it came from."""

    where: str
    minutes: float
    start: float
    end: float
    cadence_start: float | None = None
    cadence_end: float | None = None
    type: str | None = None
    text: str | None = None

    def add_text(self, message: str) -> None:
        message = one_line(strip_non_xml(message))
        if message:
            self.text = message if self.text is None else f"{self.text} {message}"
            self.text = self.text[:MAX_TEXT]

    def wire(self) -> list[Any]:
        return [
            self.minutes,
            self.start,
            self.end,
            self.cadence_start,
            self.cadence_end,
            self.type,
            self.text,
        ]


class Drafts(list[Draft]):
    """The segments of a file being read; refuses to grow past what a workout may hold."""

    def reserve(self, count: int, where: str) -> None:
        """Check that ``count`` more segments fit, before making them (a repeat count may be huge)."""
        if len(self) + count > MAX_SEGMENTS:
            raise file_error(where, f"the workout would have more than {MAX_SEGMENTS} segments")

    def add(self, draft: Draft) -> None:
        self.reserve(1, draft.where)
        self.append(draft)


def attach_texts(drafts: list[Draft], texts: Iterable[tuple[float, str]]) -> None:
    """Give each ``(offset seconds, message)`` to the segment of ``drafts`` playing at that offset.

    Offsets are compared at the millisecond files keep: a text at a segment's start must not fall to the
    segment before because durations, stored in minutes, add back up to a hair more seconds than the file
    said (481 s = 8.01666... min, times 60, is 481.00000000000006 s).
    """
    if not drafts:
        return
    ends = list(itertools.accumulate(d.minutes * 60 for d in drafts))
    for offset, message in texts:
        index = bisect.bisect_right(ends, offset + TIME_RESOLUTION_SECONDS / 2)
        drafts[min(index, len(drafts) - 1)].add_text(message)


_SEGMENT_PATH = re.compile(r"workout\.segments\[(\d+)\]")


def build_workout(
    drafts: list[Draft],
    *,
    title: str | None,
    description: str | None,
    tags: Iterable[str],
    default_title: str,
) -> Workout:
    """Validate what a file held. Metadata is clipped to our limits and stripped of what XML cannot carry (a
    long name or a stray control character is no reason to refuse a file; segment texts are stripped as they
    are added); a bad segment is refused with the line, element or step it came from."""
    if not drafts:
        raise file_error("file", "the workout has no segments")
    cleaned = (strip_non_xml(tag).strip() for tag in tags)
    tag_list = [tag[:MAX_TAG] for tag in cleaned if tag][:MAX_TAGS]
    raw = {
        "title": (one_line(strip_non_xml(title or "")) or default_title)[:MAX_TITLE],
        "description": strip_non_xml(description or "").strip()[:MAX_DESCRIPTION],
        "tags": tag_list,
        "segments": [d.wire() for d in drafts],
    }
    try:
        return parse_workout(raw)
    except ValidationFailed as exc:
        first = exc.errors[0] if exc.errors else None
        if first is None:
            raise file_error("file", exc.detail) from None
        match = _SEGMENT_PATH.match(first.field)
        where = drafts[int(match[1])].where if match else first.field.removeprefix("workout.")
        raise file_error(where, first.message) from None
