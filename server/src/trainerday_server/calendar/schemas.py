from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from trainerday_server.schemas import MAX_ID, ApiModel, ApiOut, IsoDate, WholeNumber
from trainerday_server.workouts.schemas import MetricsOut, PlannedWorkoutOut, WorkoutIn


class EventIn(ApiModel):
    calendar_date: IsoDate
    type: Literal["workout", "note"] | None = Field(
        default=None, description="Defaults to workout when embedWorkout or workoutId is present, else note."
    )
    title: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=10_000)
    embed_workout: WorkoutIn | None = Field(default=None, description="The workout to plan.")
    workout_id: WholeNumber | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="Plan a copy of this workout from your library (needs the workout:read scope too). "
        "With embedWorkout as well, embedWorkout is planned as sent and workoutId recorded as its source.",
    )


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
    embed_workout: PlannedWorkoutOut | None = Field(description="The planned workout: a copy of its own.")
    workout_id: int | None = Field(description="The library workout it was copied from, while that exists.")
    metrics: MetricsOut | None = Field(description="Planned metrics at your current FTP; null for notes.")
    created_at: dt.datetime
    updated_at: dt.datetime
    completed_activity: CompletedActivityOut | None = Field(
        default=None, description="The uploaded ride that completed this planned workout (calendar read)"
    )
    compliance: ComplianceOut | None = None


class PlannedWorkoutSummaryOut(ApiOut):
    """A planned workout in a calendar read with ``segments=false``: everything but its segments."""

    title: str
    description: str
    tags: list[str]
    duration_minutes: float
    segment_count: int = Field(description="How many segments the workout has (read the event for them).")


class CalendarEventOut(EventOut):
    embed_workout: PlannedWorkoutOut | PlannedWorkoutSummaryOut | None = Field(  # type: ignore[assignment]
        description="The planned workout; summarised (segmentCount, no segments) with segments=false."
    )


class CalendarOut(ApiOut):
    data: list[CalendarEventOut]
