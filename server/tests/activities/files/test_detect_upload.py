"""Reading uploads: format from content, gzip inflated within the limit, anything else refused cleanly."""

from __future__ import annotations

import gzip
import io
import random
import tracemalloc
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainerday_server.activities.files.detect import decode_activity, decode_upload, read_upload
from trainerday_server.errors import ActivityFileError, PayloadTooLarge, TrainerDayError

SMALL_FIT = "fit/2020-06-01-16-52-40.fit"


class Trickle(io.RawIOBase):
    """A stream that hands out at most ``step`` bytes per read, as sockets do."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._step, self._at = data, step, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._data[self._at : self._at + min(self._step, size if size >= 0 else self._step)]
        self._at += len(chunk)
        return chunk


@pytest.mark.parametrize("name", [SMALL_FIT, "tcx/activity_5039744860.tcx", "gpx/activity_5039744860.gpx"])
@pytest.mark.parametrize("gzipped", [False, True])
def test_format_comes_from_the_content_and_the_original_is_kept(
    samples: Path, name: str, gzipped: bool
) -> None:
    data = (samples / name).read_bytes()
    uploaded = gzip.compress(data) if gzipped else data
    for source in (uploaded, io.BytesIO(uploaded), Trickle(uploaded, 1)):
        upload = decode_upload(source)
        assert upload.original == uploaded
        assert upload.gzipped is gzipped
        assert upload.format == upload.recording.format == name[:3]
        assert upload.recording.sample_count == 96


def test_the_gzipped_sample_decodes(samples: Path) -> None:
    upload = decode_upload((samples / "fit/14582164182.fit.gz").open("rb"))
    assert (upload.format, upload.gzipped, upload.recording.sample_count) == ("fit", True, 2760)


def test_several_gzip_members_and_zero_padding(samples: Path) -> None:
    data = (samples / SMALL_FIT).read_bytes()
    uploaded = gzip.compress(data[:1000]) + gzip.compress(data[1000:]) + b"\0" * 100
    assert read_upload(uploaded)[1] == data


def test_the_size_limit_applies_to_the_upload(samples: Path) -> None:
    data = (samples / SMALL_FIT).read_bytes()
    assert decode_upload(data, max_bytes=len(data)).recording.sample_count == 96
    with pytest.raises(PayloadTooLarge) as raised:
        decode_upload(io.BytesIO(data), max_bytes=len(data) - 1)
    assert raised.value.status == 413
    assert f"limit of {len(data) - 1:,} bytes" in raised.value.detail


def test_a_gzip_bomb_is_refused_without_being_inflated() -> None:
    limit = 1 << 20
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    bomb = b"".join(compressor.compress(block) for _ in range(256)) + compressor.flush()  # 256 MiB of zeros
    assert len(bomb) < limit

    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLarge, match="once decompressed"):
            read_upload(io.BytesIO(bomb), max_bytes=limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * limit + 2 * len(bomb)  # the limit, the compressed upload, never the gigabyte


def test_a_gzipped_xml_past_the_limit_is_too_large_while_it_is_parsed(samples: Path) -> None:
    """A gzipped TCX or GPX is inflated into the parser as it goes: past the limit, a 413 all the same."""
    data = (samples / "gpx/4078723797_strava.gpx").read_bytes()
    assert decode_upload(gzip.compress(data), max_bytes=len(data)).recording.sample_count == 8357
    with pytest.raises(PayloadTooLarge, match=f"limit of {len(data) - 1:,} bytes once decompressed"):
        decode_upload(gzip.compress(data), max_bytes=len(data) - 1)


def test_damaged_gzip_keeps_the_whole_upload_and_salvages_what_inflated(samples: Path) -> None:
    """Damage past the first read chunks: the ride before it is decoded and the upload is kept whole (before,
    the stored "original" was the 1 MiB read up to the damage)."""
    stored = gzip.compress((samples / "fit/big_activity.fit").read_bytes(), compresslevel=0, mtime=0)
    damaged = stored[:1_000_000] + b"\xff" * 70_000 + stored[1_070_000:]  # over a stored block's header
    for source in (damaged, io.BytesIO(damaged)):
        upload = decode_upload(source)
        assert upload.original == damaged and upload.gzipped
        assert upload.recording.warnings[0].startswith("the gzip data is damaged (Error -3")
        assert upload.recording.warnings[0].endswith("; the 982,965 bytes inflated before it were read")
        assert upload.recording.sample_count == 40_946


def gz(data: bytes) -> bytes:
    """gzip with a fixed header time, so parametrised test ids are the same in every test process."""
    return gzip.compress(data, mtime=0)


@pytest.mark.parametrize(
    ("uploaded", "message"),
    [
        (b"", "the file is empty"),
        (b"  \n\t ", "the file is empty"),
        (gz(b""), "the gzip file is empty"),
        (gz(b"<gpx/>" * 1000)[:-30], "the gzip data is truncated"),
        (
            gz(b"<gpx/>")[:-8] + b"\0\0\0\0" + gz(b"<gpx/>")[-4:],
            "the gzip data is damaged",
        ),
        (gz(b"hello") + b"trailing junk", "the gzip data is damaged"),
        (b"\x1f\x8b" + random.Random(7).randbytes(100), "the gzip data is damaged"),
        (gz(gz(b"<gpx/>")), "not a FIT, TCX or GPX file: it starts with bytes 1f 8b"),
        (b"PK\x03\x04" + b"\0" * 40, "(a ZIP archive: upload the activity file inside it)"),
        (b"%PDF-1.7\n", "not a FIT, TCX or GPX file: it starts with bytes 25 50 44 46 2d 31 2e 37"),
        (b"<kml xmlns='http://www.opengis.net/kml/2.2'/>", "root element <kml> is neither TCX nor GPX"),
        (b"<gpx><trk>", "not well-formed XML at line 1, column 11"),
        (b"\xef\xbb\xbf<TrainingCenterDatabase/>", "holds no <Activity>"),
    ],
)
def test_unusable_uploads_are_refused_saying_what(uploaded: bytes, message: str) -> None:
    with pytest.raises(ActivityFileError) as raised:
        decode_upload(uploaded)
    assert message in raised.value.detail
    assert raised.value.status == 400


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.booleans())
def test_arbitrary_bytes_never_raise_untyped_errors(data: bytes, gzipped: bool) -> None:
    try:
        decode_upload(gzip.compress(data) if gzipped else data)
    except TrainerDayError as exc:
        assert exc.status == 400


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_bytes_that_look_like_the_start_of_some_format_never_raise_untyped_errors(tail: bytes) -> None:
    for head in (b"\x0e\x10\x00\x00\x00\x00\x00\x00.FIT", b"<?xml version='1.0'?><gpx>", b"\x1f\x8b\x08"):
        try:
            decode_activity(head + tail)
        except TrainerDayError as exc:
            assert exc.status == 400
