"""Training analytics over an athlete's rides and plan: fitness, season power curve, FTP estimate, summaries,
and the recomputation of ride figures at the FTP in force. No HTTP here.

Every function reads only the athlete's own rows (``WHERE athlete_id = :me``). Results are frozen dataclasses
whose snake_case fields mirror the API's camelCase JSON (``wire`` converts them).
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import math
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from pydantic.alias_generators import to_camel
from sqlalchemy.orm import Session, undefer

from trainerday_server.activities.compliance import compliance
from trainerday_server.activities.metrics import ride_metrics
from trainerday_server.activities.recording import Recording
from trainerday_server.activities.streams import decode_streams
from trainerday_server.analytics import curves, load
from trainerday_server.analytics import ftp as ftp_rules
from trainerday_server.analytics.load import FitnessDay
from trainerday_server.athlete.service import bump_data_revision, get_athlete
from trainerday_server.athlete.zones import HEART_RATE_ZONES, POWER_ZONES
from trainerday_server.errors import ValidationFailed
from trainerday_server.models import Activity, ActivityPowerCurve, CalendarEvent, FtpHistory
from trainerday_server.models.base import utcnow
from trainerday_server.workouts.service import planned_for

MAX_RANGE_DAYS = 3653  # ten years a request: a decade of daily rows is still a small, fast answer
# Dates far enough from the calendar's ends that a week or month around them always exists.
FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2999, 12, 31)
Period = Literal["week", "month"]


# --- results ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fitness:
    start_date: dt.date
    end_date: dt.date
    days: list[FitnessDay]


@dataclass(frozen=True, slots=True)
class CurvePoint:
    seconds: int
    watts: float
    watts_per_kg: float | None
    activity_id: int
    date: dt.date


@dataclass(frozen=True, slots=True)
class SeasonPowerCurve:
    start_date: dt.date
    end_date: dt.date
    weight_kg: float | None
    points: list[CurvePoint]


@dataclass(frozen=True, slots=True)
class FtpRide:
    activity_id: int
    date: dt.date
    seconds: int
    watts: float


@dataclass(frozen=True, slots=True)
class FtpEstimate:
    method: str
    ftp: int | None
    current_ftp: int
    based_on: list[FtpRide]


@dataclass(frozen=True, slots=True)
class DoneTotals:
    rides: int
    seconds: int
    distance_meters: float
    elevation_gain_meters: float
    work_kj: float
    tss: float
    power_zone_seconds: list[int]
    heart_rate_zone_seconds: list[int]


@dataclass(frozen=True, slots=True)
class PlannedTotals:
    workouts: int
    seconds: int
    tss: float
    power_zone_seconds: list[int]


@dataclass(frozen=True, slots=True)
class SummaryPeriod:
    start_date: dt.date
    end_date: dt.date
    done: DoneTotals
    planned: PlannedTotals
    compliance_percent: int | None


@dataclass(frozen=True, slots=True)
class Summary:
    period: str
    periods: list[SummaryPeriod]


# Values orjson writes as the API wants them as they are (dates as YYYY-MM-DD).
_PLAIN = frozenset({type(None), bool, int, float, str, dt.date})
_WIRE_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {}


def wire(value: Any) -> Any:
    """A result as the API's JSON: camelCase keys, ISO 8601 dates (written so by orjson)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN else wire(v) for v in value]
    fields = _WIRE_FIELDS.get(kind)
    if fields is None:
        if not dataclasses.is_dataclass(kind):
            return value
        fields = tuple((f.name, to_camel(f.name)) for f in dataclasses.fields(kind))
        _WIRE_FIELDS[kind] = fields
    body = {}
    for name, camel in fields:
        item = getattr(value, name)
        body[camel] = item if type(item) in _PLAIN else wire(item)
    return body


# --- shared ----------------------------------------------------------------------------------------------


def check_range(start: dt.date, end: dt.date) -> None:
    for name, day in (("startDate", start), ("endDate", end)):
        if not FIRST_DATE <= day <= LAST_DATE:
            raise ValidationFailed.single(name, f"must be from {FIRST_DATE} to {LAST_DATE}")
    if end < start:
        raise ValidationFailed.single("endDate", f"{end} is before startDate {start}")
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        raise ValidationFailed.single(
            "endDate", f"the range spans {days:,} days; at most {MAX_RANGE_DAYS:,} (ten years) are allowed"
        )


def athlete_today(timezone: str, now: dt.datetime | None = None) -> dt.date:
    """The calendar day in the athlete's time zone at ``now`` (default: the current time)."""
    moment = now or dt.datetime.now(dt.UTC)
    return moment.astimezone(zoneinfo.ZoneInfo(timezone)).date()


def _day(session: Session, column: Any) -> Any:
    """A date column to select many of: on SQLite as its stored text, which ``_as_date`` parses several times
    faster than the SQLite dialect's own date processing (PostgreSQL's driver returns dates)."""
    return sa.cast(column, sa.String) if session.get_bind().dialect.name == "sqlite" else column


def _as_date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _planned_by_day(
    session: Session, athlete_id: int, ftp: int, start: dt.date, end: dt.date
) -> dict[dt.date, list[Any]]:
    """Planned workouts' metrics at the athlete's current FTP (as the calendar shows them), by day."""
    rows = session.connection().execute(
        sa.select(CalendarEvent.calendar_date, CalendarEvent.workout).where(
            CalendarEvent.athlete_id == athlete_id,
            CalendarEvent.type == "workout",
            CalendarEvent.calendar_date >= start,
            CalendarEvent.calendar_date <= end,
        )
    )
    by_day: dict[dt.date, list[Any]] = {}
    for day, workout in rows:
        if workout and workout.get("segments"):
            by_day.setdefault(day, []).append(planned_for(workout["segments"], ftp)[0])
    return by_day


# --- fitness ---------------------------------------------------------------------------------------------


def fitness(
    session: Session,
    athlete_id: int,
    start: dt.date,
    end: dt.date,
    *,
    project_planned: bool = False,
    today: dt.date | None = None,
) -> Fitness:
    """CTL, ATL, TSB and ramp rate for every day from ``start`` to ``end`` (see ``analytics.load``); with
    ``project_planned``, days after the athlete's today are loaded with their planned workouts' TSS."""
    check_range(start, end)
    athlete = get_athlete(session, athlete_id)
    today = today or athlete_today(athlete.timezone)
    done = {
        _as_date(day): round(tss or 0.0, 1)
        for day, tss in session.connection().execute(
            sa.select(_day(session, Activity.local_date), sa.func.sum(Activity.tss))
            .where(Activity.athlete_id == athlete_id, Activity.local_date <= end)
            .group_by(Activity.local_date)
        )
    }
    origin = min(done) if done else None
    first_planned = min(start, today + dt.timedelta(days=1)) if project_planned else start
    planned = {
        # Each workout's TSS as the calendar shows it, so the series can be checked from the calendar.
        day: round(sum(round(m.tss, 1) for m in workouts), 1)
        for day, workouts in _planned_by_day(session, athlete_id, athlete.ftp, first_planned, end).items()
    }
    if project_planned:
        ahead = [day for day, tss in planned.items() if day > today and tss > 0]
        if ahead:
            origin = min(origin or ahead[0], *ahead)
    days = load.fitness_days(
        start,
        end,
        done,
        planned,
        origin=origin,
        project_after=today if project_planned else None,
        ctl_start=athlete.ctl_start or 0.0,
        atl_start=athlete.atl_start or 0.0,
        digits=2,
    )
    return Fitness(start, end, days)


# --- season power curve ----------------------------------------------------------------------------------


def _curve_rows(
    session: Session, athlete_id: int, start: dt.date, end: dt.date
) -> list[tuple[int, Any, bytes]]:
    """(activity id, local date, encoded curve) of the athlete's rides in the range, in date order.

    Rides stored before curves were kept at upload (by older code) have no row; their curve is encoded here
    from the power curve they store.
    """
    mine = (ActivityPowerCurve.athlete_id == athlete_id,)
    rows = [
        (activity_id, day, bytes(watts))
        for activity_id, day, watts in session.connection().execute(
            sa.select(
                ActivityPowerCurve.activity_id,
                _day(session, ActivityPowerCurve.local_date),
                ActivityPowerCurve.watts,
            ).where(*mine, ActivityPowerCurve.local_date >= start, ActivityPowerCurve.local_date <= end)
        )
    ]
    kept = sa.select(ActivityPowerCurve.activity_id).where(ActivityPowerCurve.activity_id == Activity.id)
    missing = session.connection().execute(
        sa.select(Activity.id, _day(session, Activity.local_date), Activity.power_curve).where(
            Activity.athlete_id == athlete_id,
            Activity.local_date >= start,
            Activity.local_date <= end,
            ~kept.exists(),
        )
    )
    rows += [(activity_id, day, curves.encode_curve(curve)) for activity_id, day, curve in missing]
    rows.sort(key=lambda row: (row[1], row[0]))
    return rows


def _season_points(
    session: Session, athlete_id: int, start: dt.date, end: dt.date, weight_kg: float | None
) -> list[CurvePoint]:
    rows = _curve_rows(session, athlete_id, start, end)
    best = curves.season_best(curves.decode_curves([watts for _, _, watts in rows]))
    return [
        CurvePoint(
            seconds=seconds,
            watts=watts,
            watts_per_kg=round(watts / weight_kg, 2) if weight_kg else None,
            activity_id=rows[row][0],
            date=_as_date(rows[row][1]),
        )
        for seconds, row, watts in best
    ]


def season_power_curve(session: Session, athlete_id: int, start: dt.date, end: dt.date) -> SeasonPowerCurve:
    """For each duration of the activity curve's ladder up to five hours, the best average power of the
    rides from ``start`` to ``end`` (local dates), the ride it came from (the earliest on a tie), and W/kg at
    the athlete's weight when it is known."""
    check_range(start, end)
    weight = get_athlete(session, athlete_id).weight_kg
    return SeasonPowerCurve(start, end, weight, _season_points(session, athlete_id, start, end, weight))


# --- FTP -------------------------------------------------------------------------------------------------


def estimate_ftp(session: Session, athlete_id: int, *, today: dt.date | None = None) -> FtpEstimate:
    """95 % of the best 20-minute power of the last 90 days (see ``analytics.ftp``); None without such a
    ride."""
    athlete = get_athlete(session, athlete_id)
    today = today or athlete_today(athlete.timezone)
    start = today - dt.timedelta(days=ftp_rules.WINDOW_DAYS - 1)
    points = _season_points(session, athlete_id, start, today, None)
    test = next((p for p in points if p.seconds == ftp_rules.TEST_SECONDS), None)
    if test is None:
        return FtpEstimate(ftp_rules.METHOD, None, athlete.ftp, [])
    return FtpEstimate(
        ftp_rules.METHOD,
        ftp_rules.ftp_from_twenty_minutes(test.watts),
        athlete.ftp,
        [FtpRide(test.activity_id, test.date, test.seconds, test.watts)],
    )


# --- summaries -------------------------------------------------------------------------------------------


def _period_bounds(start: dt.date, end: dt.date, period: Period) -> list[tuple[dt.date, dt.date]]:
    """Whole weeks (Monday to Sunday) or calendar months covering the range, each cut to the range."""
    bounds = []
    first = start - dt.timedelta(days=start.weekday()) if period == "week" else start.replace(day=1)
    while first <= end:
        if period == "week":
            following = first + dt.timedelta(days=7)
        else:
            following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        bounds.append((max(first, start), min(following - dt.timedelta(days=1), end)))
        first = following
    return bounds


def _add(totals: list[float], values: Iterable[float] | None) -> None:
    for i, value in enumerate(values or ()):
        if i < len(totals):
            totals[i] += value


def summary(session: Session, athlete_id: int, start: dt.date, end: dt.date, period: Period) -> Summary:
    """Per week or month of the range: the rides done and the workouts planned side by side, and the
    period's compliance (done TSS over planned TSS, or time where TSS is missing on either side)."""
    check_range(start, end)
    if period not in ("week", "month"):
        raise ValidationFailed.single("period", f"must be week or month, got {period!r}")
    athlete = get_athlete(session, athlete_id)
    bounds = _period_bounds(start, end, period)
    firsts = [first for first, _ in bounds]

    def index(day: dt.date) -> int:
        return bisect.bisect_right(firsts, day) - 1

    count = len(bounds)
    rides, seconds, tss_rides = [0] * count, [0] * count, [0] * count
    sums = [[0.0] * 4 for _ in range(count)]  # distance, elevation, work, tss
    power_zones = [[0.0] * len(POWER_ZONES) for _ in range(count)]
    heart_zones = [[0.0] * len(HEART_RATE_ZONES) for _ in range(count)]
    done = session.connection().execute(
        sa.select(Activity.local_date, Activity.timer_seconds, Activity.tss, Activity.metrics).where(
            Activity.athlete_id == athlete_id, Activity.local_date >= start, Activity.local_date <= end
        )
    )
    for day, timer_seconds, tss, metrics in done:
        i = index(day)
        rides[i] += 1
        seconds[i] += timer_seconds
        for j, name in enumerate(("distanceMeters", "elevationGainMeters", "workKj")):
            sums[i][j] += metrics.get(name) or 0.0
        if tss is not None:
            sums[i][3] += tss
            tss_rides[i] += 1
        _add(power_zones[i], metrics.get("timeInPowerZones"))
        _add(heart_zones[i], metrics.get("timeInHeartRateZones"))

    workouts, planned_seconds = [0] * count, [0] * count
    planned_tss = [0.0] * count
    planned_zones = [[0.0] * len(POWER_ZONES) for _ in range(count)]
    for day, metrics_list in _planned_by_day(session, athlete_id, athlete.ftp, start, end).items():
        i = index(day)
        for metrics in metrics_list:
            workouts[i] += 1
            planned_seconds[i] += metrics.duration_seconds
            planned_tss[i] += round(metrics.tss, 1)  # as the calendar shows it
            _add(planned_zones[i], metrics.time_in_zones)

    periods = []
    for i, (first, last) in enumerate(bounds):
        done_totals = DoneTotals(
            rides=rides[i],
            seconds=seconds[i],
            distance_meters=round(sums[i][0], 1),
            elevation_gain_meters=round(sums[i][1], 1),
            work_kj=round(sums[i][2], 1),
            tss=round(sums[i][3], 1),
            power_zone_seconds=[round(v) for v in power_zones[i]],
            heart_rate_zone_seconds=[round(v) for v in heart_zones[i]],
        )
        planned_totals = PlannedTotals(
            workouts=workouts[i],
            seconds=planned_seconds[i],
            tss=round(planned_tss[i], 1),
            power_zone_seconds=[round(v) for v in planned_zones[i]],
        )
        percent = None
        if workouts[i]:
            overall = compliance(
                planned_seconds[i], planned_tss[i], seconds[i], sums[i][3] if tss_rides[i] else None
            )["percent"]
            percent = None if overall is None else int(overall)
        periods.append(SummaryPeriod(first, last, done_totals, planned_totals, percent))
    return Summary(period, periods)


# --- recompute -------------------------------------------------------------------------------------------


def ftp_in_force(history: list[tuple[dt.date, int]], day: dt.date, fallback: int) -> int:
    """As ``athlete.service.ftp_on``, over the history in date order: the latest change on or before
    ``day``, else the earliest change known, else ``fallback``."""
    if not history:
        return fallback
    i = bisect.bisect_right([effective for effective, _ in history], day) - 1
    return history[max(i, 0)][1]


@dataclass(frozen=True, slots=True)
class RecomputedRide:
    """A ride's figures at the FTP in force on its date, to be written back."""

    activity_id: int
    ftp: int
    tss: float | None
    metrics: dict[str, Any]


def recompute(session: Session, athlete_id: int, since: dt.date) -> int:
    """Recompute IF, TSS and zone times of the rides on or after ``since`` (local date) at the FTP in force
    on each ride's date and the athlete's current LTHR; the number of rides recomputed.

    Figures come from the ride's stored samples. Stored samples do not keep a FIT file's timer pauses: where
    the samples no longer give the ride's stored Normalized Power and length, IF and TSS are scaled to the
    new FTP from the stored NP instead, and the power zones are kept. ``recomputed_rides`` and
    ``write_recomputed`` are the two halves, for a caller that computes outside its write transaction.
    """
    return write_recomputed(session, athlete_id, recomputed_rides(session, athlete_id, since))


def recomputed_rides(session: Session, athlete_id: int, since: dt.date) -> list[RecomputedRide]:
    """The new figures of the rides on or after ``since``; reads only."""
    athlete = get_athlete(session, athlete_id)
    history = [
        (row.effective_date, row.ftp)
        for row in session.execute(
            sa.select(FtpHistory.effective_date, FtpHistory.ftp)
            .where(FtpHistory.athlete_id == athlete_id)
            .order_by(FtpHistory.effective_date)
        )
    ]
    ids = session.scalars(
        sa.select(Activity.id)
        .where(Activity.athlete_id == athlete_id, Activity.local_date >= since)
        .order_by(Activity.id)
    ).all()
    rides = []
    for activity_id in ids:
        activity = session.scalars(
            sa.select(Activity).where(Activity.id == activity_id).options(undefer(Activity.streams))
        ).one()
        ftp = ftp_in_force(history, activity.local_date, athlete.ftp)
        metrics = _recompute_ride(activity, ftp, athlete.lthr)
        rides.append(RecomputedRide(activity_id, ftp, metrics.get("tss"), metrics))
        session.expunge(activity)  # a long history must not hold every ride's streams in memory
    return rides


def write_recomputed(session: Session, athlete_id: int, rides: list[RecomputedRide]) -> int:
    """Store recomputed figures (a ride deleted meanwhile is skipped); how many were stored."""
    written = 0
    for ride in rides:
        result = session.execute(
            sa.update(Activity)
            .where(Activity.id == ride.activity_id, Activity.athlete_id == athlete_id)
            .values(ftp=ride.ftp, tss=ride.tss, metrics=ride.metrics, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        written += result.rowcount  # type: ignore[attr-defined]
    if written:
        bump_data_revision(session, athlete_id)
    return written


def _recompute_ride(activity: Activity, ftp: int, lthr: int | None) -> dict[str, Any]:
    """The ride's metrics with IF, TSS and zone times at ``ftp`` and ``lthr``."""
    metrics = dict(activity.metrics)
    columns = decode_streams(activity.streams)
    time = columns.pop("time")
    recording = Recording(
        format=activity.file_format, start_time=activity.start_time, time=time, channels=columns
    )
    local_start = dt.datetime.fromisoformat(metrics["startTimeLocal"])
    fresh = ride_metrics(recording, ftp, lthr, local_start.tzinfo or dt.UTC).to_json()
    stored_np = metrics.get("normalizedPower")
    stored_power_zones = metrics.get("timeInPowerZones")
    same_series = (
        fresh["normalizedPower"] == stored_np
        and stored_power_zones is not None
        and fresh["timeInPowerZones"] is not None
        and sum(fresh["timeInPowerZones"]) == sum(stored_power_zones)
    )
    if same_series:
        for name in ("intensityFactor", "tss", "timeInPowerZones"):
            metrics[name] = fresh[name]
    elif stored_np is not None and stored_power_zones is not None:
        seconds = sum(stored_power_zones)  # the length of the ridden power series, which TSS uses
        intensity = stored_np / ftp
        metrics["intensityFactor"] = round(intensity, 3)
        metrics["tss"] = round(seconds * stored_np * intensity / (ftp * 3600) * 100, 1)
    elif stored_np is not None and metrics.get("tss") is not None and activity.ftp:
        metrics["intensityFactor"] = round(stored_np / ftp, 3)
        metrics["tss"] = round(metrics["tss"] * (activity.ftp / ftp) ** 2, 1)
    fresh_heart = fresh["timeInHeartRateZones"]
    stored_heart = metrics.get("timeInHeartRateZones")
    if lthr is None:
        metrics["timeInHeartRateZones"] = None
    elif fresh_heart is not None and (stored_heart is None or sum(fresh_heart) == sum(stored_heart)):
        metrics["timeInHeartRateZones"] = fresh_heart
    if metrics.get("tss") is not None and not math.isfinite(metrics["tss"]):
        metrics["tss"] = None
    return metrics


__all__ = [
    "CurvePoint",
    "DoneTotals",
    "Fitness",
    "FitnessDay",
    "FtpEstimate",
    "FtpRide",
    "PlannedTotals",
    "RecomputedRide",
    "SeasonPowerCurve",
    "Summary",
    "SummaryPeriod",
    "estimate_ftp",
    "fitness",
    "recompute",
    "recomputed_rides",
    "season_power_curve",
    "summary",
    "wire",
    "write_recomputed",
]
