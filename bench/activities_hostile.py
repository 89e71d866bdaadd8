"""Small hostile activity files: what each costs to decode or refuse, against the largest real FIT sample.

Run: .venv/bin/python bench/activities_hostile.py [--rounds 3]

Gzip shrinks repeated bytes a thousandfold and a FIT message can be a single byte, so a few kilobytes can
hold millions of segments, messages or points. Each file is decoded (``decode_upload``, as an upload is) in a
fresh process that reads it gzipped (as uploaded), the rounds interleaved; the figures are medians of CPU
time, as a ratio to decoding the largest real FIT sample (big_activity.fit, 99,998 records), and the most
the decoding added to the peak RSS (decompression included).
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from trainerday_server.fitfile import crc16

SAMPLES = Path(__file__).resolve().parents[1] / "server" / "tests" / "data" / "samples"  # in-repo recordings
REFERENCE = "real: big_activity.fit (2.4 MB, 99,998 records)"
T0 = 1_000_000_000  # FIT seconds: 2021-09-09T01:46:40Z


def segment(body: bytes) -> bytes:
    header = struct.pack("<BBHI4s", 14, 0x20, 2132, len(body), b".FIT")
    header += struct.pack("<H", crc16(header))
    return header + body + struct.pack("<H", crc16(header + body))


def definition(local: int, global_number: int, fields: list[tuple[int, int, int]]) -> bytes:
    """A little-endian definition message; ``fields`` are (number, size, base type)."""
    message = struct.pack("<BBBHB", 0x40 | local, 0, 0, global_number, len(fields))
    return message + b"".join(struct.pack("BBB", *f) for f in fields)


A_RECORD = definition(0, 20, [(253, 4, 0x86), (7, 2, 0x84)]) + struct.pack("<BIH", 0, T0, 200)
NO_FIELDS = definition(1, 200, [])  # its messages are one byte each


def distinct_definitions() -> bytes:
    """65,000 different definitions of 255 one-byte fields, each parsed anew."""
    parts = [A_RECORD]
    for index in range(65_000):
        fields = [(200 + (index // 53**k) % 53 if k < 3 else 200, 1, 0x02) for k in range(255)]
        parts.append(definition(1, 200, fields))
    return segment(b"".join(parts))


def duplicated_field_records() -> bytes:
    """A million records defining power twice: once a reason for fitdecode's slow path."""
    records = b"".join(struct.pack("<BIHH", 0, T0 + i % 4, 200, 200) for i in range(1_000_000))
    return segment(definition(0, 20, [(253, 4, 0x86), (7, 2, 0x84), (7, 2, 0x84)]) + records)


def slow_decoder_messages() -> bytes:
    """Compressed speed/distance sends the file to fitdecode; then a million one-byte messages."""
    record = definition(0, 20, [(253, 4, 0x86), (8, 3, 0x0D)]) + struct.pack("<BI", 0, T0) + bytes(3)
    return segment(record + NO_FIELDS + b"\x01" * 1_000_000)


def lap_events() -> bytes:
    """A million event messages, whose values are read (to find the timer's)."""
    events = definition(1, 21, [(253, 4, 0x86), (0, 1, 0x00), (1, 1, 0x00)])
    return segment(A_RECORD + events + struct.pack("<BIBB", 1, T0, 9, 1) * 1_000_000)


def empty_track_points() -> bytes:
    points = b"<trkpt/>" * 6_000_000
    return b'<gpx xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>' + points + b"</trkseg></trk></gpx>"


def extensions_bomb() -> bytes:
    """60 track points, the last holding twelve million empty elements in its <extensions> (issue 9)."""
    point = '<trkpt lat="47" lon="8.5"><time>2024-05-04T07:30:{:02d}Z</time>{}</trkpt>'
    points = "".join(point.format(i, "") for i in range(59)).encode()
    last = point.format(59, "<extensions>" + "<a/>" * 12_000_000 + "</extensions>").encode()
    return (
        b'<gpx xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
        + points
        + last
        + b"</trkseg></trk></gpx>"
    )


def elements_outside_points() -> bytes:
    """60 track points after twelve million empty elements in the track's <extensions>."""
    points = "".join(
        f'<trkpt lat="47" lon="8.5"><time>2024-05-04T07:30:{i:02d}Z</time></trkpt>' for i in range(60)
    ).encode()
    junk = b"<extensions>" + b"<a/>" * 12_000_000 + b"</extensions>"
    return (
        b'<gpx xmlns="http://www.topografix.com/GPX/1/1"><trk>'
        + junk
        + b"<trkseg>"
        + points
        + b"</trkseg></trk></gpx>"
    )


def text_outside_points() -> bytes:
    """60 track points after ten 4.5 MB <desc> texts (each under libxml2's 10 MB a text node)."""
    points = "".join(
        f'<trkpt lat="47" lon="8.5"><time>2024-05-04T07:30:{i:02d}Z</time></trkpt>' for i in range(60)
    ).encode()
    texts = b"".join(b"<desc>" + b"x" * 4_500_000 + b"</desc>" for _ in range(10))
    return (
        b'<gpx xmlns="http://www.topografix.com/GPX/1/1"><trk>'
        + texts
        + b"<trkseg>"
        + points
        + b"</trkseg></trk></gpx>"
    )


CASES: dict[str, Callable[[], bytes]] = {
    REFERENCE: lambda: (SAMPLES / "fit/big_activity.fit").read_bytes(),
    "1,000,000 empty chained FIT segments": lambda: segment(b"") * 1_000_000,
    "20,000,000 one-byte FIT messages": lambda: segment(A_RECORD + NO_FIELDS + b"\x01" * 20_000_000),
    "65,000 distinct 255-field definitions": distinct_definitions,
    "1,000,000 records, a field defined twice": duplicated_field_records,
    "slow decoder: 1,000,000 one-byte messages": slow_decoder_messages,
    "1,000,000 lap events": lap_events,
    "GPX: 6,000,000 empty track points": empty_track_points,
    "GPX: 12,000,000 elements in one point": extensions_bomb,
    "GPX: 12,000,000 elements outside the points": elements_outside_points,
    "GPX: 45 MB of text outside the points": text_outside_points,
}

_CHILD = """
import sys, time
from pathlib import Path
from trainerday_server.activities.files import decode_upload

def peak_mb():  # VmHWM, not ru_maxrss, which keeps the parent's peak across fork and exec
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM:"))
    return int(line.split()[1]) // 1024

packed = Path(sys.argv[1]).read_bytes()
before = peak_mb()
started = time.process_time()
try:
    outcome = f"{decode_upload(packed).recording.sample_count:,} samples"
except Exception as exc:
    outcome = f"{type(exc).__name__}: {str(exc)[:70]}"
seconds = time.process_time() - started
print(seconds, peak_mb() - before, outcome)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    runs: dict[str, list[list[str]]] = {name: [] for name in CASES}
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for index, (name, build) in enumerate(CASES.items()):
            files[name] = Path(folder) / str(index)
            files[name].write_bytes(build() if name == REFERENCE else gzip.compress(build(), 9, mtime=0))
        for _ in range(rounds):
            for name in CASES:
                command = [sys.executable, "-c", _CHILD, str(files[name])]
                output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
                runs[name].append(output.split(" ", 2))
        sizes = {name: file.stat().st_size for name, file in files.items()}
    base = statistics.median(float(run[0]) for run in runs[REFERENCE])
    print(f"CPU to decode or refuse, median of {rounds} rounds in fresh processes; ratio to the real file")
    for name, results in runs.items():
        seconds = statistics.median(float(run[0]) for run in results)
        added, outcome = max(int(run[1]) for run in results), results[0][2].strip()
        figures = f"{sizes[name]:>10,} B {seconds:6.2f} s {seconds / base:5.1f}x +{added:5,} MB"
        print(f"  {name:44s} {figures}  {outcome}")


if __name__ == "__main__":
    main()
