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
) -> list[FitnessDay]:
    """The series from ``start`` to ``end`` inclusive, unrounded.

    ``origin`` is the first day of history (None: no history, every day at the seeds); ``project_after``,
    when given, makes every later day a projected one, loaded with its planned TSS.
    """
    first = start if origin is None else min(start, origin)
    ctl, atl = ctl_start, atl_start
    recent = [ctl_start] * RAMP_DAYS  # CTL at the end of each of the last seven days, oldest first
    days: list[FitnessDay] = []
    day = first
    one = dt.timedelta(days=1)
    while day <= end:
        tsb = ctl - atl
        tss, planned_tss = done.get(day, 0.0), planned.get(day, 0.0)
        projected = project_after is not None and day > project_after
        if origin is not None and day >= origin:
            load = planned_tss if projected else tss
            ctl += (load - ctl) / CTL_DAYS
            atl += (load - atl) / ATL_DAYS
        ramp = ctl - recent[0]
        recent.append(ctl)
        del recent[0]
        if day >= start:
            days.append(FitnessDay(day, tss, planned_tss, ctl, atl, tsb, ramp, projected))
        day += one
    return days
