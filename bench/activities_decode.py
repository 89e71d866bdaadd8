"""Activity decoding: our FIT decoder against a bare fitdecode parse of the same file, and peak memory.

Run: .venv/bin/python bench/activities_decode.py [--rounds 5]

Times are medians over interleaved rounds (the machine is shared and noisy), reported as ratios to the bare
fitdecode parse (iterating every frame with default options), which is what the upload budget is measured
against: the whole upload at most 1.5x of it, stretch 0.5x. Memory: peak RSS of a fresh process decoding a
generated 10-hour 1 Hz ride, against the 200 MB budget.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trainerday_server.activities.files.detect import decode_upload
from trainerday_server.activities.files.fit import decode_fit
from trainerday_server.activities.recording import Recording
from trainerday_server.activities.synthetic import synthetic_ride, synthetic_ride_fit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bare_fitdecode, median_seconds

SAMPLES = Path(__file__).resolve().parents[1] / "server" / "tests" / "data" / "samples"  # in-repo recordings
FILES = {
    "longest clean power FIT (Wahoo ELEMNT, 13,471 records)": "fit/2019-02-17-062644-ELEMNT-297E-195-0.fit",
    "longest power FIT, damaged (Sigma, 14,391 records)": "damaged/nick.fit",
    "largest FIT (Bryton, 99,998 records, 2.4 MB)": "fit/big_activity.fit",
}

_CHILD = """
import sys, tracemalloc
from pathlib import Path
from trainerday_server.activities.files.detect import decode_activity
from trainerday_server.activities.files.fit import decode_fit

def peak_mb():  # VmHWM, not ru_maxrss, which keeps the parent's peak across fork and exec
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM:"))
    return int(line.split()[1]) // 1024

data = Path(sys.argv[1]).read_bytes()
before = peak_mb()
tracemalloc.start()
recording = decode_fit(data, fast=False) if sys.argv[2] == "fitdecode" else decode_activity(data)
allocated = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(before, peak_mb(), allocated // 2**20, recording.sample_count)
"""
_GPX_POINT = (
    '<trkpt lat="{latitude:.7f}" lon="{longitude:.7f}"><ele>{altitude:.1f}</ele><time>{time}</time>'
    "<extensions><power>{power:.0f}</power><gpxtpx:TrackPointExtension><gpxtpx:hr>{heartRate:.0f}</gpxtpx:hr>"
    "<gpxtpx:cad>{cadence:.0f}</gpxtpx:cad></gpxtpx:TrackPointExtension></extensions></trkpt>\n"
)


def strava_style_gpx(ride: Recording) -> bytes:
    """The ride as Strava exports it (power, heart rate and cadence in extensions), to measure GPX memory."""
    start = ride.start_time.timestamp()
    points = "".join(
        _GPX_POINT.format(
            time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + offset)),
            **{channel: values[index] for channel, values in ride.channels.items()},
        )
        for index, offset in enumerate(ride.time.tolist())
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"><trk><type>1</type><trkseg>\n'
        f"{points}</trkseg></trk></gpx>"
    ).encode()


def decode_times(rounds: int) -> None:
    print(f"Decode time, median of {rounds} interleaved rounds, as a ratio to the bare fitdecode parse")
    for label, name in FILES.items():
        data = (SAMPLES / name).read_bytes()
        seconds = median_seconds(
            {
                "bare fitdecode": lambda data=data: bare_fitdecode(data),
                "decode_upload (detect + fast path)": lambda data=data: decode_upload(data),
                "decode_fit, fitdecode path": lambda data=data: decode_fit(data, fast=False),
            },
            rounds,
        )
        base = seconds["bare fitdecode"]
        print(f"\n  {label}: {name}")
        for what, value in seconds.items():
            print(f"    {what:38s} {value * 1000:9.1f} ms   {value / base:6.3f}x")


def peak_memory() -> None:
    print("\nPeak RSS of a fresh process decoding a generated 10-hour 1 Hz ride (budget: 200 MB)")
    ride = synthetic_ride(hours=10)
    files = {"FIT": synthetic_ride_fit(hours=10), "GPX": strava_style_gpx(ride)}
    for kind, path in (("FIT", "fast"), ("FIT", "fitdecode"), ("GPX", "streaming")):
        with tempfile.NamedTemporaryFile() as file:
            file.write(files[kind])
            file.flush()
            result = subprocess.run(
                [sys.executable, "-c", _CHILD, file.name, path], capture_output=True, text=True, check=True
            )
        before, after, allocated, samples = (int(value) for value in result.stdout.split())
        print(
            f"  {kind} ({len(files[kind]) / 1e6:4.1f} MB), {path:9s} path: {after:4d} MB peak RSS "
            f"({before} MB after imports and reading it); decoding {samples:,} samples allocated "
            f"at most {allocated} MB at once"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    decode_times(arguments.rounds)
    peak_memory()


if __name__ == "__main__":
    main()
