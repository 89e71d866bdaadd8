"""Bug 9: no small gzipped upload grows the process much: elements that are not track points are bounded,
and what a FIT or GPX holds a million of (records, points) is held compactly.

Before, 60 track points and twelve million empty elements inside one <extensions> (a 47 kB gzip) were
accepted after 9 s and grew the process by 1.5 GB, which it kept.
"""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.activities.files.fitbytes import T0, definition, fit_segment
from trainerday_server.activities.files import decode_upload
from trainerday_server.errors import ActivityFileError

POINT = '<trkpt lat="47.0" lon="8.5"><time>2024-05-04T07:30:{:02d}Z</time>{}</trkpt>'


def gpx(points: str, track_extensions: str = "") -> bytes:
    return (
        '<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk>'
        f"<extensions>{track_extensions}</extensions><trkseg>{points}</trkseg></trk></gpx>"
    ).encode()


def bomb_inside_a_point(empties: int) -> bytes:
    points = "".join(POINT.format(i, "") for i in range(59))
    return gpx(points + POINT.format(59, "<extensions>" + "<a/>" * empties + "</extensions>"))


def test_a_point_holding_thousands_of_elements_is_refused():
    with pytest.raises(ActivityFileError, match=r"too many elements in one point \(over 1,000\) \(line 1\)"):
        decode_upload(gzip.compress(bomb_inside_a_point(12_000_000)))


def test_thousands_of_elements_outside_the_points_are_refused():
    data = gpx("".join(POINT.format(i, "") for i in range(60)), "<a/>" * 2_000_000)
    with pytest.raises(ActivityFileError, match=r"too many elements that are not points \(over 100,000\)"):
        decode_upload(gzip.compress(data))


def test_ordinary_extensions_still_decode():
    points = "".join(
        POINT.format(i, "<extensions><hr>120</hr><power>200</power></extensions>") for i in range(60)
    )
    recording = decode_upload(gpx(points, "<note>x</note>" * 100)).recording
    assert recording.sample_count == 60 and recording.has("power")


TRACKPOINT = "<Trackpoint><Time>2024-05-04T07:30:{:02d}Z</Time><Watts>200</Watts>{}</Trackpoint>"


def tcx_bomb_inside_a_point(empties: int) -> bytes:
    points = "".join(TRACKPOINT.format(i, "") for i in range(59))
    points += TRACKPOINT.format(59, "<Extensions>" + "<a/>" * empties + "</Extensions>")
    return (
        '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
        f'<Activities><Activity Sport="Biking"><Lap><Track>{points}</Track></Lap></Activity></Activities>'
        "</TrainingCenterDatabase>"
    ).encode()


TEXTS = "".join(f"<desc>{'x' * 4_500_000}</desc>" for _ in range(10))  # each under libxml2's 10 MB a node
SIXTY = "".join(POINT.format(i, "") for i in range(60))
BOMBS = {  # name: (the document, what the refusal says)
    "GPX, elements in a point": (lambda: bomb_inside_a_point(12_000_000), "too many elements in one point"),
    "GPX, elements outside the points": (
        lambda: gpx(SIXTY, "<a/>" * 12_000_000),
        "too many elements that are not points",
    ),
    "TCX, elements in a trackpoint": (
        lambda: tcx_bomb_inside_a_point(12_000_000),
        "too many elements in one point",
    ),
    "GPX, text outside the points": (
        lambda: gpx(SIXTY, TEXTS),
        "over 4,194,304 characters of text outside its points",
    ),
    "GPX, text in a point": (
        lambda: gpx(SIXTY.replace("</trkpt>", f"<extensions>{TEXTS}</extensions></trkpt>", 1)),
        "a point of over 1,048,576 bytes",
    ),
}


@pytest.mark.parametrize("bomb", BOMBS)
def test_a_gzipped_bomb_is_never_inflated_whole(tmp_path, bomb):
    """The gzip is inflated into the parser piece by piece and refused at the bound, so the process grows by
    a few MB, not by the 45-48 MB document. Before: +91 MB for the elements (the document inflated whole,
    then copied) and +85-92 MB for the text (inflated, copied, then held in the tree)."""
    build, says = BOMBS[bomb]
    inflated = build()
    assert len(inflated) > 45_000_000
    outcome, grown_kb = decode_in_child(tmp_path, inflated)
    del inflated
    assert says in outcome
    assert grown_kb < 16 * 1024


def decode_in_child(folder: Path, inflated: bytes) -> tuple[str, int]:
    """Upload ``inflated`` gzipped (as a client would) to decode_upload in a fresh process: what came of it
    (the refusal, or how many samples), and how many kB the decoding added to the process's peak RSS."""
    path = folder / "upload.gz"
    path.write_bytes(gzip.compress(inflated, compresslevel=9))
    assert path.stat().st_size < 100_000
    script = textwrap.dedent(
        f"""
        import re
        from pathlib import Path
        from trainerday_server.activities.files import decode_upload
        from trainerday_server.errors import ActivityFileError

        def peak():
            return int(re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1))

        data = Path({str(path)!r}).read_bytes()
        idle = peak()
        try:
            print(f"{{decode_upload(data).recording.sample_count}} samples")
        except ActivityFileError as refused:
            print(refused.detail)
        print(peak() - idle)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    outcome, grown_kb = result.stdout.splitlines()
    return outcome, int(grown_kb)


def fit_records_defining_power_twice() -> bytes:
    """A million records (timestamp, power, power again) over four seconds: a 26 kB gzip."""
    fields = [(253, 4, 0x86), (7, 2, 0x84), (7, 2, 0x84)]
    records = b"".join(struct.pack("<BIHH", 0, T0 + i % 4, 200, 200) for i in range(1_000_000))
    return fit_segment(definition(0, 20, fields) + records)


HOSTILE = {  # name: (the inflated upload, what comes of it)
    # Before: +323 MB (twelve float64 columns of a million records, mostly NaN, each copied three times; the
    # CRC's uint32 grid of the file).
    "FIT, a million records defining a field twice": (fit_records_defining_power_twice, "4 samples"),
    # Before: +71 MB (eight columns of NaN for the million points up to the cap, beside their times).
    "GPX, six million empty track points": (
        lambda: (
            b'<gpx xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
            + b"<trkpt/>" * 6_000_000
            + b"</trkseg></trk></gpx>"
        ),
        "holds over 1,000,000 points",
    ),
}


@pytest.mark.parametrize("upload", HOSTILE)
def test_a_hostile_upload_grows_the_process_by_less_than_50_mb(tmp_path, upload):
    """Issue 9: RSS stays within +50 MB of idle for any upload; these two were the last over it."""
    build, says = HOSTILE[upload]
    outcome, grown_kb = decode_in_child(tmp_path, build())
    assert says in outcome
    assert grown_kb < 50 * 1024, f"+{grown_kb // 1024} MB"


def test_long_attributes_outside_the_points_count_as_text():
    document = gpx(SIXTY, "".join(f'<a v="{"x" * 1_500_000}"/>' for _ in range(3)))
    with pytest.raises(ActivityFileError, match="over 4,194,304 characters of text outside its points"):
        decode_upload(gzip.compress(document))
    assert decode_upload(gpx(SIXTY, f'<a v="{"x" * 100_000}"/><note>{"y" * 100_000}</note>')).recording
