"""Turn decoded samples, whatever the format, into a Recording.

One place for what every decoder must do alike: drop samples without a time, order them, refuse files with
no usable time, clean impossible coordinates, and express pauses relative to the start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import numpy as np

from trainerday_server.activities.recording import DeviceSummary, Recording
from trainerday_server.errors import ActivityFileError

# Longer than any single ride; protects what follows (1 Hz resampling) from a file whose times span years.
MAX_SPAN_SECONDS = 7 * 24 * 3600
# The times a sample may have (Unix seconds, the latest excluded). Outside them a time is a device's garbage
# or a hostile file's, and date arithmetic downstream (time zones, the duplicate window) could run off the
# calendar. From 2000, after the earliest time a FIT file can hold, so that every activity can be served as
# FIT and read back; to 2100.
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC).timestamp()

_COORDINATE_LIMITS = {"latitude": 90.0, "longitude": 180.0}


def build_recording(
    *,
    format: str,
    epoch: np.ndarray,
    channels: dict[str, np.ndarray],
    noun: str,
    warnings: list[str],
    pauses: Sequence[tuple[float, float]] = (),
    sport: str | None = None,
    sub_sport: str | None = None,
    device: str | None = None,
    summary: DeviceSummary | None = None,
    name: str | None = None,
    description: str | None = None,
) -> Recording:
    """Build a Recording from per-sample Unix times (NaN where a sample has none) and aligned channels.

    ``noun`` names a sample in messages ("record", "trackpoint"); ``pauses`` are Unix-time intervals.
    Samples with no time are dropped with a warning, unless they are the majority: then the file is a
    route, not a recording, and is refused. Samples are put in time order; exact repeats are dropped.
    Raises ActivityFileError when nothing usable remains.

    ``channels`` (and its arrays) are taken over: each array is replaced in it as it is filtered or
    ordered, and cleaned in place, so that a sample's values are held at most twice at any moment.
    """
    total = int(epoch.shape[0])
    if total == 0:
        raise ActivityFileError(f"the file holds no {noun}s: nothing was recorded")
    timed = np.isfinite(epoch)
    timed_count = int(timed.sum())
    if timed_count == 0:
        raise ActivityFileError(f"none of the {total:,} {noun}s has a time: no time, no activity")
    if timed_count * 2 < total:
        raise ActivityFileError(
            f"only {timed_count:,} of {total:,} {noun}s have a time: "
            "this looks like a drawn or planned route, not a recorded activity"
        )
    warnings = list(warnings)
    if timed_count < total:
        warnings.append(f"{total - timed_count:,} of {total:,} {noun}s have no time and were left out")
        epoch = _select(epoch, channels, timed)
    del timed

    if float(epoch.max() - epoch.min()) > MAX_SPAN_SECONDS:
        # Judge the span on the bulk of the samples: a few dated years away (a device's clock glitch) are
        # dropped, a file whose samples really spread over weeks is refused below.
        middle = float(np.median(epoch))
        near = np.abs(epoch - middle) <= MAX_SPAN_SECONDS
        stray = int(near.size - near.sum())
        if stray and stray * 100 <= near.size:
            far = epoch[~near]
            warnings.append(
                f"{stray:,} {noun}{'' if stray == 1 else 's'} dated far from the rest "
                f"({_iso(float(far[0]))}{'' if stray == 1 else ', ...'}) left out"
            )
            epoch = _select(epoch, channels, near)

    if np.any(epoch[1:] < epoch[:-1]):  # not np.diff: a bool a sample, not a double
        # The order as int32 (half the index), the channels taken through it one at a time, the times
        # sorted in place: each sample's values are never held more than twice.
        order = np.argsort(epoch, kind="stable").astype(np.int32)
        moved = _moved(order)
        warnings.append(f"{moved:,} {noun}s were out of time order and were put in order")
        for key in channels:
            channels[key] = channels[key][order]
        del order
        epoch.sort(kind="stable")

    repeated = _repeated(epoch, channels)
    if repeated.any():  # e.g. Garmin's TCX repeats the last point of a lap as the first of the next
        epoch = _select(epoch, channels, ~repeated)
    del repeated

    start, end = float(epoch[0]), float(epoch[-1])
    if end - start > MAX_SPAN_SECONDS:
        raise ActivityFileError(
            f"the {noun}s span {(end - start) / 86400:,.0f} days "
            f"({_iso(start)} to {_iso(end)}); one activity may span at most {MAX_SPAN_SECONDS // 86400} days"
        )

    return Recording(
        format=format,
        start_time=datetime.fromtimestamp(start, UTC),
        time=np.subtract(epoch, start, out=epoch),  # the times are ours by now: no copy
        channels=_clean_channels(channels),
        sport=sport,
        sub_sport=sub_sport,
        device=device,
        summary=summary,
        pauses=_relative_pauses(pauses, start, end),
        warnings=warnings,
        name=name,
        description=description,
    )


def _select(epoch: np.ndarray, channels: dict[str, np.ndarray], index: np.ndarray) -> np.ndarray:
    """``epoch[index]``, with every channel replaced in ``channels`` by its own ``[index]``, one at a time."""
    for key in channels:
        channels[key] = channels[key][index]
    return epoch[index]


def _moved(order: np.ndarray) -> int:
    """How many samples ``order`` moves, counted a block at a time (no second index array)."""
    block = 1 << 16
    return sum(
        int(np.count_nonzero(order[at : at + block] != np.arange(at, min(at + block, order.shape[0]))))
        for at in range(0, order.shape[0], block)
    )


def _repeated(epoch: np.ndarray, channels: Mapping[str, np.ndarray]) -> np.ndarray:
    """True for each sample that repeats the one before it exactly: same time, same values."""
    repeated = np.concatenate([[False], epoch[1:] == epoch[:-1]])
    for values in channels.values():
        if not repeated.any():
            break
        same = (values[1:] == values[:-1]) | (np.isnan(values[1:]) & np.isnan(values[:-1]))
        repeated &= np.concatenate([[False], same])
    return repeated


def _clean_channels(channels: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """float64 arrays with infinities and impossible coordinates as NaN; channels with no sample omitted.
    The decoders' arrays are the decoders' own, made for this: they are cleaned in place, not copied."""
    cleaned: dict[str, np.ndarray] = {}
    for key, values in channels.items():
        array = np.asarray(values, dtype=np.float64)
        array[~np.isfinite(array)] = np.nan
        limit = _COORDINATE_LIMITS.get(key)
        if limit is not None:
            with np.errstate(invalid="ignore"):
                array[np.abs(array) > limit] = np.nan
        if np.isfinite(array).any():
            cleaned[key] = array
    return cleaned


def _relative_pauses(
    pauses: Sequence[tuple[float, float]], start: float, end: float
) -> list[tuple[float, float]]:
    """Pauses as seconds since the start, clipped to the samples' span, in order and not overlapping."""
    merged: list[tuple[float, float]] = []
    for pause_start, pause_end in sorted(pauses):
        low, high = max(pause_start, start) - start, min(pause_end, end) - start
        if high <= low:
            continue
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
