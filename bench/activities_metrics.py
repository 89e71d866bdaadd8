"""Ride metrics and stream storage: time and peak memory for a synthetic 10-hour 1 Hz ride and for the
longest real power FIT in the shared samples, beside fitdecode's bare parse of that FIT (one run, ratios).

Run: .venv/bin/python bench/activities_metrics.py
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from trainerday_server.activities.files import decode_upload
from trainerday_server.activities.fitexport import recording_to_fit
from trainerday_server.activities.metrics import power_curve, ride_metrics
from trainerday_server.activities.recording import Recording
from trainerday_server.activities.streams import decode_streams, encode_streams, streams_to_json
from trainerday_server.activities.synthetic import synthetic_ride

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bare_fitdecode

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = Path(__file__).resolve().parents[1] / "server" / "tests" / "data" / "samples"  # in-repo recordings
LONGEST_POWER_FIT = "2019-02-17-062644-ELEMNT-297E-195-0.fit"  # 13,471 records with power, 6.5 h
BUDGET_MS = 100  # the target for a 10-hour ride's metrics, power curve included


def timed(function: Callable[[], Any], repeat: int = 7) -> tuple[float, Any]:
    """Median wall time in ms over ``repeat`` runs (after one warm-up), and the last result."""
    result = function()
    samples = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        result = function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


def peak_mib(function: Callable[[], Any]) -> float:
    """Peak Python-allocated memory (numpy included) while ``function`` runs, in MiB."""
    gc.collect()
    tracemalloc.start()
    function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def report(label: str, recording: Recording, baseline_ms: float | None) -> None:
    n = recording.sample_count
    raw_bytes = 8 * n * (1 + len(recording.channels))
    ride_power = recording.channels["power"]
    ride_power = ride_power[np.isfinite(ride_power)]
    rows: list[tuple[str, float, float]] = []

    def row(name: str, function: Callable[[], Any]) -> Any:
        ms, result = timed(function)
        rows.append((name, ms, peak_mib(function)))
        return result

    metrics = row("ride_metrics (all, power curve included)", lambda: ride_metrics(recording, 250, lthr=165))
    row("  of which power_curve", lambda: power_curve(ride_power))
    blob = row("encode_streams", lambda: encode_streams(recording.time, recording.channels))
    decoded = row("decode_streams (all)", lambda: decode_streams(blob))
    row("decode_streams (power, heartRate)", lambda: decode_streams(blob, ["power", "heartRate"]))
    row("streams_to_json (all)", lambda: streams_to_json(decoded))
    fit = row("recording_to_fit", lambda: recording_to_fit(recording, ftp=250))

    print(f"\n{label}: {n:,} samples, {len(recording.channels)} channels, {n / 3600:.1f} h of records")
    header = f"  {'step':42} {'ms':>8} {'peak MiB':>9}"
    if baseline_ms:
        header += f" {'x fitdecode parse':>18}"
    print(header)
    for name, ms, mib in rows:
        line = f"  {name:42} {ms:8.1f} {mib:9.1f}"
        if baseline_ms:
            line += f" {ms / baseline_ms:18.3f}"
        print(line)
    print(f"  streams blob: {len(blob):,} bytes = {len(blob) / raw_bytes:.1%} of float64 columns")
    print(f"  FIT export: {len(fit):,} bytes; curve points: {len(metrics.power_curve.seconds)}")
    metrics_ms = rows[0][1]
    print(f"  metrics vs the {BUDGET_MS} ms budget: {metrics_ms / BUDGET_MS:.2f}x")


def main() -> None:
    real_path = SAMPLES / "fit" / LONGEST_POWER_FIT
    data = real_path.read_bytes()
    parse_ms, _ = timed(lambda: bare_fitdecode(data), repeat=3)
    print(f"fitdecode bare parse of {real_path.name}: {parse_ms:.0f} ms (baseline)")
    report("real ride (" + real_path.name + ")", decode_upload(data).recording, parse_ms)
    report("synthetic 10-hour ride", synthetic_ride(hours=10), None)


if __name__ == "__main__":
    main()
