"""Issue 9, bug 7: a FIT message naming a local message type never defined no longer ends the ride. Both
decoders resume at the next message that reads with a plausible time, within a bound of offsets per file."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import fitdecode
import numpy as np
import pytest

from tests.activities.files.fitbytes import RECORD_TIMESTAMP_POWER, T0, definition, fit_segment
from trainerday_server.activities.files import fit
from trainerday_server.activities.files.fit import decode_fit
from trainerday_server.activities.files.fitbody import MAX_RESYNC_OFFSETS, MAX_WORK, WorkBudget
from trainerday_server.activities.files.fitfast import FastPathUnsupported, read_body
from trainerday_server.errors import ActivityFileError

UNDEFINED = 0x05  # a data message header naming local message 5, which these files never define


def records(first: int, count: int, local: int = 0) -> bytes:
    return b"".join(struct.pack("<BIH", local, T0 + first + i, 200 + i % 50) for i in range(count))


def test_damage_between_records_is_skipped_and_the_ride_continues() -> None:
    before = definition(0, 20, RECORD_TIMESTAMP_POWER) + records(0, 100)
    damage = bytes([UNDEFINED]) * 1000
    recording = decode_fit(fit_segment(before + damage + records(100, 100)))
    np.testing.assert_array_equal(recording.time, np.arange(200))
    np.testing.assert_array_equal(recording.channels["power"], [200 + i % 50 for i in range(200)])
    assert recording.warnings[0] == (
        f"skipped 1,000 bytes of damaged data at byte {14 + len(before):,}; the ride continues after it"
    )


def test_a_redefinition_after_the_damage_is_a_resync_point() -> None:
    """The device's next definition (here local 1, records with power first) reads, then its records."""
    before = definition(0, 20, RECORD_TIMESTAMP_POWER) + records(0, 10)
    redefined = definition(1, 20, [(7, 2, 0x84), (253, 4, 0x86)])
    after = b"".join(struct.pack("<BHI", 1, 300, T0 + 10 + i) for i in range(10))
    recording = decode_fit(fit_segment(before + bytes([UNDEFINED, 0x33, 0x00]) + redefined + after))
    np.testing.assert_array_equal(recording.time, np.arange(20))
    assert recording.channels["power"][10:].tolist() == [300] * 10
    assert recording.warnings[0].startswith(f"skipped 3 bytes of damaged data at byte {14 + len(before):,}")


def test_two_damaged_places_are_each_skipped() -> None:
    body = definition(0, 20, RECORD_TIMESTAMP_POWER) + records(0, 10)
    body += bytes([UNDEFINED]) * 7 + records(10, 10) + bytes([UNDEFINED]) * 9 + records(20, 10)
    recording = decode_fit(fit_segment(body))
    assert recording.sample_count == 30
    assert [w.split(" of damaged")[0] for w in recording.warnings[:2]] == [
        "skipped 7 bytes",
        "skipped 9 bytes",
    ]


def test_records_dated_far_from_the_ride_are_no_resync_point() -> None:
    """A record that reads but is dated a day after the last time read is taken for damage too."""
    before = definition(0, 20, RECORD_TIMESTAMP_POWER) + records(0, 10)
    stray = struct.pack("<BIH", 0, T0 + 86400, 999)
    recording = decode_fit(fit_segment(before + bytes([UNDEFINED]) + stray + records(10, 5)))
    np.testing.assert_array_equal(recording.time, np.arange(15))
    assert recording.warnings[0].startswith("skipped 8 bytes of damaged data")


def test_damage_longer_than_the_bound_keeps_what_came_before() -> None:
    before = definition(0, 20, RECORD_TIMESTAMP_POWER) + records(0, 100)
    damage = bytes([UNDEFINED]) * (MAX_RESYNC_OFFSETS + 10)
    recording = decode_fit(fit_segment(before + damage + records(100, 100)))
    np.testing.assert_array_equal(recording.time, np.arange(100))
    at = 14 + len(before)
    assert recording.warnings == [
        f"unreadable data at byte {at:,} (local message 5 not defined); the segment's remaining "
        f"{len(damage) + 700:,} bytes were skipped; 100 records recovered"
    ]


def test_the_offsets_tried_count_against_the_files_work(monkeypatch) -> None:
    """Each offset tried is a unit of the file's work budget: garbage cannot buy more than the budget."""
    monkeypatch.setattr(fit, "MAX_WORK", 5000)
    before = definition(0, 20, RECORD_TIMESTAMP_POWER) + records(0, 100)
    assert decode_fit(fit_segment(before + bytes([UNDEFINED]) * 1000 + records(100, 10))).sample_count == 110
    with pytest.raises(ActivityFileError, match="holds more messages than one activity may"):
        decode_fit(fit_segment(before + bytes([UNDEFINED]) * 6000 + records(100, 10)))


@pytest.mark.parametrize("seed", range(5))
def test_random_garbage_after_a_valid_start_keeps_the_start(seed: int) -> None:
    """Whatever follows (any decoder, resync or not), the valid records before it are kept, at their times,
    and nothing dated off the ride is invented from the garbage."""
    before = definition(0, 20, RECORD_TIMESTAMP_POWER) + records(0, 100)
    garbage = random.Random(seed).randbytes(200_000)
    try:
        recording = decode_fit(fit_segment(before + garbage))
    except ActivityFileError as refused:  # only the work budget may refuse it
        assert "holds more" in refused.detail
        return
    assert recording.sample_count >= 100
    np.testing.assert_array_equal(recording.time[:100], np.arange(100))
    assert recording.warnings


# --- the reference decoder (fitdecode) resyncs the same way ----------------------------------------------
EDGE_810 = "fit/Edge810-Vector-2013-08-16-15-35-10.fit"  # 4,700 records, one segment


def middle_record_header(data: bytes) -> int:
    """The offset of the middle record message's header byte, read with fitdecode."""
    reader = fitdecode.FitReader(data, keep_raw_chunks=True, processor=None)
    offsets = [
        frame.chunk.offset
        for frame in reader
        if isinstance(frame, fitdecode.FitDataMessage) and frame.global_mesg_num == 20
    ]
    assert len(offsets) == 4700
    return offsets[len(offsets) // 2]


def damaged(data: bytes, at: int, header: int) -> bytes:
    return data[:at] + bytes([header]) + data[at + 1 :]


def test_fitdecode_resyncs_past_an_undefined_local_message_as_the_fast_decoder_does(samples: Path) -> None:
    """A real ride whose middle record names local message 13, never defined: both decoders skip the same
    31 bytes and read the same 4,699 records (before, fitdecode stopped there: 2,350)."""
    data = (samples / EDGE_810).read_bytes()
    at = middle_record_header(data)
    file = damaged(data, at, 0x0D)
    fast, reference = decode_fit(file), decode_fit(file, fast=False)
    for recording in (fast, reference):
        assert recording.sample_count == 4699
        assert recording.warnings[0] == (
            f"skipped 31 bytes of damaged data at byte {at:,}; the ride continues after it"
        )
    np.testing.assert_array_equal(reference.time, fast.time)
    for channel, values in fast.channels.items():
        np.testing.assert_array_equal(reference.channels[channel], values, err_msg=channel)


def test_damage_that_sends_the_file_to_fitdecode_is_resynced_past_there(samples: Path) -> None:
    """The same record's header byte made 0x07 reads as local message 7 (a 21-byte event), after which the
    misread bytes hold a definition the fast decoder does not handle: the file goes to fitdecode, which
    read 2,350 records and stopped. It now resumes where messages read again, as the fast decoder would."""
    data = (samples / EDGE_810).read_bytes()
    file = damaged(data, middle_record_header(data), 0x07)
    with pytest.raises(FastPathUnsupported):
        fit._decode(file, read_body, WorkBudget(MAX_WORK))
    recording = decode_fit(file)
    assert (
        recording.warnings[0]
        == "skipped 25 bytes of damaged data at byte 74,686; the ride continues after it"
    )
    assert recording.sample_count == 4681  # the 19 records misread before the damage showed are gone
    assert recording.time[-1] - recording.time[0] == decode_fit(data).time[-1] - decode_fit(data).time[0]
