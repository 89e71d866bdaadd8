"""Synthetic recordings built in code, for hand-checked metric tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from trainerday_server.activities.recording import DeviceSummary, Recording

START = datetime(2024, 5, 4, 7, 30, tzinfo=UTC)


def ride(
    time: Sequence[float] | np.ndarray | None = None,
    *,
    pauses: Sequence[tuple[float, float]] = (),
    summary: DeviceSummary | None = None,
    **channels: Sequence[float] | np.ndarray,
) -> Recording:
    """A recording from channel lists (keyword names as in CHANNELS; None in a list is a missing sample).

    Without ``time`` the samples are 1 s apart from 0.
    """
    arrays = {
        name: np.array([np.nan if v is None else v for v in values], dtype=float)
        for name, values in channels.items()
    }
    length = len(next(iter(arrays.values())))
    times = np.arange(length, dtype=float) if time is None else np.asarray(time, dtype=float)
    return Recording(
        format="fit", start_time=START, time=times, channels=arrays, summary=summary, pauses=list(pauses)
    )


def segments(spec: Sequence[tuple[float, float, float]], ftp: float = 100) -> np.ndarray:
    """1 Hz power from TrainerDay's workout notation: (minutes, start % of FTP, end % of FTP) ramps,
    exactly as cycling-metrics' getSegmentsFromArray builds them (start + i/n * (end - start))."""
    out: list[float] = []
    for minutes, start, end in spec:
        n = round(minutes * 60)
        out += [(start + i / n * (end - start)) * ftp / 100 for i in range(n)]
    return np.array(out)


# TrainerDay's "spinner" workout from cycling-metrics' TSS and workout-statistics tests.
SPINNER = (
    [(1, 50, 50), (1, 40, 40), (1, 70, 70), (1, 40, 40), (1, 60, 60), (1, 40, 40), (1, 90, 90), (1, 40, 40)]
    + [(1, 80, 80), (1, 40, 40), (1, 110, 110), (1, 40, 40), (1, 100, 100), (1, 40, 40), (1, 130, 130)]
    + [(1, 40, 40), (1, 120, 120), (3, 30, 30)]
    + [(1, 120, 120), (1, 30, 30)] * 15
    + [(1, 120, 120), (5, 40, 40)]
)
