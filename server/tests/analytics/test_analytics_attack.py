"""Hostile and sceptical checks of the analytics API: defects found by attacking it, each kept as a test."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from tests.analytics.rides import at, upload_ride
from tests.conftest import Caller
from trainerday_server.analytics.curves import decode_curves, encode_curve, season_best
from trainerday_server.analytics.load import fitness_days

FITNESS = "/api/v1/athlete/fitness"
SUMMARY = "/api/v1/athlete/summary"
CURVE = "/api/v1/athlete/power-curve"
ESTIMATE = "/api/v1/athlete/ftp-estimate"


def test_a_suggestion_goes_away_once_the_athlete_has_taken_it(client, me: Caller):
    """A ride's FTP suggestion compares with the athlete's FTP now, not only the one the ride was measured at:
    once the FTP is raised to what the ride implies, the ride must stop asking for it."""
    today = client.app.state.clock().date()
    strong = upload_ride(client, me, at(today - dt.timedelta(days=3)), minutes=45, watts_scale=1.2)
    [suggestion] = strong["suggestions"]
    raised = client.patch("/api/v1/athlete", headers=me.headers, json={"ftp": suggestion["ftp"]})
    assert raised.status_code == 200, raised.text
    again = client.get(f"/api/v1/activities/{strong['id']}", headers=me.headers).json()
    assert again["ftp"] == 200  # the ride keeps the FTP it was measured at
    assert again["suggestions"] == []


def test_a_suggestion_never_asks_for_less_than_the_current_ftp(client, me: Caller):
    """An athlete whose FTP is already above what a ride implies gets no suggestion from it, and a
    suggestion's currentFtp is the athlete's FTP now."""
    today = client.app.state.clock().date()
    strong = upload_ride(client, me, at(today - dt.timedelta(days=3)), minutes=45, watts_scale=1.2)
    [suggestion] = strong["suggestions"]
    assert client.patch("/api/v1/athlete", headers=me.headers, json={"ftp": 205}).status_code == 200
    [partly] = client.get(f"/api/v1/activities/{strong['id']}", headers=me.headers).json()["suggestions"]
    assert (partly["ftp"], partly["currentFtp"]) == (suggestion["ftp"], 205)
    assert client.patch("/api/v1/athlete", headers=me.headers, json={"ftp": 400}).status_code == 200
    assert client.get(f"/api/v1/activities/{strong['id']}", headers=me.headers).json()["suggestions"] == []


def test_weeks_months_and_fitness_follow_the_athletes_time_zone(client, me: Caller):
    """A ride late on a Sunday (UTC) is Monday in Auckland: it counts in the Monday's week, and one on the
    last evening of March (UTC) counts in April, as its own startTimeLocal says."""
    zone = client.patch("/api/v1/athlete", headers=me.headers, json={"timezone": "Pacific/Auckland"})
    assert zone.status_code == 200, zone.text
    sunday_utc = dt.datetime(2025, 3, 9, 20, tzinfo=dt.UTC)  # Monday 10 March, 09:00 in Auckland
    march_utc = dt.datetime(2025, 3, 31, 20, tzinfo=dt.UTC)  # Tuesday 1 April, 09:00 in Auckland
    monday = upload_ride(client, me, sunday_utc, minutes=30, seed=1)
    april = upload_ride(client, me, march_utc, minutes=30, seed=2)
    assert monday["startTimeLocal"][:10] == "2025-03-10" and april["startTimeLocal"][:10] == "2025-04-01"

    weeks = client.get(
        SUMMARY, headers=me.headers, params={"startDate": "2025-03-03", "endDate": "2025-03-16"}
    ).json()["periods"]
    assert [(w["startDate"], w["endDate"], w["done"]["rides"]) for w in weeks] == [
        ("2025-03-03", "2025-03-09", 0),
        ("2025-03-10", "2025-03-16", 1),
    ]
    months = client.get(
        SUMMARY,
        headers=me.headers,
        params={"startDate": "2025-03-01", "endDate": "2025-04-30", "period": "month"},
    ).json()["periods"]
    assert [(m["startDate"], m["endDate"], m["done"]["rides"]) for m in months] == [
        ("2025-03-01", "2025-03-31", 1),
        ("2025-04-01", "2025-04-30", 1),
    ]
    days = client.get(
        FITNESS, headers=me.headers, params={"startDate": "2025-03-09", "endDate": "2025-03-10"}
    ).json()["days"]
    assert [(d["date"], d["tss"]) for d in days] == [("2025-03-09", 0.0), ("2025-03-10", monday["tss"])]


def test_a_week_across_new_year_and_a_leap_day(client, me: Caller):
    """Weeks run Monday to Sunday even across a year's end (2024-12-30 is the Monday of ISO week 2025-W01),
    and February of a leap year ends on the 29th."""
    weeks = client.get(
        SUMMARY, headers=me.headers, params={"startDate": "2024-12-25", "endDate": "2025-01-06"}
    ).json()["periods"]
    assert [(w["startDate"], w["endDate"]) for w in weeks] == [
        ("2024-12-25", "2024-12-29"),
        ("2024-12-30", "2025-01-05"),
        ("2025-01-06", "2025-01-06"),
    ]
    months = client.get(
        SUMMARY,
        headers=me.headers,
        params={"startDate": "2024-01-31", "endDate": "2024-03-01", "period": "month"},
    ).json()["periods"]
    assert [(m["startDate"], m["endDate"]) for m in months] == [
        ("2024-01-31", "2024-01-31"),
        ("2024-02-01", "2024-02-29"),
        ("2024-03-01", "2024-03-01"),
    ]


def test_compliance_is_zero_when_planned_and_nothing_done_and_null_when_nothing_planned(client, me: Caller):
    planned = client.post(
        "/api/v1/calendar/events",
        headers=me.headers,
        json={"calendarDate": "2025-03-04", "embedWorkout": {"title": "Z2", "segments": [[30, 60, 60]]}},
    )
    assert planned.status_code == 201, planned.text
    upload_ride(client, me, at(dt.date(2025, 3, 12)), minutes=30, seed=4)
    weeks = client.get(
        SUMMARY, headers=me.headers, params={"startDate": "2025-03-03", "endDate": "2025-03-16"}
    ).json()["periods"]
    assert [(w["planned"]["workouts"], w["done"]["rides"], w["compliancePercent"]) for w in weeks] == [
        (1, 0, 0),
        (0, 1, None),
    ]


def test_no_ftp_estimate_from_a_ride_shorter_than_twenty_minutes(client, me: Caller):
    """A hard 19-minute ride has no 20-minute power: the estimate stays null rather than reading a shorter
    effort (or a sentinel) as one, and the ride suggests nothing."""
    today = client.app.state.clock().date()
    short = upload_ride(client, me, at(today - dt.timedelta(days=1)), minutes=19, watts_scale=2.0)
    assert 1200 not in short["powerCurve"]["seconds"]
    assert short["suggestions"] == []
    estimate = client.get("/api/v1/athlete/ftp-estimate", headers=me.headers).json()
    assert (estimate["ftp"], estimate["basedOn"]) == (None, [])
    twenty = upload_ride(client, me, at(today), minutes=20, watts_scale=1.0)
    best = dict(zip(twenty["powerCurve"]["seconds"], twenty["powerCurve"]["watts"], strict=True))[1200]
    estimate = client.get("/api/v1/athlete/ftp-estimate", headers=me.headers).json()
    assert estimate["ftp"] == round(0.95 * best)
    assert [r["activityId"] for r in estimate["basedOn"]] == [twenty["id"]]


def test_a_ride_whose_power_reads_zero_throughout_sets_no_curve_and_no_ftp(client, me: Caller):
    """A head unit that records a power field with no meter paired writes 0 W on every record (the shared
    nick.fit). Its 0 W is no effort: it must not make a season curve of zeros beyond the powered rides, nor
    an FTP estimate of 0 W."""
    today = client.app.state.clock().date()
    unpowered = upload_ride(client, me, at(today - dt.timedelta(days=5)), minutes=90, watts_scale=0.0)
    assert unpowered["powerCurve"] is None and unpowered["averagePower"] is None  # no meter: no power figures
    window = {"startDate": (today - dt.timedelta(days=30)).isoformat(), "endDate": today.isoformat()}
    assert client.get(CURVE, headers=me.headers, params=window).json()["points"] == []
    estimate = client.get(ESTIMATE, headers=me.headers).json()
    assert (estimate["ftp"], estimate["basedOn"]) == (None, [])

    powered = upload_ride(client, me, at(today - dt.timedelta(days=4)), minutes=10, seed=5)
    points = client.get(CURVE, headers=me.headers, params=window).json()["points"]
    own = dict(zip(powered["powerCurve"]["seconds"], powered["powerCurve"]["watts"], strict=True))
    assert points and {p["activityId"] for p in points} == {powered["id"]}
    assert all(p["watts"] == own[p["seconds"]] for p in points)
    assert max(p["seconds"] for p in points) <= 600
    assert client.get(ESTIMATE, headers=me.headers).json()["ftp"] is None


def test_season_best_leaves_out_durations_only_zero_watt_rides_lasted():
    unpowered = {"seconds": [1, 2, 3], "watts": [0.0, 0.0, 0.0]}
    powered = {"seconds": [1, 2], "watts": [300.0, 250.0]}
    assert season_best(decode_curves([encode_curve(unpowered), encode_curve(powered)])) == [
        (1, 1, 300.0),
        (2, 1, 250.0),
    ]
    assert season_best(decode_curves([encode_curve(unpowered)])) == []


def test_a_ride_measured_above_todays_ftp_still_suggests_what_it_implies(client, me: Caller):
    """After the athlete lowers the FTP, a ride measured at the old, higher FTP that implies more than today's
    suggests it: the comparison is with the FTP now."""
    today = client.app.state.clock().date()
    assert client.patch("/api/v1/athlete", headers=me.headers, json={"ftp": 400}).status_code == 200
    ride = upload_ride(client, me, at(today - dt.timedelta(days=1)), minutes=45, watts_scale=1.2)
    assert ride["ftp"] == 400 and ride["suggestions"] == []
    twenty = dict(zip(ride["powerCurve"]["seconds"], ride["powerCurve"]["watts"], strict=True))[1200]
    assert client.patch("/api/v1/athlete", headers=me.headers, json={"ftp": 150}).status_code == 200
    [suggestion] = client.get(f"/api/v1/activities/{ride['id']}", headers=me.headers).json()["suggestions"]
    assert (suggestion["ftp"], suggestion["currentFtp"]) == (round(0.95 * twenty), 150)


def naive_series(
    start: dt.date,
    end: dt.date,
    done: dict[dt.date, float],
    planned: dict[dt.date, float],
    origin: dt.date | None,
    project_after: dt.date | None,
    ctl0: float,
    atl0: float,
) -> list[tuple[dt.date, float, float, float, float, bool]]:
    """TrainingPeaks' recurrences day by day from the first day of history, the slow obvious way."""
    first = start if origin is None else min(start, origin)
    ctl, atl, history, out = ctl0, atl0, {}, []
    day = first
    while day <= end:
        projected = project_after is not None and day > project_after
        load = planned.get(day, 0.0) if projected else done.get(day, 0.0)
        yesterday = ctl - atl
        if origin is not None and day >= origin:
            ctl += (load - ctl) / 42
            atl += (load - atl) / 7
        history[day] = ctl
        if day >= start:
            ramp = ctl - history.get(day - dt.timedelta(days=7), ctl0)
            out.append((day, ctl, atl, yesterday, ramp, projected))
        day += dt.timedelta(days=1)
    return out


@pytest.mark.parametrize("seed", range(12))
def test_fitness_series_equals_the_day_by_day_recurrence(seed):
    """The series skips the history before a window in leaps; it must give what stepping every day gives,
    for windows before, across and long after the rides, with seeds and projection."""
    rng = random.Random(seed)
    base = dt.date(2015, 1, 1)
    done = {
        base + dt.timedelta(days=rng.randrange(0, 2000)): round(rng.uniform(0, 300), 1) for _ in range(60)
    }
    planned = {
        base + dt.timedelta(days=rng.randrange(1500, 2600)): float(rng.randrange(20, 150)) for _ in range(30)
    }
    origin = min(done) if seed % 4 else None
    start = base + dt.timedelta(days=rng.randrange(-100, 4000))
    end = start + dt.timedelta(days=rng.randrange(0, 400))
    project_after = base + dt.timedelta(days=1900) if seed % 3 == 0 else None
    ctl0, atl0 = (rng.uniform(0, 100), rng.uniform(0, 100)) if seed % 2 else (0.0, 0.0)
    got = fitness_days(
        start, end, done, planned, origin=origin, project_after=project_after, ctl_start=ctl0, atl_start=atl0
    )
    want = naive_series(start, end, done, planned, origin, project_after, ctl0, atl0)
    assert [d.date for d in got] == [w[0] for w in want]
    for d, (_, ctl, atl, tsb, ramp, projected) in zip(got, want, strict=True):
        assert (d.ctl, d.atl, d.tsb, d.ramp_rate) == pytest.approx((ctl, atl, tsb, ramp), abs=1e-9)
        assert d.projected == projected
