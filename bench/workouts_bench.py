"""Time planned metrics, every export and import, and the SVG chart for a 3-hour, 200-segment workout.

Run: .venv/bin/python bench/workouts_bench.py
All figures come from one run, side by side, as the best of several repeats (the machine is shared and
noisy, so compare the ratios more than the absolute times).
"""

from __future__ import annotations

import random
import timeit
from collections.abc import Callable

from trainerday_server.workouts.chart import workout_svg
from trainerday_server.workouts.formats import export_workout, import_workout
from trainerday_server.workouts.metrics import planned_metrics
from trainerday_server.workouts.structure import Segment, Workout

FTP = 250


def three_hour_workout(seed: int = 3) -> Workout:
    """200 segments, 180 minutes: steady blocks, ramps (a third of them), cadence and text here and there."""
    rng = random.Random(seed)
    seconds = [rng.randint(10, 98) for _ in range(200)]
    scale = 3 * 3600 / sum(seconds)
    segments = []
    for i, s in enumerate(seconds):
        start = rng.randint(40, 150)
        end = rng.randint(40, 150) if i % 3 == 0 else start
        segments.append(
            Segment(
                minutes=round(s * scale) / 60,
                start=start,
                end=end,
                cadence_start=90 if i % 5 == 0 else None,
                cadence_end=90 if i % 5 == 0 else None,
                text=f"Block {i}" if i % 10 == 0 else None,
            )
        )
    return Workout(title="Bench 3h", description="200 segments", tags=("bench",), segments=tuple(segments))


def best_ms(action: Callable[[], object], repeat: int = 7) -> float:
    timer = timeit.Timer(action)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1000


def main() -> None:
    workout = three_hour_workout()
    print(f"workout: {len(workout.segments)} segments, {workout.minutes:.1f} min, FTP {FTP} W")
    files = {fmt: export_workout(workout, fmt, ftp=FTP).content for fmt in ("zwo", "erg", "mrc", "fit")}
    segments = workout.segments
    cases: list[tuple[str, Callable[[], object]]] = [("metrics", lambda: planned_metrics(segments, FTP))]
    for fmt in files:
        cases.append((f"export {fmt}", lambda fmt=fmt: export_workout(workout, fmt, ftp=FTP)))
    for fmt, content in files.items():
        cases.append((f"import {fmt}", lambda fmt=fmt, content=content: import_workout(content, f"x.{fmt}")))
    cases.append(("chart svg", lambda: workout_svg(segments, FTP)))
    results = [(name, best_ms(action)) for name, action in cases]
    baseline = results[0][1]
    print(f"{'operation':<12} {'ms/call':>9} {'x metrics':>10}")
    for name, ms in results:
        print(f"{name:<12} {ms:>9.3f} {ms / baseline:>10.1f}")
    print("file sizes: " + ", ".join(f"{fmt} {len(content):,} B" for fmt, content in files.items()))


if __name__ == "__main__":
    main()
