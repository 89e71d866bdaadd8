"""ERG files: the MRC course layout (see ``mrc.py``) in MINUTES WATTS at the athlete's FTP, which the header
states as ``FTP = ...`` so that the file can be read back as % FTP."""

from __future__ import annotations

from trainerday_server.workouts.formats.mrc import import_mrc, write_course
from trainerday_server.workouts.structure import Workout

MEDIA_TYPE = "text/plain; charset=utf-8"


def export_erg(workout: Workout, ftp: float) -> bytes:
    if not ftp > 0:
        raise ValueError(f"an ERG file needs a positive FTP, got {ftp}")
    return write_course(workout, ftp=ftp)


def import_erg(content: bytes, default_title: str, ftp: float | None) -> Workout:
    """Read an ERG file; without an ``FTP =`` line its watts are taken as % of ``ftp``."""
    return import_mrc(content, default_title, ftp)
