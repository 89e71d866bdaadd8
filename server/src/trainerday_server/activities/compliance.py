"""Planned vs done: how closely a completed ride matched the workout planned for that day. Pure.

Compliance compares the ride's duration and TSS with the plan's. The overall ``percent`` uses TSS when
both sides have one (it measures the training load, which is what a plan prescribes) and falls back to
duration otherwise. ``status`` follows the convention athletes know from TrainingPeaks' calendar:
``green`` within 80-120 % of the plan, ``yellow`` within 50-150 %, ``orange`` beyond.
"""

from __future__ import annotations

import math

from trainerday_server.errors import ValidationFailed

GREEN = (80, 120)  # percent of plan, inclusive
YELLOW = (50, 150)


def compliance(
    planned_seconds: float | None,
    planned_tss: float | None,
    actual_seconds: float | None,
    actual_tss: float | None,
) -> dict[str, float | int | str | None]:
    """Ratios (actual / planned) and whole percents for duration and TSS, the overall percent and status.

    A ratio is None when either side lacks the figure or the plan's is zero; ``percent`` and ``status`` are
    None when neither ratio exists. Negative or non-finite inputs are a ValidationFailed.
    """
    for name, value in (
        ("plannedSeconds", planned_seconds),
        ("plannedTss", planned_tss),
        ("actualSeconds", actual_seconds),
        ("actualTss", actual_tss),
    ):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ValidationFailed.single(name, f"must be a non-negative number, got {value}")
    duration = _ratio(actual_seconds, planned_seconds, MIN_PLANNED["seconds"])
    tss = _ratio(actual_tss, planned_tss, MIN_PLANNED["tss"])
    overall = tss if tss is not None else duration
    percent = _percent(overall)
    return {
        "durationRatio": _round(duration),
        "durationPercent": _percent(duration),
        "tssRatio": _round(tss),
        "tssPercent": _percent(tss),
        "percent": percent,
        "status": None if percent is None else _status(percent),
    }


# Below these a plan is empty for comparison: a ratio against it would be meaningless (and, against 1e-18,
# too large for JSON's integers).
MIN_PLANNED = {"seconds": 1.0, "tss": 0.1}


def _ratio(actual: float | None, planned: float | None, smallest: float) -> float | None:
    if actual is None or planned is None or not planned >= smallest:
        return None
    return actual / planned


def _round(ratio: float | None) -> float | None:
    return None if ratio is None else round(ratio, 3)


def _percent(ratio: float | None) -> int | None:
    return None if ratio is None else math.floor(ratio * 100 + 0.5)  # half up: 79.5 % is 80 %


def _status(percent: int) -> str:
    if GREEN[0] <= percent <= GREEN[1]:
        return "green"
    if YELLOW[0] <= percent <= YELLOW[1]:
        return "yellow"
    return "orange"
