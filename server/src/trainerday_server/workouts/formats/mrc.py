"""MRC files, and the course layout they share with ERG files (``erg.py``).

    [COURSE HEADER]
    VERSION = 2
    UNITS = ENGLISH
    DESCRIPTION = Three steady blocks
    FILE NAME = Easy Spin
    MINUTES PERCENT            (ERG: FTP = 250, then MINUTES WATTS)
    [END COURSE HEADER]
    [COURSE DATA]
    0	50                      (tab-separated minute and value; a segment is two points, so a step is two
    10	50                       points at the same minute and a ramp two points with different values)
    10	60
    ...
    [END COURSE DATA]
    [COURSE TEXT]              (optional: start second, message, seconds shown)
    0	Easy now	600
    [END COURSE TEXT]

The title travels as FILE NAME and the description on one line as DESCRIPTION. Cadence, types and tags
have no place here and are lost; texts come back on the segment playing at their offset. Minutes are
written to 6 decimals and read back to the millisecond, percentages to 4 decimals (ERG watts too).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from trainerday_server.workouts.formats.common import (
    Draft,
    Drafts,
    attach_texts,
    build_workout,
    file_error,
    format_number,
    minutes_of,
    number,
    one_line,
    percent,
)
from trainerday_server.workouts.structure import Workout

MEDIA_TYPE = "text/plain; charset=utf-8"

_SECTION = re.compile(r"\[\s*(END\s+)?COURSE\s+(HEADER|DATA|TEXT)\s*\]", re.IGNORECASE)
_UNITS = re.compile(r"MINUTES\s+(PERCENT|WATTS)", re.IGNORECASE)


def write_course(workout: Workout, ftp: float | None) -> bytes:
    """The course layout in MINUTES PERCENT, or in MINUTES WATTS at ``ftp`` when one is given (ERG)."""
    lines = [
        "[COURSE HEADER]",
        "VERSION = 2",
        "UNITS = ENGLISH",
        f"DESCRIPTION = {one_line(workout.description)}",
        f"FILE NAME = {one_line(workout.title)}",
    ]
    if ftp is None:
        scale = 1.0
        lines.append("MINUTES PERCENT")
    else:
        scale = ftp / 100
        lines += [f"FTP = {format_number(ftp, 4)}", "MINUTES WATTS"]
    lines += ["[END COURSE HEADER]", "[COURSE DATA]"]
    starts = [0.0, *itertools.accumulate(s.seconds for s in workout.segments)]
    for segment, start, end in zip(workout.segments, starts, starts[1:], strict=False):
        lines.append(f"{format_number(start / 60, 6)}\t{format_number(segment.start * scale, 4)}")
        lines.append(f"{format_number(end / 60, 6)}\t{format_number(segment.end * scale, 4)}")
    lines.append("[END COURSE DATA]")
    texts = [(start, s) for s, start in zip(workout.segments, starts, strict=False) if s.text]
    if texts:
        lines.append("[COURSE TEXT]")
        for start, s in texts:
            lines.append(
                f"{format_number(start, 3)}\t{one_line(s.text or '')}\t{format_number(s.seconds, 3)}"
            )
        lines.append("[END COURSE TEXT]")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _lines(content: bytes) -> Iterator[tuple[int, str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")  # older Windows tools wrote their code page
    return enumerate(text.splitlines(), start=1)


def _scale(unit: str | None, header: dict[str, str], ftp: float | None, where: str) -> float:
    """What turns the file's values into % FTP."""
    if unit is None:
        raise file_error(
            where, "the course data starts before a MINUTES PERCENT or MINUTES WATTS header line"
        )
    if unit == "PERCENT":
        return 1.0
    file_ftp = number(header["FTP"], "FTP header line", "FTP") if "FTP" in header else ftp
    if file_ftp is None or file_ftp <= 0:
        raise file_error(where, "a course in watts needs a positive FTP (an FTP = line) to convert to % FTP")
    return 100 / file_ftp


def _milliseconds(minute: float) -> float:
    return round(minute * 60, 3)


def import_mrc(content: bytes, default_title: str, ftp: float | None) -> Workout:
    """Read an MRC or ERG file; watts become % of the file's ``FTP =``, else of ``ftp``."""
    header: dict[str, str] = {}
    unit: str | None = None
    section: str | None = None
    scale = 1.0
    previous: tuple[float, float] | None = None  # the last course point: minute, value
    drafts = Drafts()
    texts: list[tuple[float, str]] = []
    for line_number, raw_line in _lines(content):
        line = raw_line.strip()
        where = f"line {line_number}"
        marker = _SECTION.fullmatch(line)
        if marker:
            section = None if marker[1] else marker[2].upper()
            if section == "DATA":
                scale = _scale(unit, header, ftp, where)
            continue
        if not line or line.startswith((";", "#")):
            continue
        if section == "HEADER":
            units = _UNITS.fullmatch(line)
            if units:
                unit = units[1].upper()
            elif "=" in line:
                key, setting = line.split("=", 1)
                header[" ".join(key.split()).upper()] = setting.strip()
        elif section == "DATA":
            columns = line.split()
            if len(columns) < 2:
                raise file_error(where, f"a course point needs a minute and a value, got {line[:40]!r}")
            minute, value = number(columns[0], where, "the minute"), number(columns[1], where, "the value")
            if previous and minute < previous[0]:
                raise file_error(
                    where, f"minute {minute:g} comes before the previous point's {previous[0]:g}"
                )
            if previous and minute > previous[0]:
                # Each point's time is rounded, not each duration, so that rounding never adds up along
                # the course (1000 segments of 1.0004 s would otherwise come back 0.4 s short).
                seconds = _milliseconds(minute) - _milliseconds(previous[0])
                start = percent(previous[1] * scale)
                drafts.add(Draft(where, minutes_of(seconds), start, percent(value * scale)))
            previous = (minute, value)
        elif section == "TEXT":
            offset, _, rest = line.partition("\t") if "\t" in line else line.partition(" ")
            texts.append((number(offset, where, "the text's offset"), rest.split("\t")[0]))
    if previous is None:
        raise file_error("[COURSE DATA]", "has no course points")
    attach_texts(drafts, texts)
    title = re.sub(r"\.(erg|mrc)$", "", header.get("FILE NAME", ""), flags=re.IGNORECASE)
    return build_workout(
        drafts, title=title, description=header.get("DESCRIPTION"), tags=(), default_title=default_title
    )


def export_mrc(workout: Workout) -> bytes:
    return write_course(workout, ftp=None)
