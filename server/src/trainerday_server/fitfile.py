"""A small writer for the FIT binary format (Garmin's Flexible and Interoperable Data Transfer).

We read FIT with fitdecode, but no maintained Python library writes it well, so this module writes the few
messages we need (workout files, activity files from streams): a 14-byte header, definition and data messages
with normal headers, and the CRC-16 that guards the header and the file. Every file it writes is checked by
decoding it with fitdecode in the tests.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

FIT_EPOCH_OFFSET = 631065600  # seconds from the Unix epoch to FIT's (1989-12-31T00:00:00Z)
PROTOCOL_VERSION = 0x20  # 2.0
PROFILE_VERSION = 2132  # 21.32

_CRC_TABLE = (
    0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
    0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400,
)  # fmt: skip


def crc16(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """FIT's CRC-16 (the nibble-table form from the FIT protocol document)."""
    table = _CRC_TABLE
    for byte in data:
        tmp = table[crc & 0xF]
        crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ table[byte & 0xF]
        tmp = table[crc & 0xF]
        crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ table[(byte >> 4) & 0xF]
    return crc


class BaseType(Enum):
    """FIT base types: (type byte, struct code, size, invalid value)."""

    ENUM = (0x00, "B", 1, 0xFF)
    SINT8 = (0x01, "b", 1, 0x7F)
    UINT8 = (0x02, "B", 1, 0xFF)
    SINT16 = (0x83, "h", 2, 0x7FFF)
    UINT16 = (0x84, "H", 2, 0xFFFF)
    SINT32 = (0x85, "i", 4, 0x7FFFFFFF)
    UINT32 = (0x86, "I", 4, 0xFFFFFFFF)
    STRING = (0x07, "s", 1, 0)
    FLOAT32 = (0x88, "f", 4, 0xFFFFFFFF)
    UINT8Z = (0x0A, "B", 1, 0x00)
    UINT16Z = (0x8B, "H", 2, 0x0000)
    UINT32Z = (0x8C, "I", 4, 0x00000000)
    SINT64 = (0x8E, "q", 8, 0x7FFFFFFFFFFFFFFF)
    UINT64 = (0x8F, "Q", 8, 0xFFFFFFFFFFFFFFFF)

    @property
    def type_byte(self) -> int:
        return self.value[0]

    @property
    def code(self) -> str:
        return self.value[1]

    @property
    def size(self) -> int:
        return self.value[2]

    @property
    def invalid(self) -> int:
        return self.value[3]


@dataclass(frozen=True, slots=True)
class Field:
    """A field of a message definition: its number in the FIT profile, base type and (for strings) byte size."""

    number: int
    base_type: BaseType
    size: int = 0  # strings only: bytes reserved, NUL padding included

    @property
    def byte_size(self) -> int:
        return self.size if self.base_type is BaseType.STRING else self.base_type.size


@dataclass(frozen=True, slots=True)
class _Definition:
    fields: tuple[Field, ...]
    packer: struct.Struct


class FitWriter:
    """Build a FIT file message by message, then ``finish()`` for the bytes with header and CRCs."""

    def __init__(self) -> None:
        self._body = bytearray()
        self._definitions: dict[int, _Definition] = {}

    def define(self, local: int, global_number: int, fields: Sequence[Field]) -> None:
        """Write a definition message binding local type ``local`` (0..15) to a global message."""
        if not 0 <= local <= 15:
            raise ValueError("local message type must be 0..15")
        self._body.append(0x40 | local)
        self._body += struct.pack("<BBHB", 0, 0, global_number, len(fields))
        for field in fields:
            self._body += struct.pack("<BBB", field.number, field.byte_size, field.base_type.type_byte)
        codes = "".join(f"{f.size}s" if f.base_type is BaseType.STRING else f.base_type.code for f in fields)
        self._definitions[local] = _Definition(tuple(fields), struct.Struct("<" + codes))

    def write(self, local: int, *values: Any) -> None:
        """Write a data message for local type ``local``; ``None`` stands for the field's invalid value."""
        definition = self._definitions[local]
        if len(values) != len(definition.fields):
            raise ValueError(f"expected {len(definition.fields)} values, got {len(values)}")
        packed: list[Any] = []
        for field, value in zip(definition.fields, values, strict=True):
            if field.base_type is BaseType.STRING:
                raw = (value or "").encode("utf-8")[: field.size - 1]
                packed.append(raw)  # struct pads with NULs, so the string is always terminated
            elif value is None:
                if field.base_type is BaseType.FLOAT32:
                    packed.append(struct.unpack("<f", struct.pack("<I", 0xFFFFFFFF))[0])
                else:
                    packed.append(field.base_type.invalid)
            else:
                packed.append(value)
        self._body.append(local)
        self._body += definition.packer.pack(*packed)

    def finish(self) -> bytes:
        header = struct.pack("<BBHI4s", 14, PROTOCOL_VERSION, PROFILE_VERSION, len(self._body), b".FIT")
        header += struct.pack("<H", crc16(header))
        content = header + bytes(self._body)
        return content + struct.pack("<H", crc16(content))


def fit_timestamp(unix_seconds: float) -> int:
    """A FIT ``date_time`` (seconds since 1989-12-31 UTC) from Unix seconds."""
    return int(unix_seconds) - FIT_EPOCH_OFFSET
