"""FIT's CRC-16: the byte-table and the numpy block paths both equal a plain bit-by-bit reference."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from trainerday_server.fitfile import _CRC_BLOCKS_FROM, _crc16_blocks, crc16


def reference_crc(data: bytes) -> int:
    """CRC-16/ARC one bit at a time, straight from its definition (FIT's CRC)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def test_known_values() -> None:
    assert crc16(b"") == 0
    assert crc16(b"123456789") == 0xBB3D  # CRC-16/ARC's published check value
    header = bytes([14, 0x20, 0x54, 0x08, 0, 0, 0, 0]) + b".FIT"
    assert crc16(header + crc16(header).to_bytes(2, "little")) == 0  # a CRC appended checks to zero


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3 * _CRC_BLOCKS_FROM))
def test_both_paths_equal_the_reference(data: bytes) -> None:
    expected = reference_crc(data)
    assert crc16(data) == expected  # the table below _CRC_BLOCKS_FROM bytes, the blocks above
    assert _crc16_blocks(data) == expected
    assert crc16(memoryview(data)) == expected


@settings(max_examples=20, deadline=None)
@given(st.integers(_CRC_BLOCKS_FROM, 300_000), st.integers(0, 2**32))
def test_long_inputs_of_any_size(size: int, seed: int) -> None:
    data = random.Random(seed).randbytes(size)  # hypothesis draws the size; whole files are too big to draw
    assert crc16(data) == reference_crc(data)
