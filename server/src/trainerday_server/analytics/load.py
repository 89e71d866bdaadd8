"""Training load over time: CTL, ATL, TSB and ramp rate from daily TSS. Pure.

TrainingPeaks' definitions (the Performance Manager, after Coggan and Banister): each day,

    ctl = ctl_yesterday + (tss - ctl_yesterday) / 42      (chronic load, "fitness")
    atl = atl_yesterday + (tss - atl_yesterday) / 7       (acute load, "fatigue")
    tsb = ctl_yesterday - atl_yesterday                   (balance, "form": how the day starts)
    rampRate = ctl - ctl seven days earlier

History starts on the athlete's first day of load (their first ride, or a projected workout when there is no
ride yet): CTL and ATL are the athlete's seed values (``ctlStart``, ``atlStart``, default 0) the day before it
and on every earlier day. Days are calendar days in the athlete's time zone; a day without a ride has TSS 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

CTL_DAYS = 42
ATL_DAYS = 7
RAMP_DAYS = 7


@dataclass(frozen=True, slots=True)
class FitnessDay:
    """One day of the series. ``tss`` is the day's done rides, ``planned_tss`` its planned workouts; the load
    that moves CTL and ATL is ``tss``, or ``planned_tss`` on a ``projected`` day (one after today)."""

    date: dt.date
    tss: float
    planned_tss: float
    ctl: float
    atl: float
    tsb: float
    ramp_rate: float
    projected: bool


def fitness_days(
    start: dt.date,
    end: dt.date,
    done: Mapping[dt.date, float],
    planned: Mapping[dt.date, float],
    *,
    origin: dt.date | None,
    project_after: dt.date | None = None,
    ctl_start: float = 0.0,
    atl_start: float = 0.0,
    digits: int | None = None,
) -> list[FitnessDay]:
    """The series from ``start`` to ``end`` inclusive; CTL, ATL, TSB and ramp rate rounded to ``digits``
    decimals if given.

    ``origin`` is the first day of history (None: no history, every day at the seeds); ``project_after``,
    when given, makes every later day a projected one, loaded with its planned TSS.
    """
    first = start if origin is None else min(start, origin)
    count = (end - first).days + 1
    if count <= 0:
        return []
    one = dt.timedelta(days=1)
    dates = [first + one * i for i in range(count)]
    loads = np.zeros(count)
    history_from = count if origin is None else max((origin - first).days, 0)
    projected = np.zeros(count, dtype=bool)
    if project_after is not None:
        projected[max((project_after - first).days + 1, 0) :] = True
    for source, wanted in ((done, False), (planned, True)):
        for day, tss in source.items():
            i = (day - first).days
            if history_from <= i < count and projected[i] == wanted:
                loads[i] += tss
    ctl_values, atl_values = [], []
    ctl, atl = ctl_start, atl_start
    for i, load in enumerate(loads.tolist()):
        if i >= history_from:
            ctl += (load - ctl) / CTL_DAYS
            atl += (load - atl) / ATL_DAYS
        ctl_values.append(ctl)
        atl_values.append(atl)
    ctl_array, atl_array = np.array(ctl_values), np.array(atl_values)
    # Yesterday's CTL and ATL, and CTL seven days earlier; before the first day, the seeds.
    before = np.r_[ctl_start - atl_start, ctl_array[:-1] - atl_array[:-1]]
    ramp = ctl_array - np.r_[np.full(RAMP_DAYS, ctl_start), ctl_array[:-RAMP_DAYS]][:count]
    columns = [ctl_array, atl_array, before, ramp]
    if digits is not None:
        columns = [np.round(c, digits) for c in columns]
    skip = (start - first).days
    ctl_out, atl_out, tsb_out, ramp_out = (c[skip:].tolist() for c in columns)
    return [
        FitnessDay(day, done.get(day, 0.0), planned.get(day, 0.0), c, a, b, r, p)
        for day, c, a, b, r, p in zip(
            dates[skip:], ctl_out, atl_out, tsb_out, ramp_out, projected[skip:].tolist(), strict=True
        )
    ]
