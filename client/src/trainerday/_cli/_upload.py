"""``trainerday activities upload``: the rides to send from files, folders and zip archives (a Strava or
Garmin bulk export, zips inside zips included), and a ledger of what was sent, so a second run sends only
the rest.

The ledger is an append-only file of ``account sha256 activity-id`` lines in the user's state directory: a
run that is interrupted loses at most the line of the file in flight, and that file's second upload is then
answered as a duplicate by the server, which names the stored activity.
"""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from trainerday._cli._config import private_state_file

RIDE_SUFFIXES = (".fit", ".tcx", ".gpx", ".fit.gz", ".tcx.gz", ".gpx.gz")
MAX_RIDE_BYTES = 200 * 1024 * 1024  # far above any real ride; the server's own limit is lower
MAX_NESTED_ZIP_BYTES = 4 * 1024 * 1024 * 1024
MAX_ZIP_DEPTH = 3


def is_ride(name: str) -> bool:
    return name.lower().endswith(RIDE_SUFFIXES)


@dataclass
class Ride:
    """One ride file to send: where it is (for messages), how to read it, and its name from an export's
    index if it has one (Strava's ``activities.csv``)."""

    label: str
    file_name: str
    read: Callable[[], bytes]
    size: int
    title: str | None = None


@dataclass
class Collected:
    rides: list[Ride] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (label, what is wrong)


def _strava_titles(archive: zipfile.ZipFile) -> dict[str, str]:
    """Activity names from a Strava export's ``activities.csv`` (``Filename`` -> ``Activity Name``)."""
    index = next((n for n in archive.namelist() if PurePosixPath(n).name == "activities.csv"), None)
    if index is None:
        return {}
    try:
        text = archive.read(index).decode("utf-8-sig", errors="replace")
        rows = csv.DictReader(io.StringIO(text))
        return {
            PurePosixPath(row["Filename"]).name: row["Activity Name"]
            for row in rows
            if row.get("Filename") and row.get("Activity Name")
        }
    except (KeyError, csv.Error, zipfile.BadZipFile, OSError):
        return {}


def _from_zip(archive: zipfile.ZipFile, label: str, found: Collected, depth: int) -> None:
    titles = _strava_titles(archive)
    for member in archive.infolist():
        if member.is_dir():
            continue
        member_label = f"{label}!{member.filename}"
        name = PurePosixPath(member.filename).name
        if name.lower().endswith(".zip"):
            if depth >= MAX_ZIP_DEPTH:
                found.problems.append((member_label, "archives nested too deep"))
            elif member.file_size > MAX_NESTED_ZIP_BYTES:
                found.problems.append((member_label, "nested archive too large"))
            else:
                _nested_zip(archive, member, member_label, found, depth + 1)
            continue
        if not is_ride(name):
            continue
        if member.file_size > MAX_RIDE_BYTES:
            found.problems.append((member_label, f"{member.file_size:,} bytes: too large for a ride"))
            continue

        def read(archive: zipfile.ZipFile = archive, member: zipfile.ZipInfo = member) -> bytes:
            with archive.open(member) as handle:
                data = handle.read(MAX_RIDE_BYTES + 1)  # the size in the directory can lie
            if len(data) > MAX_RIDE_BYTES:
                raise ValueError("too large for a ride")
            return data

        found.rides.append(Ride(member_label, name, read, member.file_size, titles.get(name)))


def _nested_zip(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, label: str, found: Collected, depth: int
) -> None:
    # A zip needs a seekable file: the inner archive is copied to a temporary file, deleted on close.
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the rides read from it
    with archive.open(member) as source:
        while chunk := source.read(1024 * 1024):
            spool.write(chunk)
    try:
        inner = zipfile.ZipFile(spool)
    except zipfile.BadZipFile:
        found.problems.append((label, "not a readable zip archive"))
        spool.close()
        return
    _from_zip(inner, label, found, depth)


def _from_path(path: Path, found: Collected) -> None:
    if path.suffix.lower() == ".zip":
        try:
            _from_zip(zipfile.ZipFile(path), str(path), found, 1)
        except (zipfile.BadZipFile, OSError) as exc:
            found.problems.append((str(path), f"not a readable zip archive ({exc})"))
        return
    size = path.stat().st_size
    if size > MAX_RIDE_BYTES:
        found.problems.append((str(path), f"{size:,} bytes: too large for a ride"))
        return
    found.rides.append(Ride(str(path), path.name, path.read_bytes, size))


def collect(paths: list[Path]) -> Collected:
    """Every ride under ``paths``: files as given (whatever their name), folders searched for ride files and
    zip archives, zip archives opened. Missing paths are problems, not a reason to stop."""
    found = Collected()
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and (is_ride(child.name) or child.suffix.lower() == ".zip"):
                    _from_path(child, found)
        elif path.is_file():
            _from_path(path, found)
        else:
            found.problems.append((str(path), "no such file or folder"))
    return found


class Ledger:
    """What this account has already stored, by content hash (see the module's docstring)."""

    def __init__(self, account: str, path: Path | None = None) -> None:
        self.account = account
        self.path = path or private_state_file("uploaded.txt")
        self.known: dict[str, int] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                parts = line.split(" ")
                if len(parts) == 3 and parts[0] == account and parts[2].isdigit():
                    self.known[parts[1]] = int(parts[2])

    @staticmethod
    def digest(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def record(self, digest: str, activity_id: int) -> None:
        self.known[digest] = activity_id
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(f"{self.account} {digest} {activity_id}\n")
