from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from trainerday_server.schemas import ApiModel, ApiOut
from trainerday_server.workouts.structure import (
    MAX_DESCRIPTION,
    MAX_TAG,
    MAX_TAGS,
    MAX_TITLE,
    MAX_WORKOUT_MINUTES,
)

SEGMENTS_DESCRIPTION = (
    "Each [minutes, start %FTP, end %FTP] (a ramp when they differ), optionally followed by cadenceStart, "
    "cadenceEnd (rpm), type (warmup, active, rest, recovery, cooldown, freeride) and text."
)


def _json_number(value: Any) -> Any:
    # int | float keeps what the client sent (30 stays 30, 30.0 stays 30.0; a float would make both 30.0),
    # but would also take "30" and true, which the segments' numbers do not.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    return value


JsonNumber = Annotated[int | float, BeforeValidator(_json_number)]


class WorkoutIn(ApiModel):
    """A workout: the library's body, and a calendar event's ``embedWorkout``."""

    title: str = Field(min_length=1, max_length=MAX_TITLE)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    tags: list[str] | None = Field(
        default=None, max_length=MAX_TAGS, description=f"At most {MAX_TAGS}, each up to {MAX_TAG} characters."
    )
    duration_minutes: JsonNumber | None = Field(
        default=None,
        gt=0,
        le=MAX_WORKOUT_MINUTES,
        description="Optional; must agree with the segments' total (to within half a minute). "
        "Echoed as sent: 30 stays 30, 30.0 stays 30.0.",
    )
    segments: list[Any] = Field(
        description=SEGMENTS_DESCRIPTION, examples=[[[10, 50, 50], [10, 60, 60], [10, 45, 45]]]
    )


class MetricsOut(ApiOut):
    """Planned metrics at the athlete's current FTP, computed from the workout's 1 Hz power profile."""

    duration_seconds: int
    normalized_power: float = Field(description="Watts, 30 s rolling mean, 4th-power mean, 4th root.")
    intensity_factor: float = Field(description="normalizedPower / FTP")
    tss: float
    work_kj: float
    time_in_zones: list[int] = Field(description="Seconds in each of Coggan's seven power zones, Z1 to Z7.")
    dominant_zone: int = Field(ge=1, le=7)


class PlannedWorkoutOut(ApiOut):
    title: str
    description: str
    tags: list[str]
    duration_minutes: float
    segments: list[list[Any]]


class WorkoutOut(PlannedWorkoutOut):
    id: int
    metrics: MetricsOut
    created_at: dt.datetime
    updated_at: dt.datetime


class WorkoutPage(ApiOut):
    data: list[WorkoutOut]
    page: int = Field(description="1-based")
    page_size: int
    total: int = Field(description="How many workouts there are in all.")


class WorkoutFindPage(ApiOut):
    data: list[WorkoutOut]
    page_index: int = Field(description="0-based")
    page_size: int
    total: int = Field(description="How many workouts match in all.")
