from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field

from trainerday_server.schemas import ApiModel, ApiOut, IsoDate


class EmbedWorkoutIn(ApiModel):
    title: str = Field(min_length=1, max_length=200)
    duration_minutes: float | None = Field(
        default=None,
        gt=0,
        description="Optional; must agree with the segments' total (to within half a minute).",
    )
    segments: list[Any] = Field(
        description="Each [minutes, start %FTP, end %FTP] (a ramp when they differ), optionally followed by "
        "cadenceStart, cadenceEnd, type, text.",
        examples=[[[10, 50, 50], [10, 60, 60], [10, 45, 45]]],
    )


class EventIn(ApiModel):
    calendar_date: IsoDate
    type: Literal["workout", "note"] | None = Field(
        default=None, description="Defaults to workout when embedWorkout is present, else note."
    )
    title: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=10_000)
    embed_workout: EmbedWorkoutIn | None = None


class EmbedWorkoutOut(ApiOut):
    title: str
    duration_minutes: float
    segments: list[list[Any]]


class CompletedActivityOut(ApiOut):
    id: int
    name: str
    duration_seconds: int = Field(description="Timer time: recording running, pauses excluded")
    tss: float | None


class ComplianceOut(ApiOut):
    """Done against planned. ``percent`` uses TSS when both sides have it, else duration; ``status`` is green
    within 80-120 %, yellow within 50-150 %, orange beyond."""

    duration_ratio: float | None
    duration_percent: int | None
    tss_ratio: float | None
    tss_percent: int | None
    percent: int | None
    status: Literal["green", "yellow", "orange"] | None


class EventOut(ApiOut):
    id: int
    calendar_date: dt.date
    type: Literal["workout", "note"]
    title: str | None
    notes: str | None
    embed_workout: EmbedWorkoutOut | None
    workout_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    completed_activity: CompletedActivityOut | None = Field(
        default=None, description="The uploaded ride that completed this planned workout (calendar read)"
    )
    compliance: ComplianceOut | None = None


class CalendarOut(ApiOut):
    data: list[EventOut]
