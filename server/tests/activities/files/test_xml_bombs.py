"""Bug 9: elements that are not track points are bounded, so a small gzipped GPX/TCX cannot grow the process.

Before, 60 track points and twelve million empty elements inside one <extensions> (a 47 kB gzip) were
accepted after 9 s and grew the process by 1.5 GB, which it kept.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import textwrap

import pytest

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


def test_the_bomb_costs_no_more_memory_than_its_inflated_bytes(tmp_path):
    bomb = tmp_path / "bomb.gpx.gz"
    inflated = bomb_inside_a_point(12_000_000)
    bomb.write_bytes(gzip.compress(inflated, compresslevel=9))
    assert bomb.stat().st_size < 100_000
    script = textwrap.dedent(
        f"""
        import re
        from pathlib import Path
        from trainerday_server.activities.files import decode_upload
        from trainerday_server.errors import ActivityFileError

        def peak():
            return int(re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1))

        data = Path({str(bomb)!r}).read_bytes()
        idle = peak()
        try:
            decode_upload(data)
        except ActivityFileError:
            pass
        print(peak() - idle)
        """
    )
    grown_kb = int(subprocess.run([sys.executable, "-c", script], capture_output=True, check=True).stdout)
    # Inflating holds the document twice for a moment (48 MB here, within the 50 MB upload limit); the
    # elements add at most a few MB on top (before: 1.5 GB).
    assert grown_kb < (2 * len(inflated) + 10 * 2**20) / 1024
