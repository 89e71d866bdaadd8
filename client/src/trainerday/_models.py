"""What the API returns, as Pydantic models: snake_case attributes over the camelCase wire format.

Fields the server adds later are kept (``model.model_extra``) rather than refused, so an older SDK keeps
working against a newer server. Dates are ``datetime.date``, timestamps timezone-aware ``datetime``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

T = TypeVar("T")


class Model(BaseModel):
    """The base of every API model."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True)

    def to_json(self) -> dict[str, Any]:
        """The model as the API sends it: camelCase keys, ISO 8601 dates."""
        return self.model_dump(mode="json", by_alias=True)


# --- athlete ---------------------------------------------------------------------------------------------


class PowerZone(Model):
    zone: int
    name: str
    min_watts: int
    max_watts: int | None


class HeartRateZone(Model):
    zone: int
    name: str
    min_bpm: int
    max_bpm: int | None


class Athlete(Model):
    id: int
    name: str
    email: str
    weight_kg: float | None = None
    ftp: int
    lthr: int | None = None
    max_heart_rate: int | None = None
    resting_heart_rate: int | None = None
    timezone: str
    units: Literal["metric", "imperial"]
    power_zones: list[PowerZone]
    heart_rate_zones: list[HeartRateZone]


class FtpChange(Model):
    effective_date: dt.date
    ftp: int


class Connection(Model):
    """An app the athlete connected through OAuth."""

    client_id: str
    name: str
    scopes: list[str]
    connected_at: dt.datetime
    last_used_at: dt.datetime | None = None


# --- workouts and the calendar ---------------------------------------------------------------------------


class WorkoutMetrics(Model):
    """Planned metrics at the athlete's current FTP."""

    duration_seconds: int
    normalized_power: float
    intensity_factor: float
    tss: float
    work_kj: float
    time_in_zones: list[int]
    dominant_zone: int


class PlannedWorkout(Model):
    """A workout's body: segments are ``[minutes, start %FTP, end %FTP, (cadenceStart, cadenceEnd, type,
    text)]``."""

    title: str
    description: str = ""
    tags: list[str] = []
    duration_minutes: float
    segments: list[list[Any]]


class Workout(PlannedWorkout):
    """A workout in the athlete's library."""

    id: int
    metrics: WorkoutMetrics
    created_at: dt.datetime
    updated_at: dt.datetime


class CompletedActivity(Model):
    id: int
    name: str
    duration_seconds: int
    tss: float | None = None


class Compliance(Model):
    duration_ratio: float | None = None
    duration_percent: int | None = None
    tss_ratio: float | None = None
    tss_percent: int | None = None
    percent: int | None = None
    status: Literal["green", "yellow", "orange"] | None = None


class CalendarEvent(Model):
    id: int
    calendar_date: dt.date
    type: Literal["workout", "note"]
    title: str | None = None
    notes: str | None = None
    embed_workout: PlannedWorkout | None = None
    workout_id: int | None = None
    metrics: WorkoutMetrics | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    completed_activity: CompletedActivity | None = None
    compliance: Compliance | None = None


# --- activities ------------------------------------------------------------------------------------------


class PowerCurve(Model):
    """For each duration, the best average power held at least that long."""

    seconds: list[int]
    watts: list[float]


class ActivityFile(Model):
    name: str | None = None
    format: str
    gzipped: bool
    size: int


class Activity(Model):
    """A ride. List items carry the summary figures; ``get()`` and ``upload()`` fill in the rest (zones,
    power curve, warnings, description, device, file)."""

    id: int
    name: str
    sport: str | None = None
    sub_sport: str | None = None
    start_time: dt.datetime
    start_time_local: dt.datetime
    elapsed_seconds: int
    timer_seconds: int
    moving_seconds: int
    distance_meters: float | None = None
    elevation_gain_meters: float | None = None
    average_speed: float | None = None
    max_speed: float | None = None
    average_power: float | None = None
    max_power: float | None = None
    normalized_power: float | None = None
    intensity_factor: float | None = None
    tss: float | None = None
    work_kj: float | None = None
    average_heart_rate: float | None = None
    max_heart_rate: float | None = None
    average_cadence: float | None = None
    variability_index: float | None = None
    ftp: int
    calendar_event_id: int | None = None
    external_id: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    time_in_power_zones: list[int] | None = None
    time_in_heart_rate_zones: list[int] | None = None
    power_curve: PowerCurve | None = None
    warnings: list[str] = []
    description: str | None = None
    device: str | None = None
    file: ActivityFile | None = None


class Page(Model, Generic[T]):
    """One page of a list: ``page`` counts from 1, ``total`` is how many there are in all."""

    data: list[T]
    page: int
    page_size: int
    total: int


class FindPage(Model, Generic[T]):
    """One page of a search: ``page_index`` counts from 0."""

    data: list[T]
    page_index: int
    page_size: int
    total: int


class DownloadedFile(Model):
    """A file the API sent: its bytes, media type and the name it suggested."""

    content: bytes
    media_type: str
    file_name: str | None = None


# --- analytics -------------------------------------------------------------------------------------------


class FitnessDay(Model):
    """One day's load: ``tsb`` is how the day starts (yesterday's CTL less yesterday's ATL)."""

    date: dt.date
    tss: float
    planned_tss: float | None = None
    ctl: float
    atl: float
    tsb: float
    ramp_rate: float | None = None
    projected: bool = False


class Fitness(Model):
    """Daily training load: CTL (fitness), ATL (fatigue) and TSB (form)."""

    start_date: dt.date
    end_date: dt.date
    days: list[FitnessDay]


class SeasonPowerPoint(Model):
    seconds: int
    watts: float
    watts_per_kg: float | None = None
    activity_id: int | None = None
    date: dt.date | None = None


class SeasonPowerCurve(Model):
    start_date: dt.date
    end_date: dt.date
    weight_kg: float | None = None
    points: list[SeasonPowerPoint]


class FtpEvidence(Model):
    activity_id: int
    date: dt.date
    seconds: int
    watts: float


class FtpEstimate(Model):
    method: str
    ftp: int | None = None
    current_ftp: int
    based_on: list[FtpEvidence] = []


class DoneTotals(Model):
    rides: int
    seconds: int
    distance_meters: float
    elevation_gain_meters: float
    work_kj: float
    tss: float
    power_zone_seconds: list[int] = []
    heart_rate_zone_seconds: list[int] = []


class PlannedTotals(Model):
    workouts: int
    seconds: int
    tss: float
    power_zone_seconds: list[int] = []


class SummaryPeriod(Model):
    start_date: dt.date
    end_date: dt.date
    done: DoneTotals
    planned: PlannedTotals
    compliance_percent: int | None = None


class TrainingSummary(Model):
    period: Literal["week", "month"]
    periods: list[SummaryPeriod]
