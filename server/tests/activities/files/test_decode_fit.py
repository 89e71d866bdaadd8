"""FIT decoding: every sample file, damaged ones salvaged, the fast path held to fitdecode, hostile bytes."""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.activities.files.fitbytes import RECORD_TIMESTAMP_POWER, T0, definition, fit_segment, no_fallback
from trainerday_server.activities.files import fit, fitbody, fitfast
from trainerday_server.activities.files.fit import decode_fit
from trainerday_server.activities.recording import Recording
from trainerday_server.errors import ActivityFileError, TrainerDayError
from trainerday_server.fitfile import FIT_EPOCH_OFFSET

SAMPLE_DIRS = ("fit", "damaged")


def content(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


@dataclass(frozen=True)
class Expected:
    """What a sample holds, from SOURCES.md and the device's own session message (checked with fitdecode)."""

    records: int
    start: str
    sport: tuple[str | None, str | None]
    counts: dict[str, int]  # channel -> samples holding a value; channels not listed must be absent
    summary: dict[str, float | None] = field(default_factory=dict)
    pauses: int = 0
    device: str | None = None
    warnings: tuple[str, ...] = ()


ALL_NINE = (
    "power",
    "heartRate",
    "cadence",
    "speed",
    "distance",
    "altitude",
    "latitude",
    "longitude",
    "temperature",
)


def every(count: int, *channels: str) -> dict[str, int]:
    return dict.fromkeys(channels, count)


EXPECTED = {
    "fit/14582164182.fit.gz": Expected(
        2760,
        "2025-02-19T00:10:45",
        ("cycling", "virtual_activity"),
        every(2760, *ALL_NINE[:8]),
        # elapsed shorter than timer, as the device wrote it; the metrics refuse it (test_metrics_real)
        {"timer_seconds": 2760, "elapsed_seconds": 1632, "average_power": 142, "max_power": 588},
        device="garmin edge_1030_plus",
    ),
    "fit/20130717_143733.fit": Expected(
        6255,
        "2013-07-17T12:37:34",
        ("cycling", None),
        {**every(6255, "heartRate", "distance", "altitude", "temperature"), **every(5637, "power", "cadence"),
         **every(6243, "speed", "latitude", "longitude")},
        {"elapsed_seconds": 6710, "timer_seconds": 6254, "average_power": 186, "max_heart_rate": 178},
        pauses=4,
    ),
    "fit/2019-02-17-062644-ELEMNT-297E-195-0.fit": Expected(
        13471,
        "2019-02-17T06:26:44",
        ("cycling", None),
        {"power": 13346, "heartRate": 13402, "cadence": 13345, "speed": 13426, "distance": 13425,
         "altitude": 13402, "latitude": 13348, "longitude": 13348, "temperature": 13450},
        {"elapsed_seconds": 23595, "timer_seconds": 13471, "distance_meters": 78940.55, "average_power": 102,
         "max_power": 668, "average_heart_rate": 124, "max_heart_rate": 170},
        pauses=55,
        device="wahoo_fitness 28",
    ),
    "fit/2020-06-01-16-52-40.fit": Expected(
        96,
        "2020-06-01T14:52:40",
        ("cycling", "generic"),
        {**every(96, *ALL_NINE), "power": 95},
        {"elapsed_seconds": 113.15, "timer_seconds": 93.7, "average_power": 149, "max_power": 434},
        pauses=1,
        device="garmin edge1000",
    ),
    "fit/4078723797.fit": Expected(
        8357,
        "2019-09-20T14:10:03",
        ("cycling", "generic"),
        every(8357, *ALL_NINE),
        {"distance_meters": 57567.24, "average_power": 219, "max_power": 1022, "average_heart_rate": 165,
         "max_heart_rate": 190, "average_cadence": 91, "total_ascent_meters": 1254},
    ),
    "fit/6449921903_ACTIVITY.fit": Expected(
        199,
        "2021-03-18T13:02:33",
        ("cycling", "indoor_cycling"),
        {**every(199, "heartRate", "distance", "temperature"), **every(192, "power", "cadence")},
        {"timer_seconds": 196.229, "average_power": 130},
        pauses=2,
        device="garmin fr935",
    ),
    "fit/Edge810-Vector-2013-08-16-15-35-10.fit": Expected(
        4700,
        "2013-08-16T18:05:10",
        ("cycling", "generic"),
        {**every(4700, *ALL_NINE), "heartRate": 4671, "cadence": 4634},
        {"average_power": 276, "max_power": 619},
    ),
    "fit/Garmin830_with_Stages.fit": Expected(
        1798,
        "2020-01-26T13:00:39",
        ("cycling", None),
        every(1798, "power", "heartRate", "cadence"),
        {"timer_seconds": 1799, "average_power": None},
        device="garmin edge_830",
    ),
    "fit/Karoo-Botley_BW_Swanmore_Wickham-2025-05-09-1238.fit": Expected(
        4314,
        "2025-05-09T11:38:02",
        ("cycling", None),
        {**every(4314, *ALL_NINE), "power": 4312, "cadence": 4302},
        {"average_power": 174, "total_ascent_meters": 351},
        device="hammerhead Karoo 2",
    ),
    "fit/activity-small-fenix2-run.fit": Expected(
        2809,
        "2015-08-15T14:45:08",
        ("running", None),
        {**every(2809, *ALL_NINE[2:]), "heartRate": 2808},
        {"distance_meters": 9008.22, "average_power": None},
    ),
    "fit/big_activity.fit": Expected(
        99998,
        "2023-09-04T12:55:20",
        ("cycling", "road"),
        every(99998, *ALL_NINE[1:]),
        {"elapsed_seconds": 30877, "distance_meters": 32172.05},  # the records span 99,997 s: see metrics
    ),
    "fit/developer-types-sample.fit": Expected(
        3424,
        "2017-01-17T17:06:47",
        ("running", "generic"),
        every(3424, *ALL_NINE[:8]),
        {"average_power": 218},
        device="stryd",
    ),
    "fit/sample-activity-indoor-trainer.fit": Expected(
        2263,
        "2011-11-02T12:54:19",
        ("cycling", "generic"),
        {**every(2222, "power", "cadence"), **every(2263, "heartRate", "altitude"), "temperature": 2260},
        {"average_power": 201, "max_power": 331, "distance_meters": 0},
    ),
    "fit/sample_mulitple_header.fit": Expected(
        1773,
        "2018-05-27T07:33:01",
        ("multisport", None),
        {"heartRate": 1430, "cadence": 919, "speed": 1773, "distance": 1773, "altitude": 1424,
         "latitude": 1462, "longitude": 1462},
        # five sessions (swim, transition, bike, transition, run) added up
        {"elapsed_seconds": 9491.348, "distance_meters": 52533.68, "max_heart_rate": 187},
        device="garmin fr920xt",
    ),
    "fit/unterminated-strings.fit": Expected(
        33,
        "2023-11-08T10:19:38",
        ("cycling", "indoor_cycling"),
        {**every(31, "power", "heartRate", "cadence"), "speed": 22, "distance": 33, "temperature": 26},
        {"average_power": 37, "max_power": 125},
    ),
    # Damaged: everything before the damage is recovered, and the warning says what and how much.
    "damaged/nick.fit": Expected(
        14390,  # of the 14,391 records one repeats the one before it exactly and is dropped
        "2020-09-12T12:23:38",
        ("cycling", None),
        every(14390, *ALL_NINE),
        pauses=8,
        device="sigmasport 46",
        warnings=("file ends mid-record at byte 403,456; CRC invalid; 14,391 records recovered",),
    ),
    "damaged/activity-unexpected-eof.fit": Expected(
        14,
        "2012-04-09T21:22:26",
        ("running", "generic"),
        every(14, "speed", "distance", "altitude", "latitude", "longitude"),
        warnings=("file ends mid-record at byte 768; CRC missing; 14 records recovered",),
    ),
    "damaged/activity-filecrc.fit": Expected(
        14,
        "2012-04-09T21:22:26",
        ("running", "generic"),
        every(14, "speed", "distance", "altitude", "latitude", "longitude"),
        warnings=("CRC invalid; 14 records recovered",),
    ),
    "damaged/activity-settings-nodata.fit": Expected(
        14,
        "2012-04-09T21:22:26",
        ("running", "generic"),
        every(14, "speed", "distance", "altitude", "latitude", "longitude"),
        warnings=("chained FIT segment 2 (from byte 771): file ends mid-record at byte 786; CRC missing; "
                  "0 records recovered",),
    ),
}  # fmt: skip


def test_every_sample_has_expectations(samples: Path) -> None:
    on_disk = {f"{d}/{p.name}" for d in SAMPLE_DIRS for p in (samples / d).iterdir()}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_decodes_as_expected(samples: Path, name: str, finite) -> None:
    expected = EXPECTED[name]
    recording = decode_fit(content(samples / name))

    assert recording.format == "fit"
    assert recording.sample_count == expected.records
    assert recording.start_time == datetime.fromisoformat(expected.start).replace(tzinfo=UTC)
    assert (recording.sport, recording.sub_sport) == expected.sport
    assert {c: finite(recording, c) for c in recording.channels} == expected.counts
    assert recording.warnings == list(expected.warnings)
    assert len(recording.pauses) == expected.pauses
    if expected.device:
        assert recording.device == expected.device
    assert recording.summary is not None or not expected.summary
    for key, value in expected.summary.items():
        assert getattr(recording.summary, key) == (pytest.approx(value) if value is not None else None), key
    assert np.all(np.diff(recording.time) >= 0)


def test_positions_are_degrees_and_invalid_positions_are_nan(samples: Path) -> None:
    recording = decode_fit(content(samples / "fit/20130717_143733.fit"))
    latitude, longitude = recording.channels["latitude"], recording.channels["longitude"]
    # 12 records carry the invalid position 0x7FFFFFFF; the rest lie in the Alps, not at 180°.
    assert np.isnan(latitude).sum() == np.isnan(longitude).sum() == 12
    assert np.nanmin(latitude) > 45 and np.nanmax(latitude) < 48
    assert np.nanmin(longitude) > 5 and np.nanmax(longitude) < 12


def test_pauses_come_from_timer_events_and_account_for_the_device_timer(samples: Path) -> None:
    recording = decode_fit(content(samples / "fit/2020-06-01-16-52-40.fit"))
    assert recording.pauses == [(53.0, 85.0)]  # timer stop_all 14:53:33, start 14:54:05
    for name in ("fit/2019-02-17-062644-ELEMNT-297E-195-0.fit", "fit/20130717_143733.fit"):
        recording = decode_fit(content(samples / name))
        assert recording.summary is not None and recording.summary.timer_seconds is not None
        paused = sum(end - start for start, end in recording.pauses)
        assert recording.time[-1] - paused == pytest.approx(recording.summary.timer_seconds, abs=1)


# --- the fast path against the reference -----------------------------------------------------------------


def assert_same(fast: Recording, reference: Recording) -> None:
    assert fast.start_time == reference.start_time
    np.testing.assert_array_equal(fast.time, reference.time)
    assert sorted(fast.channels) == sorted(reference.channels)
    for channel, values in reference.channels.items():
        np.testing.assert_array_equal(fast.channels[channel], values, err_msg=channel)
    assert (fast.sport, fast.sub_sport, fast.device) == (
        reference.sport,
        reference.sub_sport,
        reference.device,
    )
    assert fast.summary == reference.summary
    assert fast.pauses == reference.pauses
    assert fast.warnings == reference.warnings


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fast_path_reads_exactly_what_fitdecode_reads(samples: Path, name: str) -> None:
    data = content(samples / name)
    fast = decode_fit(data, fast=True)
    assert_same(fast, decode_fit(data, fast=False))


@pytest.fixture
def fast_path_only(monkeypatch) -> None:
    """Fail the test if the file is decoded with fitdecode: the fast path must handle it itself."""
    monkeypatch.setattr(fit, "read_body_with_fitdecode", no_fallback)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fast_path_handles_every_sample_itself(samples: Path, name: str, fast_path_only) -> None:
    """No sample needs the fallback, so the comparison above really exercises the fast path."""
    decode_fit(content(samples / name))


# --- FIT features the samples lack, built byte by byte ----------------------------------------------------


def test_compressed_timestamp_headers() -> None:
    body = definition(0, 20, RECORD_TIMESTAMP_POWER) + struct.pack("<BIH", 0, T0, 100)
    body += definition(1, 20, [(7, 2, 0x84)])  # records whose time is in the header only
    for seconds, power in ((1, 110), (2, 120), (31, 130), (33, 140)):  # 31 -> 33 rolls the 5-bit offset over
        offset = (T0 + seconds) & 0x1F
        body += struct.pack("<BH", 0x80 | (1 << 5) | offset, power)
    data = fit_segment(body)

    recording = decode_fit(data)
    np.testing.assert_array_equal(recording.time, [0, 1, 2, 31, 33])
    np.testing.assert_array_equal(recording.channels["power"], [100, 110, 120, 130, 140])
    assert recording.start_time == datetime.fromtimestamp(T0 + FIT_EPOCH_OFFSET, UTC)
    assert_same(recording, decode_fit(data, fast=False))


def test_big_endian_messages_and_sentinels() -> None:
    fields = [(253, 4, 0x86), (7, 2, 0x84), (3, 1, 0x02), (0, 4, 0x85), (1, 4, 0x85), (6, 2, 0x84)]
    body = definition(0, 20, fields, endian=1)
    body += struct.pack(">BIHBiiH", 0, T0, 250, 140, 2**30, -(2**30), 8000)
    body += struct.pack(">BIHBiiH", 0, T0 + 1, 0xFFFF, 0xFF, 0x7FFFFFFF, 0x7FFFFFFF, 0xFFFF)  # all invalid
    data = fit_segment(body)

    recording = decode_fit(data)
    np.testing.assert_array_equal(recording.channels["power"], [250, np.nan])
    np.testing.assert_array_equal(recording.channels["heartRate"], [140, np.nan])
    np.testing.assert_array_equal(recording.channels["latitude"], [90.0, np.nan])
    np.testing.assert_array_equal(recording.channels["longitude"], [-90.0, np.nan])
    np.testing.assert_array_equal(recording.channels["speed"], [8.0, np.nan])
    assert_same(recording, decode_fit(data, fast=False))


def test_records_without_a_time_are_left_out_with_a_warning() -> None:
    body = definition(0, 20, RECORD_TIMESTAMP_POWER)
    body += b"".join(struct.pack("<BIH", 0, T0 + i, 200) for i in range(3))
    body += struct.pack("<BIH", 0, 0xFFFFFFFF, 300)
    recording = decode_fit(fit_segment(body))
    assert recording.sample_count == 3
    assert recording.warnings == ["1 of 4 records have no time and were left out"]


def test_fields_defined_twice_are_read_as_the_reference_reads_them(monkeypatch) -> None:
    """The first valid value is the field's; the last valid timestamp is what compressed timestamp headers
    count from; a subfield is chosen if any of the field's copies selects it. Once a reason for fitdecode's
    slow path (seconds for a small file), now read on the fast path."""
    file_id = definition(2, 0, [(0, 1, 0x00), (1, 2, 0x84), (1, 2, 0x84), (2, 2, 0x84)])
    file_id += struct.pack("<BBHHH", 2, 4, 0xFFFF, 1, 2713)  # activity; manufacturer invalid, then garmin
    event = definition(3, 21, [(253, 4, 0x86), (0, 1, 0x00), (0, 1, 0x00), (1, 1, 0x00)])
    event += struct.pack("<BIBBB", 3, T0 + 10, 0xFF, 0, 4) + struct.pack("<BIBBB", 3, T0 + 20, 0xFF, 0, 0)
    twice = definition(0, 20, [(253, 4, 0x86), (7, 2, 0x84), (253, 4, 0x86), (7, 2, 0x84)])
    twice += struct.pack("<BIHIH", 0, T0, 0xFFFF, T0 + 40, 150)  # time T0, power 150; counting from T0 + 40
    compressed = definition(1, 20, [(7, 2, 0x84)])
    compressed += struct.pack("<BH", 0x80 | (1 << 5) | ((T0 + 41) & 0x1F), 230)  # T0 + 41, not T0 + 9
    later = struct.pack("<BIHIH", 0, 0xFFFFFFFF, 210, T0 + 42, 220)  # time T0 + 42, power 210
    data = fit_segment(file_id + event + twice + compressed + later)

    reference = decode_fit(data, fast=False)
    monkeypatch.setattr(fit, "read_body_with_fitdecode", no_fallback)
    recording = decode_fit(data)
    np.testing.assert_array_equal(recording.time, [0, 41, 42])
    np.testing.assert_array_equal(recording.channels["power"], [150, 230, 210])
    assert recording.device == "garmin edge_1030"
    assert recording.pauses == [(10.0, 20.0)]
    assert_same(recording, reference)


def test_compressed_speed_distance_falls_back_to_fitdecode() -> None:
    # Old devices pack speed and distance into 3 bytes (FIT field 8); fitdecode unpacks and accumulates it.
    body = definition(0, 20, [(253, 4, 0x86), (8, 3, 0x0D)])
    for i, (speed, distance) in enumerate(((500, 16), (600, 32), (700, 64))):  # 5 m/s, 1 m, 2 m, 4 m
        packed = speed | (distance << 12)
        body += struct.pack("<BI", 0, T0 + i) + packed.to_bytes(3, "little")
    data = fit_segment(body)
    with pytest.raises(fitfast.FastPathUnsupported):
        fitfast.read_body(data, 0, 14 + len(body), fitbody.WorkBudget(fitbody.MAX_WORK))
    recording = decode_fit(data)
    np.testing.assert_allclose(recording.channels["speed"], [5, 6, 7])
    np.testing.assert_allclose(recording.channels["distance"], [1, 2, 4])


# --- refused -----------------------------------------------------------------------------------------------


HEADER_ONLY = fit_segment(b"")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x0e\x20\x34\x08\x00\x00\x00\x00.FIT", "the file ends inside the FIT header at byte 0"),
        (b"\xff" + HEADER_ONLY[1:], "unsupported header size of 255 bytes"),
        (b"\x0e\x20\x34\x08\x00\x00\x00\x00.FAT\x00\x00", "no FIT header at byte 0"),
        (HEADER_ONLY, "this FIT file holds no activity records"),
        (
            fit_segment(definition(0, 20, RECORD_TIMESTAMP_POWER), declared=0xFFFFFFFF, crc=False),
            "holds no activity records: file ends at byte 26, before the end its header declares "
            "(4,294,967,309); CRC missing; 0 records recovered",
        ),
        (
            fit_segment(struct.pack("<BIH", 0, T0, 100)),  # data before any definition
            "unreadable data at byte 14 (local message 0 not defined)",
        ),
        (
            fit_segment(definition(0, 0, [(0, 1, 0x00)]) + b"\x00\x06"),  # file_id type 6: course
            "is a course (a planned route), not a recorded activity",
        ),
        (
            # a definition of 255 fields of 255 bytes each, and the file ends at once
            fit_segment(definition(0, 20, [(7, 255, 0x0D)] * 255) + b"\x00" * 10, declared=70000, crc=False),
            "no activity records: file ends mid-record at byte 795",
        ),
    ],
)
def test_unusable_fit_files_are_refused_saying_why(data: bytes, message: str) -> None:
    for fast in (True, False):
        with pytest.raises(ActivityFileError) as raised:
            decode_fit(data, fast=fast)
        assert message in raised.value.detail
        assert raised.value.status == 400


def test_what_a_file_may_make_us_hold_is_bounded(monkeypatch) -> None:
    for module in (fit, fitbody, fitfast):
        monkeypatch.setattr(module, "MAX_RECORDS", 10)
    for module in (fit, fitbody):
        monkeypatch.setattr(module, "MAX_MESSAGES", 3)
    event = definition(1, 21, [(253, 4, 0x86), (0, 1, 0x00), (1, 1, 0x00)])
    body = definition(0, 20, RECORD_TIMESTAMP_POWER) + event
    body += b"".join(struct.pack("<BIBB", 1, T0 + i, 0, 4 * (i % 2)) for i in range(6))  # timer stop/start
    body += b"".join(struct.pack("<BIBB", 1, T0, 3, 1) for _ in range(10))  # lap markers: not kept at all
    records = [struct.pack("<BIH", 0, T0 + i, 200) for i in range(11)]
    for fast in (True, False):
        recording = decode_fit(fit_segment(body + b"".join(records[:10])), fast=fast)
        assert recording.warnings == ["over 3 messages of one kind; the rest were ignored"]
        assert recording.pauses == [(1.0, 2.0)]  # from the first three timer events: start, stop, start
        with pytest.raises(ActivityFileError, match="holds over 10 records, too many for one activity"):
            decode_fit(fit_segment(body + b"".join(records)), fast=fast)


def test_times_out_of_range_are_no_times() -> None:
    """Before 2000 (FIT's relative times among them) or from 2100 on, as for TCX and GPX."""
    year_2100 = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp()) - FIT_EPOCH_OFFSET
    body = definition(0, 20, RECORD_TIMESTAMP_POWER)
    for timestamp in (T0, T0 + 1, year_2100, 0x0FFFFFFF):
        body += struct.pack("<BIH", 0, timestamp, 200)
    for fast in (True, False):
        recording = decode_fit(fit_segment(body), fast=fast)
        np.testing.assert_array_equal(recording.time, [0, 1])
        assert recording.warnings == ["2 of 4 records have no time and were left out"]


def test_chained_segments_are_bounded(samples: Path) -> None:
    """Past 100 segments: refused if they hold no records, else the rest is ignored with a warning."""
    empty = fit_segment(b"")  # 16 bytes
    for fast in (True, False):
        with pytest.raises(ActivityFileError) as raised:
            decode_fit(empty * 101, fast=fast)
        assert raised.value.detail == (
            "this FIT file chains more than 100 segments and the first 100 hold no records "
            "(segment 101 starts at byte 1,600)"
        )
    ride = content(samples / "fit/2020-06-01-16-52-40.fit")
    assert decode_fit(ride + empty * 99).warnings == []
    recording = decode_fit(ride + empty * 10_000)
    assert recording.sample_count == 96
    assert recording.warnings == [
        "the file chains more than 100 FIT segments; the rest of it was ignored "
        f"(segment 101 starts at byte {len(ride) + 99 * 16:,})"
    ]


def test_the_work_a_file_may_cost_is_bounded(monkeypatch) -> None:
    """A message can be a single byte, so the size limit does not bound the work; the budget does, across
    segments and for both decoders."""
    monkeypatch.setattr(fit, "MAX_WORK", 1000)
    ride = definition(0, 20, RECORD_TIMESTAMP_POWER) + struct.pack("<BIH", 0, T0, 100)
    nothing = definition(1, 200, [])  # messages of no fields: one byte each
    too_much = r"^this FIT file holds more messages than one activity may: decoding stopped at byte [\d,]+$"
    decode_fit(fit_segment(ride + nothing + b"\x01" * 900))
    with pytest.raises(ActivityFileError, match=too_much):
        decode_fit(fit_segment(ride + nothing + b"\x01" * 1000))
    with pytest.raises(ActivityFileError, match=too_much):
        decode_fit(fit_segment(ride) + fit_segment(nothing + b"\x01" * 500) * 2)
    # Compressed speed and distance send the file to fitdecode, which counts ten units a message.
    slow = definition(0, 20, [(253, 4, 0x86), (8, 3, 0x0D)]) + struct.pack("<BI", 0, T0) + bytes(3)
    decode_fit(fit_segment(slow + nothing + b"\x01" * 80))
    with pytest.raises(ActivityFileError) as raised:
        decode_fit(fit_segment(slow + nothing + b"\x01" * 100))
    assert raised.value.detail.startswith(
        "this FIT file needs the slow decoder (record field 8 expands into fields we read) and holds more "
        "than it may decode for one activity: decoding stopped at byte "
    )


def test_real_rides_are_far_within_the_work_budget(samples: Path, monkeypatch) -> None:
    monkeypatch.setattr(fit, "MAX_WORK", fitbody.MAX_WORK // 10)
    for name in EXPECTED:
        decode_fit(content(samples / name))
    monkeypatch.setattr(fit, "MAX_WORK", fitbody.MAX_WORK)

    def unsupported(*args):
        raise fitfast.FastPathUnsupported("forced")

    monkeypatch.setattr(fit, "read_body", unsupported)
    assert decode_fit(content(samples / "fit/4078723797.fit")).sample_count == 8357  # 139 min, 70 fields


def test_junk_after_the_last_segment_is_reported(samples: Path) -> None:
    data = content(samples / "fit/2020-06-01-16-52-40.fit")
    recording = decode_fit(data + b"garbage!" + b"\0" * 20)
    assert recording.sample_count == 96
    assert recording.warnings == [f"the last 28 bytes (from byte {len(data):,}) are not FIT data "
                                  f"(no FIT header at byte {len(data):,}) and were ignored"]  # fmt: skip
    assert decode_fit(data + b"\0" * 64).warnings == []  # zero padding is harmless


# --- properties --------------------------------------------------------------------------------------------


def decode_or_error(data: bytes, fast: bool) -> Recording | str:
    try:
        return decode_fit(data, fast=fast)
    except TrainerDayError as exc:
        assert exc.status == 400
        return exc.detail


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_after_a_fit_header_never_raise_untyped_errors(body: bytes) -> None:
    for declared in (len(body), len(body) // 2, 10 * len(body) + 1):
        data = fit_segment(body, declared=declared)
        assert_decoders_agree(decode_or_error(data, True), decode_or_error(data, False))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_damaged_real_files_decode_alike_both_ways(samples: Path, data: st.DataObject) -> None:
    """Flip, cut or insert bytes in a real recording: both decoders agree on the values or the error."""
    original = (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(damaged) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            damaged[at] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del damaged[at:]
        else:
            damaged[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        if not damaged:
            break
    assert_decoders_agree(decode_or_error(bytes(damaged), True), decode_or_error(bytes(damaged), False))


def assert_decoders_agree(fast: Recording | str, reference: Recording | str) -> None:
    """The same recording or the same refusal; where the fast decoder resynced past damage, at least what
    the reference read."""
    if isinstance(fast, Recording) and any("of damaged data" in w for w in fast.warnings):
        assert_resync_keeps_what_the_reference_reads(fast, reference)
    elif isinstance(fast, str) and "of damaged data" in fast:  # resynced, and still no records
        assert isinstance(reference, str) and "holds no activity records" in reference
    elif isinstance(reference, str):
        assert fast == reference
    else:
        assert isinstance(fast, Recording)
        assert_same(fast, reference)


def assert_resync_keeps_what_the_reference_reads(fast: Recording, reference: Recording | str) -> None:
    """Both decoders resync past damage at the same byte, but what each reads before it can differ (the fast
    decoder may give the file to fitdecode there): what the reference reads, the fast decoder reads too, at
    the same times with the same values; it may read more."""
    if isinstance(reference, str):
        return  # the reference found nothing to keep before the damage
    assert fast.start_time <= reference.start_time
    shift = (reference.start_time - fast.start_time).total_seconds()
    times = fast.time - shift
    kept = np.isin(times, reference.time)
    np.testing.assert_array_equal(times[kept], reference.time)
    for channel, values in reference.channels.items():
        np.testing.assert_array_equal(fast.channels[channel][kept], values, err_msg=channel)
