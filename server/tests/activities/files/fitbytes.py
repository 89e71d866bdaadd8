"""FIT files built byte by byte, for what the sample recordings lack (odd fields, damage, hostile files), and
a stand-in for the fitdecode fallback that fails the test: the fast path must decode them itself."""

from __future__ import annotations

import struct

from trainerday_server.fitfile import crc16

T0 = 1_000_000_000  # FIT seconds: 2021-09-09T01:46:40Z
RECORD_TIMESTAMP_POWER = [(253, 4, 0x86), (7, 2, 0x84)]


def fit_segment(body: bytes, *, declared: int | None = None, crc: bool = True) -> bytes:
    """A FIT segment around ``body``: a 14-byte header (declaring ``declared`` body bytes) and its CRC."""
    header = struct.pack("<BBHI4s", 14, 0x20, 2132, len(body) if declared is None else declared, b".FIT")
    header += struct.pack("<H", crc16(header))
    segment = header + body
    return segment + struct.pack("<H", crc16(segment)) if crc else segment


def definition(local: int, global_number: int, fields: list[tuple[int, int, int]], endian: int = 0) -> bytes:
    """A definition message; ``fields`` are (number, size, base type)."""
    order = ">" if endian else "<"
    message = struct.pack(f"{order}BBBHB", 0x40 | local, 0, endian, global_number, len(fields))
    return message + b"".join(struct.pack("BBB", *f) for f in fields)


def no_fallback(*args: object) -> None:
    """Patched in for ``fit.read_body_with_fitdecode`` where the fast path must decode the file itself."""
    raise AssertionError("fell back to fitdecode")
