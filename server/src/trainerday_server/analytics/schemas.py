"""Analytics schemas: what OpenAPI documents. Bodies are built from the service's dataclasses (``wire``)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from trainerday_server.schemas import ApiOut


class FitnessDayOut(ApiOut):
    date: dt.date
    tss: float = Field(description="TSS of the rides done that day")
    planned_tss: float = Field(description="TSS of the workouts planned that day, at your current FTP")
    ctl: float = Field(description="Chronic training load (fitness): 42-day exponentially weighted TSS")
    atl: float = Field(description="Acute training load (fatigue): 7-day exponentially weighted TSS")
    tsb: float = Field(description="Training stress balance (form): yesterday's CTL minus yesterday's ATL")
    ramp_rate: float = Field(description="CTL now minus CTL seven days earlier")
    projected: bool = Field(description="A future day loaded with its planned TSS (projectPlanned=true)")


class FitnessOut(ApiOut):
    start_date: dt.date
    end_date: dt.date
    days: list[FitnessDayOut] = Field(description="Every day of the range, rides or not")


class CurvePointOut(ApiOut):
    seconds: int
    watts: float = Field(description="Best average power held for at least this long, to 0.1 W")
    watts_per_kg: float | None = Field(description="At your profile's weight; null without one")
    activity_id: int = Field(description="The ride that set it (the earliest, on a tie)")
    date: dt.date = Field(description="That ride's local date")


class SeasonPowerCurveOut(ApiOut):
    start_date: dt.date
    end_date: dt.date
    weight_kg: float | None
    points: list[CurvePointOut] = Field(
        description="The activity curve's durations up to 5 h that some ride in the range lasted"
    )


class FtpRideOut(ApiOut):
    activity_id: int
    date: dt.date
    seconds: int
    watts: float


class FtpEstimateOut(ApiOut):
    method: str = Field(description="95-percent-of-best-20-minutes-90-days (see docs/api.md)")
    ftp: int | None = Field(description="The estimate; null without a ride of 20 minutes with power")
    current_ftp: int = Field(description="Your profile's FTP, which the estimate never changes")
    based_on: list[FtpRideOut]


class DoneOut(ApiOut):
    rides: int
    seconds: int = Field(description="Timer time")
    distance_meters: float
    elevation_gain_meters: float
    work_kj: float
    tss: float
    power_zone_seconds: list[int] = Field(description="Seconds in Coggan's power zones 1-7")
    heart_rate_zone_seconds: list[int] = Field(description="Seconds in heart-rate zones 1-5")


class PlannedOut(ApiOut):
    workouts: int
    seconds: int
    tss: float = Field(description="At your current FTP")
    power_zone_seconds: list[int]


class SummaryPeriodOut(ApiOut):
    start_date: dt.date = Field(description="The week's Monday or the month's first day, or startDate")
    end_date: dt.date = Field(description="The week's Sunday or the month's last day, or endDate")
    done: DoneOut
    planned: PlannedOut
    compliance_percent: int | None = Field(
        description="Done TSS over planned TSS (time where either lacks TSS), whole percent; null when "
        "nothing was planned"
    )


class SummaryOut(ApiOut):
    period: str
    periods: list[SummaryPeriodOut]


class RecomputedOut(ApiOut):
    recomputed: int = Field(description="How many rides were recomputed")
