"""The API's operations grouped by resource, blocking (``Calendar``...) and awaitable (``AsyncCalendar``...).

Each method is one line over a description in ``_calls``; the two families differ only by ``await``.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator, Mapping
from typing import Any, Literal, Protocol, TypeVar

from trainerday import _calls as calls
from trainerday._calls import UNSET, DateLike, FileInput, WorkoutFormat
from trainerday._models import (
    Activity,
    Athlete,
    CalendarEvent,
    Connection,
    DownloadedFile,
    FindPage,
    Fitness,
    FtpChange,
    FtpEstimate,
    Page,
    PlannedWorkout,
    PowerCurve,
    SeasonPowerCurve,
    TrainingSummary,
    Workout,
)

T = TypeVar("T")
Streams = dict[str, builtins.list[float | None] | None]
WorkoutSpec = PlannedWorkout | Mapping[str, Any]
MAX_PAGE_SIZE = 100


class Runner(Protocol):
    def __call__(self, call: calls.Call[T], /) -> T: ...


class AsyncRunner(Protocol):
    def __call__(self, call: calls.Call[T], /) -> Awaitable[T]: ...


class _Sync:
    def __init__(self, run: Runner) -> None:
        self._run = run


class _Async:
    def __init__(self, run: AsyncRunner) -> None:
        self._run = run


def _changes(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not UNSET}


# --- athlete ---------------------------------------------------------------------------------------------


class AthleteResource(_Sync):
    """``client.athlete``: the profile, FTP and zones of the athlete the token belongs to, and analytics."""

    def get(self) -> Athlete:
        """The profile with its power and heart-rate zones."""
        return self._run(calls.athlete_get())

    def update(
        self,
        *,
        name: str = UNSET,
        weight_kg: float | None = UNSET,
        ftp: int = UNSET,
        lthr: int | None = UNSET,
        max_heart_rate: int | None = UNSET,
        resting_heart_rate: int | None = UNSET,
        timezone: str = UNSET,
        units: Literal["metric", "imperial"] = UNSET,
    ) -> Athlete:
        """Change only the fields given; ``None`` clears an optional one (weight, LTHR, heart rates)."""
        changes = _changes(
            name=name, weight_kg=weight_kg, ftp=ftp, lthr=lthr, max_heart_rate=max_heart_rate,
            resting_heart_rate=resting_heart_rate, timezone=timezone, units=units,
        )  # fmt: skip
        return self._run(calls.athlete_update(changes))

    def ftp_history(self) -> builtins.list[FtpChange]:
        return self._run(calls.athlete_ftp_history())

    def connections(self) -> builtins.list[Connection]:
        """The apps connected through OAuth."""
        return self._run(calls.athlete_connections())

    def disconnect(self, client_id: str) -> None:
        """Disconnect an app: every token it holds stops working."""
        return self._run(calls.athlete_disconnect(client_id))

    def fitness(self, start: DateLike, end: DateLike, *, project_planned: bool = False) -> Fitness:
        """Daily TSS, CTL, ATL and TSB from ``start`` to ``end``."""
        return self._run(calls.athlete_fitness(start, end, project_planned))

    def power_curve(self, start: DateLike, end: DateLike) -> SeasonPowerCurve:
        """The best power for each duration over every ride in the range."""
        return self._run(calls.athlete_power_curve(start, end))

    def ftp_estimate(self) -> FtpEstimate:
        return self._run(calls.athlete_ftp_estimate())

    def summary(
        self, start: DateLike, end: DateLike, *, period: Literal["week", "month"] = "week"
    ) -> TrainingSummary:
        """Done against planned, per week or month."""
        return self._run(calls.athlete_summary(start, end, period))


class AsyncAthleteResource(_Async):
    """``client.athlete`` of an ``AsyncClient``: see ``AthleteResource``."""

    async def get(self) -> Athlete:
        return await self._run(calls.athlete_get())

    async def update(
        self,
        *,
        name: str = UNSET,
        weight_kg: float | None = UNSET,
        ftp: int = UNSET,
        lthr: int | None = UNSET,
        max_heart_rate: int | None = UNSET,
        resting_heart_rate: int | None = UNSET,
        timezone: str = UNSET,
        units: Literal["metric", "imperial"] = UNSET,
    ) -> Athlete:
        changes = _changes(
            name=name, weight_kg=weight_kg, ftp=ftp, lthr=lthr, max_heart_rate=max_heart_rate,
            resting_heart_rate=resting_heart_rate, timezone=timezone, units=units,
        )  # fmt: skip
        return await self._run(calls.athlete_update(changes))

    async def ftp_history(self) -> builtins.list[FtpChange]:
        return await self._run(calls.athlete_ftp_history())

    async def connections(self) -> builtins.list[Connection]:
        return await self._run(calls.athlete_connections())

    async def disconnect(self, client_id: str) -> None:
        return await self._run(calls.athlete_disconnect(client_id))

    async def fitness(self, start: DateLike, end: DateLike, *, project_planned: bool = False) -> Fitness:
        return await self._run(calls.athlete_fitness(start, end, project_planned))

    async def power_curve(self, start: DateLike, end: DateLike) -> SeasonPowerCurve:
        return await self._run(calls.athlete_power_curve(start, end))

    async def ftp_estimate(self) -> FtpEstimate:
        return await self._run(calls.athlete_ftp_estimate())

    async def summary(
        self, start: DateLike, end: DateLike, *, period: Literal["week", "month"] = "week"
    ) -> TrainingSummary:
        return await self._run(calls.athlete_summary(start, end, period))


# --- calendar --------------------------------------------------------------------------------------------


class Calendar(_Sync):
    """``client.calendar``: planned workouts and notes by date."""

    def list(self, start: DateLike, end: DateLike) -> builtins.list[CalendarEvent]:
        """The events from ``start`` to ``end`` inclusive (at most 366 days), by date."""
        return self._run(calls.calendar_list(start, end))

    def get(self, event_id: int) -> CalendarEvent:
        return self._run(calls.calendar_get(event_id))

    def create_event(
        self,
        calendar_date: DateLike,
        *,
        workout: WorkoutSpec | None = None,
        workout_id: int | None = None,
        title: str | None = None,
        notes: str | None = None,
        type: Literal["workout", "note"] | None = None,
    ) -> CalendarEvent:
        """Plan a workout (``workout`` as a body, or ``workout_id`` from the library, which is copied) or
        add a note (``notes``/``title`` alone). Sent with an Idempotency-Key: a retry never plans it twice."""
        return self._run(
            calls.calendar_create(
                calendar_date=calendar_date, workout=workout, workout_id=workout_id, title=title, notes=notes,
                type=type,
            )
        )  # fmt: skip

    def add_note(self, calendar_date: DateLike, notes: str, *, title: str | None = None) -> CalendarEvent:
        return self.create_event(calendar_date, notes=notes, title=title, type="note")

    def update_event(
        self,
        event_id: int,
        calendar_date: DateLike,
        *,
        workout: WorkoutSpec | None = None,
        workout_id: int | None = None,
        title: str | None = None,
        notes: str | None = None,
        type: Literal["workout", "note"] | None = None,
    ) -> CalendarEvent:
        """Replace an event (what is not given is cleared)."""
        return self._run(
            calls.calendar_replace(
                event_id, calendar_date=calendar_date, workout=workout, workout_id=workout_id, title=title,
                notes=notes, type=type,
            )
        )  # fmt: skip

    def delete_event(self, event_id: int) -> None:
        return self._run(calls.calendar_delete(event_id))

    def export(self, event_id: int, fmt: WorkoutFormat = "zwo") -> DownloadedFile:
        """The planned workout as a ZWO, ERG, MRC or FIT file."""
        return self._run(calls.calendar_export(event_id, fmt))

    def chart(self, event_id: int) -> str:
        """The planned workout's power profile, as SVG."""
        return self._run(calls.calendar_chart(event_id))


class AsyncCalendar(_Async):
    """``client.calendar`` of an ``AsyncClient``: see ``Calendar``."""

    async def list(self, start: DateLike, end: DateLike) -> builtins.list[CalendarEvent]:
        return await self._run(calls.calendar_list(start, end))

    async def get(self, event_id: int) -> CalendarEvent:
        return await self._run(calls.calendar_get(event_id))

    async def create_event(
        self,
        calendar_date: DateLike,
        *,
        workout: WorkoutSpec | None = None,
        workout_id: int | None = None,
        title: str | None = None,
        notes: str | None = None,
        type: Literal["workout", "note"] | None = None,
    ) -> CalendarEvent:
        return await self._run(
            calls.calendar_create(
                calendar_date=calendar_date, workout=workout, workout_id=workout_id, title=title, notes=notes,
                type=type,
            )
        )  # fmt: skip

    async def add_note(
        self, calendar_date: DateLike, notes: str, *, title: str | None = None
    ) -> CalendarEvent:
        return await self.create_event(calendar_date, notes=notes, title=title, type="note")

    async def update_event(
        self,
        event_id: int,
        calendar_date: DateLike,
        *,
        workout: WorkoutSpec | None = None,
        workout_id: int | None = None,
        title: str | None = None,
        notes: str | None = None,
        type: Literal["workout", "note"] | None = None,
    ) -> CalendarEvent:
        return await self._run(
            calls.calendar_replace(
                event_id, calendar_date=calendar_date, workout=workout, workout_id=workout_id, title=title,
                notes=notes, type=type,
            )
        )  # fmt: skip

    async def delete_event(self, event_id: int) -> None:
        return await self._run(calls.calendar_delete(event_id))

    async def export(self, event_id: int, fmt: WorkoutFormat = "zwo") -> DownloadedFile:
        return await self._run(calls.calendar_export(event_id, fmt))

    async def chart(self, event_id: int) -> str:
        return await self._run(calls.calendar_chart(event_id))


# --- workouts --------------------------------------------------------------------------------------------


class Workouts(_Sync):
    """``client.workouts``: the workout library."""

    def list(self, *, page: int = 1, page_size: int = 20) -> Page[Workout]:
        """One page, newest first (``page`` counts from 1)."""
        return self._run(calls.workouts_list(page, page_size))

    def iter_all(self, *, page_size: int = MAX_PAGE_SIZE) -> Iterator[Workout]:
        """Every workout, newest first, fetching pages as needed."""
        page = 1
        seen: set[int] = set()
        while True:
            batch = self.list(page=page, page_size=page_size)
            for workout in batch.data:
                if workout.id not in seen:  # a workout added meanwhile shifts the pages by one
                    seen.add(workout.id)
                    yield workout
            if not batch.data or page * page_size >= batch.total:
                return
            page += 1

    def find(
        self,
        *,
        name: str | None = None,
        dominant_zone: int | None = None,
        from_minutes: float | None = None,
        to_minutes: float | None = None,
        page_index: int = 0,
        page_size: int = 20,
    ) -> FindPage[Workout]:
        """Search by part of the title, dominant zone (1-7) and duration; ``page_index`` counts from 0."""
        return self._run(
            calls.workouts_find(name, dominant_zone, from_minutes, to_minutes, page_index, page_size)
        )

    def get(self, workout_id: int) -> Workout:
        return self._run(calls.workouts_get(workout_id))

    def create(
        self,
        title: str,
        segments: Iterable[Iterable[Any]],
        *,
        description: str | None = None,
        tags: builtins.list[str] | None = None,
        duration_minutes: float | None = None,
    ) -> Workout:
        """Add a workout; segments are ``[minutes, start %FTP, end %FTP]``, optionally with cadence, type
        and text."""
        body = calls.workout_body(title, segments, description, tags, duration_minutes)
        return self._run(calls.workouts_create(body))

    def update(
        self,
        workout_id: int,
        title: str,
        segments: Iterable[Iterable[Any]],
        *,
        description: str | None = None,
        tags: builtins.list[str] | None = None,
        duration_minutes: float | None = None,
    ) -> Workout:
        """Replace a workout (what is not given is cleared). Planned copies are not changed."""
        body = calls.workout_body(title, segments, description, tags, duration_minutes)
        return self._run(calls.workouts_replace(workout_id, body))

    def delete(self, workout_id: int) -> None:
        return self._run(calls.workouts_delete(workout_id))

    def import_file(self, file: FileInput, *, file_name: str | None = None) -> Workout:
        """Add a workout from a ZWO, ERG, MRC or FIT file (a path, bytes or an open binary file)."""
        return self._run(calls.workouts_import(file, file_name))

    def export(self, workout_id: int, fmt: WorkoutFormat = "zwo") -> DownloadedFile:
        """The workout as a ZWO, ERG (watts at your FTP), MRC or FIT file."""
        return self._run(calls.workouts_export(workout_id, fmt))

    def chart(self, workout_id: int) -> str:
        """The power profile, as SVG."""
        return self._run(calls.workouts_chart(workout_id))


class AsyncWorkouts(_Async):
    """``client.workouts`` of an ``AsyncClient``: see ``Workouts``."""

    async def list(self, *, page: int = 1, page_size: int = 20) -> Page[Workout]:
        return await self._run(calls.workouts_list(page, page_size))

    async def iter_all(self, *, page_size: int = MAX_PAGE_SIZE) -> AsyncIterator[Workout]:
        page = 1
        seen: set[int] = set()
        while True:
            batch = await self.list(page=page, page_size=page_size)
            for workout in batch.data:
                if workout.id not in seen:
                    seen.add(workout.id)
                    yield workout
            if not batch.data or page * page_size >= batch.total:
                return
            page += 1

    async def find(
        self,
        *,
        name: str | None = None,
        dominant_zone: int | None = None,
        from_minutes: float | None = None,
        to_minutes: float | None = None,
        page_index: int = 0,
        page_size: int = 20,
    ) -> FindPage[Workout]:
        return await self._run(
            calls.workouts_find(name, dominant_zone, from_minutes, to_minutes, page_index, page_size)
        )

    async def get(self, workout_id: int) -> Workout:
        return await self._run(calls.workouts_get(workout_id))

    async def create(
        self,
        title: str,
        segments: Iterable[Iterable[Any]],
        *,
        description: str | None = None,
        tags: builtins.list[str] | None = None,
        duration_minutes: float | None = None,
    ) -> Workout:
        body = calls.workout_body(title, segments, description, tags, duration_minutes)
        return await self._run(calls.workouts_create(body))

    async def update(
        self,
        workout_id: int,
        title: str,
        segments: Iterable[Iterable[Any]],
        *,
        description: str | None = None,
        tags: builtins.list[str] | None = None,
        duration_minutes: float | None = None,
    ) -> Workout:
        body = calls.workout_body(title, segments, description, tags, duration_minutes)
        return await self._run(calls.workouts_replace(workout_id, body))

    async def delete(self, workout_id: int) -> None:
        return await self._run(calls.workouts_delete(workout_id))

    async def import_file(self, file: FileInput, *, file_name: str | None = None) -> Workout:
        return await self._run(calls.workouts_import(file, file_name))

    async def export(self, workout_id: int, fmt: WorkoutFormat = "zwo") -> DownloadedFile:
        return await self._run(calls.workouts_export(workout_id, fmt))

    async def chart(self, workout_id: int) -> str:
        return await self._run(calls.workouts_chart(workout_id))


# --- activities ------------------------------------------------------------------------------------------


class Activities(_Sync):
    """``client.activities``: uploaded rides, their metrics, samples and files."""

    def upload(
        self,
        file: FileInput,
        *,
        name: str | None = None,
        description: str | None = None,
        external_id: str | None = None,
        file_name: str | None = None,
    ) -> Activity:
        """Upload a FIT, TCX or GPX file (each also gzipped): a path, bytes or an open binary file. A
        duplicate raises ``ConflictError`` whose ``existing_id`` is the activity already stored."""
        return self._run(
            calls.activities_upload(
                file, name=name, description=description, external_id=external_id, file_name=file_name
            )
        )

    def list(
        self,
        *,
        page: int = 1,
        page_size: int = 20,
        start_date: DateLike | None = None,
        end_date: DateLike | None = None,
    ) -> Page[Activity]:
        """One page, newest first; the dates (inclusive) are the rides' local dates."""
        return self._run(calls.activities_list(page, page_size, start_date, end_date))

    def iter_all(
        self,
        *,
        start_date: DateLike | None = None,
        end_date: DateLike | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[Activity]:
        """Every ride (in the date range, if given), newest first, fetching pages as needed."""
        page = 1
        seen: set[int] = set()
        while True:
            batch = self.list(page=page, page_size=page_size, start_date=start_date, end_date=end_date)
            for activity in batch.data:
                if activity.id not in seen:  # a ride uploaded meanwhile shifts the pages by one
                    seen.add(activity.id)
                    yield activity
            if not batch.data or page * page_size >= batch.total:
                return
            page += 1

    def get(self, activity_id: int) -> Activity:
        """One ride with every metric, its zones, power curve, warnings and file."""
        return self._run(calls.activities_get(activity_id))

    def update(self, activity_id: int, *, name: str = UNSET, description: str | None = UNSET) -> Activity:
        return self._run(calls.activities_update(activity_id, name, description))

    def delete(self, activity_id: int) -> None:
        """Delete the ride and its stored file."""
        return self._run(calls.activities_delete(activity_id))

    def streams(self, activity_id: int, types: Iterable[str] | None = None) -> Streams:
        """The samples as lists aligned on ``time`` (seconds since the start); ``None`` where missing."""
        return self._run(calls.activities_streams(activity_id, types))

    def power_curve(self, activity_id: int) -> PowerCurve:
        return self._run(calls.activities_power_curve(activity_id))

    def download(self, activity_id: int) -> DownloadedFile:
        """The original upload, byte for byte."""
        return self._run(calls.activities_file(activity_id))

    def download_fit(self, activity_id: int) -> DownloadedFile:
        """The ride as a FIT file (the original if it was one, else written from the samples)."""
        return self._run(calls.activities_fit(activity_id))

    def recompute(self, since: DateLike | dt.date) -> int:
        """Recompute the metrics of rides since a date (after an FTP or zone change); how many were."""
        return self._run(calls.activities_recompute(since))


class AsyncActivities(_Async):
    """``client.activities`` of an ``AsyncClient``: see ``Activities``."""

    async def upload(
        self,
        file: FileInput,
        *,
        name: str | None = None,
        description: str | None = None,
        external_id: str | None = None,
        file_name: str | None = None,
    ) -> Activity:
        return await self._run(
            calls.activities_upload(
                file, name=name, description=description, external_id=external_id, file_name=file_name
            )
        )

    async def list(
        self,
        *,
        page: int = 1,
        page_size: int = 20,
        start_date: DateLike | None = None,
        end_date: DateLike | None = None,
    ) -> Page[Activity]:
        return await self._run(calls.activities_list(page, page_size, start_date, end_date))

    async def iter_all(
        self,
        *,
        start_date: DateLike | None = None,
        end_date: DateLike | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[Activity]:
        page = 1
        seen: set[int] = set()
        while True:
            batch = await self.list(page=page, page_size=page_size, start_date=start_date, end_date=end_date)
            for activity in batch.data:
                if activity.id not in seen:
                    seen.add(activity.id)
                    yield activity
            if not batch.data or page * page_size >= batch.total:
                return
            page += 1

    async def get(self, activity_id: int) -> Activity:
        return await self._run(calls.activities_get(activity_id))

    async def update(
        self, activity_id: int, *, name: str = UNSET, description: str | None = UNSET
    ) -> Activity:
        return await self._run(calls.activities_update(activity_id, name, description))

    async def delete(self, activity_id: int) -> None:
        return await self._run(calls.activities_delete(activity_id))

    async def streams(self, activity_id: int, types: Iterable[str] | None = None) -> Streams:
        return await self._run(calls.activities_streams(activity_id, types))

    async def power_curve(self, activity_id: int) -> PowerCurve:
        return await self._run(calls.activities_power_curve(activity_id))

    async def download(self, activity_id: int) -> DownloadedFile:
        return await self._run(calls.activities_file(activity_id))

    async def download_fit(self, activity_id: int) -> DownloadedFile:
        return await self._run(calls.activities_fit(activity_id))

    async def recompute(self, since: DateLike) -> int:
        return await self._run(calls.activities_recompute(since))
