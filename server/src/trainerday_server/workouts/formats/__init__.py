"""Workout files in and out: ZWO (Zwift), ERG and MRC (course text files), FIT (head units). Pure.

``export_workout`` gives the bytes with a media type and a file name for Content-Disposition;
``import_workout`` tells the format from the content (falling back to the file name's extension) and returns
a validated ``Workout``, or raises ``WorkoutFileError`` (400) naming the line, element, step or byte at fault
(``PayloadTooLarge`` for files over ``MAX_FILE_BYTES``).

Text XML cannot carry (control characters...) is refused by the API, but a user's file that holds some is
still their workout: imports strip it. Exports strip it too, so that text stored before the API refused it
never makes an export fail.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal
from urllib.parse import quote

from trainerday_server.workouts.formats import erg, fit, mrc, zwo
from trainerday_server.workouts.formats.common import (
    DEFAULT_TITLE,
    MAX_FILE_BYTES,
    WorkoutFileError,
    check_size,
    file_error,
    one_line,
)
from trainerday_server.workouts.structure import Workout, strip_non_xml

__all__ = [
    "FORMATS",
    "MAX_FILE_BYTES",
    "ExportedFile",
    "Format",
    "WorkoutFileError",
    "detect_format",
    "export_workout",
    "import_workout",
]

Format = Literal["zwo", "erg", "mrc", "fit"]
FORMATS: tuple[Format, ...] = ("zwo", "erg", "mrc", "fit")
_MEDIA_TYPES = {"zwo": zwo.MEDIA_TYPE, "erg": erg.MEDIA_TYPE, "mrc": mrc.MEDIA_TYPE, "fit": fit.MEDIA_TYPE}


@dataclass(frozen=True, slots=True)
class ExportedFile:
    """An exported workout: its bytes, media type and a file name made from its title."""

    content: bytes
    media_type: str
    filename: str  # ASCII, safe in any header or file system
    title: str

    @property
    def content_disposition(self) -> str:
        """``attachment`` with the ASCII name and, for non-ASCII titles, the UTF-8 one (RFC 6266)."""
        extension = PurePath(self.filename).suffix
        utf8_name = quote(f"{_safe_title(self.title)}{extension}", safe="")
        return f"attachment; filename=\"{self.filename}\"; filename*=UTF-8''{utf8_name}"


def _safe_title(title: str) -> str:
    return " ".join(re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', " ", title).split())[:80] or "workout"


def _ascii_name(title: str) -> str:
    # Accents come off (Über -> Uber); any other character separates words: 2\u00d720 (a multiplication
    # sign) becomes 2-20, not 220.
    letters = "".join(c for c in unicodedata.normalize("NFKD", title) if not unicodedata.combining(c))
    return re.sub(r"[^A-Za-z0-9]+", "-", letters).strip("-")[:80] or "workout"


def export_workout(workout: Workout, fmt: Format, ftp: float | None = None) -> ExportedFile:
    """``workout`` as a ``fmt`` file; ERG needs the athlete's ``ftp`` (watts), the others ignore it."""
    workout = workout.xml_safe().importable()
    if fmt == "zwo":
        content = zwo.export_zwo(workout)
    elif fmt == "mrc":
        content = mrc.export_mrc(workout)
    elif fmt == "erg":
        if ftp is None:
            raise ValueError("an ERG export needs the athlete's FTP")
        content = erg.export_erg(workout, ftp)
    elif fmt == "fit":
        content = fit.export_fit(workout)
    else:
        raise ValueError(f"unknown workout format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return ExportedFile(content, _MEDIA_TYPES[fmt], f"{_ascii_name(workout.title)}.{fmt}", workout.title)


def detect_format(content: bytes, filename: str | None = None) -> Format:
    """The format of ``content``: by its signature, else by ``filename``'s extension."""
    if content[8:12] == b".FIT":
        return "fit"
    head = content[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "zwo"
    if b"[COURSE HEADER]" in head.upper():
        return "erg" if re.search(rb"MINUTES\s+WATTS", head, re.IGNORECASE) else "mrc"
    extension = PurePath(filename or "").suffix.lower().lstrip(".")
    for known in FORMATS:
        if extension == known:
            return known
    raise file_error("file", "not a ZWO, ERG, MRC or FIT workout file (judging by its content and name)")


def import_workout(content: bytes, filename: str | None = None, ftp: float | None = None) -> Workout:
    """A validated workout from a workout file. ``ftp`` converts watts (ERG without an FTP line, FIT watts
    targets) to % FTP; the title falls back to the file name."""
    check_size(content)
    fmt = detect_format(content, filename)
    default_title = one_line(strip_non_xml(PurePath(filename).stem)) if filename else ""
    default_title = default_title or DEFAULT_TITLE
    if fmt == "zwo":
        return zwo.import_zwo(content, default_title)
    if fmt == "fit":
        return fit.import_fit(content, default_title, ftp)
    if fmt == "erg":
        return erg.import_erg(content, default_title, ftp)
    return mrc.import_mrc(content, default_title, ftp)
