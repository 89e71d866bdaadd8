"""A small terminal chart of fitness (CTL), fatigue (ATL) and form (TSB), for ``trainerday fitness``."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text

from trainerday._models import FitnessDay

SERIES = (
    ("ctl", "fitness (CTL)", "●", "cyan"),
    ("atl", "fatigue (ATL)", "●", "magenta"),
    ("tsb", "form (TSB)", "·", "yellow"),
)


def columns_of(days: Sequence[FitnessDay], width: int) -> list[FitnessDay]:
    """At most ``width`` days, evenly spread, the last day always kept (it is today's value)."""
    if len(days) <= width:
        return list(days)
    step = len(days) / width
    picked = [days[min(len(days) - 1, math.floor((i + 1) * step) - 1)] for i in range(width)]
    return picked


def fitness_chart(days: Sequence[FitnessDay], *, width: int = 60, height: int = 12) -> Text:
    """CTL, ATL and TSB as dots on a ``height``-row grid, one column per day (or per few days), with the
    value scale on the left and the first and last dates below."""
    chart = Text()
    if not days:
        chart.append("no days in this range\n")
        return chart
    shown = columns_of(days, max(1, width))
    values: list[float] = [getattr(day, key) for day in shown for key, *_ in SERIES]
    low, high = min(min(values), 0.0), max(max(values), 1.0)
    span = high - low

    def row_of(value: float) -> int:
        return round((high - value) / span * (height - 1))

    grid: list[list[tuple[str, str]]] = [[(" ", "")] * len(shown) for _ in range(height)]
    zero = row_of(0.0)
    for column in range(len(shown)):
        grid[zero][column] = ("─", "dim")
    for key, _, mark, colour in reversed(SERIES):  # CTL drawn last: on top where lines cross
        for column, day in enumerate(shown):
            grid[row_of(getattr(day, key))][column] = (mark, colour)
    for number, row in enumerate(grid):
        label = high - number * span / (height - 1)
        chart.append(f"{label:7.1f} │", style="dim")
        for mark, style in row:
            chart.append(mark, style=style or None)
        chart.append("\n")
    first, last = shown[0].date.isoformat(), shown[-1].date.isoformat()
    gap = max(1, len(shown) - len(first) - len(last))
    chart.append(" " * 9 + first + " " * gap + last + "\n", style="dim")
    today = days[-1]
    for key, name, mark, colour in SERIES:
        chart.append(f"  {mark} ", style=colour)
        chart.append(f"{name} {getattr(today, key):.1f}")
    chart.append("\n")
    return chart
