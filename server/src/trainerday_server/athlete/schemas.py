from __future__ import annotations

import datetime as dt
import importlib.resources
import zoneinfo
from functools import cache
from typing import Literal

from pydantic import Field, field_validator

from trainerday_server.schemas import ApiModel, ApiOut, Number, WholeNumber


@cache
def iana_time_zones() -> frozenset[str]:
    """The IANA zone names (from the tzdata package), without host aliases such as ``localtime`` that
    ``zoneinfo.available_timezones()`` also lists."""
    names = importlib.resources.files("tzdata").joinpath("zones").read_text().split()
    return frozenset(names) & zoneinfo.available_timezones()


class PowerZoneOut(ApiOut):
    zone: int
    name: str
    min_watts: int
    max_watts: int | None


class HeartRateZoneOut(ApiOut):
    zone: int
    name: str
    min_bpm: int
    max_bpm: int | None


class AthleteOut(ApiOut):
    id: int
    name: str
    email: str
    weight_kg: float | None
    ftp: int
    lthr: int | None
    max_heart_rate: int | None
    resting_heart_rate: int | None
    timezone: str
    units: Literal["metric", "imperial"]
    ctl_start: float | None = Field(description="CTL the day before your first ride (null: 0)")
    atl_start: float | None = Field(description="ATL the day before your first ride (null: 0)")
    power_zones: list[PowerZoneOut]
    heart_rate_zones: list[HeartRateZoneOut] = Field(description="Empty until an LTHR is set.")


class AthletePatch(ApiModel):
    """Only the fields sent change; optional physiology may be cleared with null."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    weight_kg: Number | None = Field(default=None, ge=20, le=300)
    ftp: WholeNumber | None = Field(default=None, ge=1, le=2000)
    lthr: WholeNumber | None = Field(default=None, ge=60, le=240)
    max_heart_rate: WholeNumber | None = Field(default=None, ge=80, le=250)
    resting_heart_rate: WholeNumber | None = Field(default=None, ge=20, le=150)
    timezone: str | None = Field(default=None, description="An IANA time zone such as Europe/Berlin.")
    units: Literal["metric", "imperial"] | None = None
    ctl_start: Number | None = Field(
        default=None, ge=0, le=300, description="Fitness history from elsewhere: CTL before your first ride"
    )
    atl_start: Number | None = Field(
        default=None, ge=0, le=500, description="Fatigue history from elsewhere: ATL before your first ride"
    )

    @field_validator("timezone")
    @classmethod
    def _real_time_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value not in iana_time_zones():
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin, America/Denver)")
        return value


class FtpHistoryEntry(ApiOut):
    effective_date: dt.date
    ftp: int


class FtpHistoryOut(ApiOut):
    data: list[FtpHistoryEntry]
