"""Activity schemas: what OpenAPI documents. Responses are built by the service (``activity_json``)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from trainerday_server.activities.service import MAX_DESCRIPTION, MAX_NAME
from trainerday_server.schemas import ApiModel, ApiOut


class ActivityPatch(ApiModel):
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)


class PowerCurveOut(ApiOut):
    seconds: list[int] = Field(description="Durations, 1 s up to the whole ride")
    watts: list[float] = Field(description="Best average power held for at least each duration; never rises")


class FileOut(ApiOut):
    name: str | None
    format: str = Field(description="fit, tcx or gpx (detected from the content)")
    gzipped: bool
    size: int = Field(description="Bytes, as uploaded")


class ActivitySummaryOut(ApiOut):
    """A list item: identity and the summary figures (SI units; null where the ride lacks the channel)."""

    id: int
    name: str
    sport: str | None
    sub_sport: str | None
    start_time: dt.datetime
    start_time_local: dt.datetime = Field(
        description="The start in the athlete's time zone when the ride was uploaded: the ride's own local "
        "time, whose date is the ride's local date; it does not move when the athlete changes time zone later"
    )
    elapsed_seconds: int
    timer_seconds: int = Field(description="Recording running, pauses excluded; at most elapsedSeconds")
    moving_seconds: int = Field(description="Of the timer time, the seconds moving or pedalling")
    distance_meters: float | None
    elevation_gain_meters: float | None
    average_speed: float | None = Field(description="m/s, distance over moving time")
    max_speed: float | None
    average_power: float | None
    max_power: float | None
    normalized_power: float | None
    intensity_factor: float | None
    tss: float | None
    work_kj: float | None
    average_heart_rate: float | None
    max_heart_rate: float | None
    average_cadence: float | None
    variability_index: float | None
    ftp: int = Field(description="The FTP in force on the ride's local date, which IF and TSS use")
    calendar_event_id: int | None = Field(description="The planned workout this ride completed, if any")
    external_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class SuggestionOut(ApiOut):
    """Something a ride suggests to the athlete; nothing changes until the athlete acts on it."""

    type: str = Field(description="ftp: the ride implies an FTP above the one it was measured at")
    ftp: int = Field(description="The FTP the ride implies (95 % of its best 20 minutes)")
    current_ftp: int = Field(description="The FTP the ride was measured at")
    method: str
    message: str


class ActivityOut(ActivitySummaryOut):
    """One activity with every metric."""

    time_in_power_zones: list[int] | None = Field(description="Seconds in Coggan's zones 1-7")
    time_in_heart_rate_zones: list[int] | None = Field(description="Seconds in heart-rate zones 1-5 (LTHR)")
    power_curve: PowerCurveOut | None
    warnings: list[str] = Field(description="What was wrong with the file or its samples, and what was done")
    suggestions: list[SuggestionOut] = Field(description="E.g. a higher FTP; never applied by itself")
    description: str | None
    device: str | None
    file: FileOut


class ActivityPageOut(ApiOut):
    data: list[ActivitySummaryOut]
    page: int
    page_size: int
    total: int
