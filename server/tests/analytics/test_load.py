"""CTL, ATL, TSB and ramp rate against values computed by hand from TrainingPeaks' definitions."""

from __future__ import annotations

import datetime as dt

import pytest

from trainerday_server.analytics.load import fitness_days

D0 = dt.date(2026, 3, 2)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def test_constant_100_tss_for_42_days():
    done = {day(n): 100.0 for n in range(42)}
    days = fitness_days(D0, day(41), done, {}, origin=D0)
    assert len(days) == 42
    # Day 1: 0 + (100 - 0) / 42 and 0 + (100 - 0) / 7.
    assert days[0].ctl == pytest.approx(2.380952, abs=1e-6)
    assert days[0].atl == pytest.approx(14.285714, abs=1e-6)
    assert days[0].tsb == 0  # the day starts from yesterday's loads, both 0
    # Day 2: 2.380952 + (100 - 2.380952) / 42 = 4.705215; 14.285714 + (100 - 14.285714) / 7 = 26.530612.
    assert days[1].ctl == pytest.approx(4.705215, abs=1e-6)
    assert days[1].atl == pytest.approx(26.530612, abs=1e-6)
    assert days[1].tsb == pytest.approx(2.380952 - 14.285714, abs=1e-6)
    # After n days of a constant load L from 0: L * (1 - (41/42)^n). (41/42)^42 = 0.363456.
    assert days[41].ctl == pytest.approx(63.6544, abs=1e-4)
    # ATL: 100 * (1 - (6/7)^42) = 99.8457.
    assert days[41].atl == pytest.approx(99.8457, abs=1e-4)
    # Ramp on day 42: CTL(42) - CTL(35) = 63.6544 - 100 * (1 - (41/42)^35) = 63.6544 - 56.9761.
    assert days[41].ramp_rate == pytest.approx(63.6544 - 56.9761, abs=1e-3)
    assert all(d.tss == 100 and not d.projected for d in days)


def test_a_single_ride_decays():
    days = fitness_days(D0, day(14), {D0: 100.0}, {}, origin=D0)
    assert days[0].ctl == pytest.approx(100 / 42)
    assert days[0].atl == pytest.approx(100 / 7)
    # A week later: 2.380952 * (41/42)^7 = 2.011373; 14.285714 * (6/7)^7 = 4.855953.
    assert days[7].ctl == pytest.approx(2.011373, abs=1e-6)
    assert days[7].atl == pytest.approx(4.855953, abs=1e-6)
    # Form the day after the ride: yesterday's 2.380952 - 14.285714.
    assert days[1].tsb == pytest.approx(-11.904762, abs=1e-6)
    # Ramp a week after the ride: CTL now minus CTL a week earlier (the ride's day).
    assert days[7].ramp_rate == pytest.approx(2.011373 - 2.380952, abs=1e-6)
    # On the ride's day the ramp counts from before history: 0.
    assert days[0].ramp_rate == pytest.approx(2.380952, abs=1e-6)


def test_a_gap_between_rides():
    done = {day(0): 80.0, day(10): 120.0}
    days = fitness_days(D0, day(10), done, {}, origin=D0)
    assert [d.tss for d in days] == [80.0] + [0.0] * 9 + [120.0]
    # Nine empty days after the first ride: 80/42 * (41/42)^9 = 1.533387; 80/7 * (6/7)^9 = 2.854111.
    assert days[9].ctl == pytest.approx(1.533387, abs=1e-6)
    assert days[9].atl == pytest.approx(2.854111, abs=1e-6)
    assert days[10].ctl == pytest.approx(1.533387 + (120 - 1.533387) / 42, abs=1e-6)
    assert days[10].atl == pytest.approx(2.854111 + (120 - 2.854111) / 7, abs=1e-6)
    assert days[10].tsb == pytest.approx(1.533387 - 2.854111, abs=1e-6)


def test_trainerday_reference_vectors():
    """trainerday/cycling-metrics (ctl.test.ts) rounds to 0.1 once per day; where its vectors do not depend on
    that, they agree: one day of 100 from 0 is 2.4, two are 4.7, 70 from 0 is 1.7, 0 from 50 is 48.8, and 21
    days of 70 reach 27.8."""
    assert round(fitness_days(D0, D0, {D0: 100.0}, {}, origin=D0)[0].ctl, 1) == 2.4
    assert round(fitness_days(D0, day(1), {D0: 100.0, day(1): 100.0}, {}, origin=D0)[1].ctl, 1) == 4.7
    assert round(fitness_days(D0, D0, {D0: 70.0}, {}, origin=D0)[0].ctl, 1) == 1.7
    assert round(fitness_days(D0, D0, {}, {}, origin=D0, ctl_start=50)[0].ctl, 1) == 48.8
    seventy = {day(n): 70.0 for n in range(28)}
    assert round(fitness_days(D0, day(29), seventy, {}, origin=D0)[20].ctl, 1) == 27.8


def test_days_before_history_hold_the_seeds():
    days = fitness_days(day(-3), day(1), {D0: 100.0}, {}, origin=D0, ctl_start=50, atl_start=70)
    assert [d.date for d in days] == [day(n) for n in range(-3, 2)]
    assert [(d.ctl, d.atl, d.tsb, d.ramp_rate) for d in days[:3]] == [(50, 70, -20, 0)] * 3
    assert days[3].ctl == pytest.approx(50 + (100 - 50) / 42)
    assert days[3].atl == pytest.approx(70 + (100 - 70) / 7)
    assert days[3].tsb == -20
    assert days[4].ctl == pytest.approx(days[3].ctl * 41 / 42)


def test_history_before_the_range_counts():
    """A window late in the history starts from the loads the earlier rides built."""
    done = {day(n): 100.0 for n in range(42)}
    window = fitness_days(day(40), day(41), done, {}, origin=D0)
    assert [d.date for d in window] == [day(40), day(41)]
    assert window[1].ctl == pytest.approx(63.6544, abs=1e-4)


def test_no_history_is_flat_at_the_seeds():
    days = fitness_days(D0, day(2), {}, {day(1): 80.0}, origin=None, ctl_start=10)
    assert [(d.ctl, d.atl, d.tsb, d.planned_tss) for d in days] == [
        (10, 0, 10, 0),
        (10, 0, 10, 80),
        (10, 0, 10, 0),
    ]


def test_projection_loads_planned_tss_after_today_only():
    done = {D0: 100.0}
    planned = {D0: 60.0, day(1): 90.0, day(2): 90.0}
    days = fitness_days(D0, day(2), done, planned, origin=D0, project_after=D0)
    assert [d.projected for d in days] == [False, True, True]
    assert days[0].ctl == pytest.approx(100 / 42)  # today: what was done, not what was planned
    assert days[1].ctl == pytest.approx(100 / 42 + (90 - 100 / 42) / 42)
    assert [d.tss for d in days] == [100.0, 0.0, 0.0]
    assert [d.planned_tss for d in days] == [60.0, 90.0, 90.0]
    unprojected = fitness_days(D0, day(2), done, planned, origin=D0)
    assert unprojected[1].ctl == pytest.approx(100 / 42 * 41 / 42)
