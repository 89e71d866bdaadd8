"""Each API operation, described once: method, path, parameters and how to read the answer.

``Client`` and ``AsyncClient`` run the same descriptions, one blocking and one with ``await``, so the two can
never drift apart in what they send or how they parse it.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, Literal, TypeVar
from urllib.parse import quote, unquote

import httpx
from pydantic import TypeAdapter

from trainerday._exceptions import TrainerDayError
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
DateLike = dt.date | str
WorkoutFormat = Literal["zwo", "erg", "mrc", "fit"]
FileInput = str | Path | bytes | IO[bytes]
STREAM_TYPES = (
    "power",
    "heartRate",
    "cadence",
    "speed",
    "distance",
    "altitude",
    "latitude",
    "longitude",
    "temperature",
)


class _Unset:
    """Marks a keyword argument as not given, where ``None`` means 'clear this field'."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: dict[str, Any] | None = None
    json: Any = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    data: dict[str, str] | None = None
    creates: bool = False  # sends an Idempotency-Key, so that retrying it never creates twice
    headers: dict[str, str] = field(default_factory=dict)


def iso_date(value: DateLike) -> str:
    if isinstance(value, dt.datetime):
        raise TypeError("pass a date, not a datetime")
    if isinstance(value, dt.date):
        return value.isoformat()
    return dt.date.fromisoformat(value).isoformat()  # refuses a malformed string before it is sent


def _model(kind: type[T]) -> Callable[[httpx.Response], T]:
    adapter: TypeAdapter[T] = TypeAdapter(kind)
    return lambda response: adapter.validate_json(response.content)


def _data_list(kind: type[T]) -> Callable[[httpx.Response], list[T]]:
    adapter: TypeAdapter[list[T]] = TypeAdapter(list[kind])  # type: ignore[valid-type]
    return lambda response: adapter.validate_python(response.json()["data"])


def _nothing(response: httpx.Response) -> None:
    return None


def _text(response: httpx.Response) -> str:
    return response.text


_FILENAME_STAR = re.compile(r"filename\*=UTF-8''([^;]+)", re.IGNORECASE)
_FILENAME = re.compile(r'filename="([^"]*)"', re.IGNORECASE)


def _file(response: httpx.Response) -> DownloadedFile:
    disposition = response.headers.get("content-disposition", "")
    found = _FILENAME_STAR.search(disposition)
    name = unquote(found.group(1)) if found else None
    if name is None and (plain := _FILENAME.search(disposition)):
        name = plain.group(1)
    media_type = response.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
    # Never a path, nor a hidden file such as .bashrc: the name only ever lands inside the folder the caller
    # chose, as a visible file.
    safe_name = Path(name.replace("\\", "/")).name.lstrip(". ") if name else None
    return DownloadedFile(content=response.content, media_type=media_type, file_name=safe_name or None)


def _compact(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _multipart() -> dict[str, str]:
    # One boundary per operation, not per attempt: a retried upload is then the same bytes, which a server
    # comparing an Idempotency-Key's requests needs.
    return {"Content-Type": f"multipart/form-data; boundary={secrets.token_hex(16)}"}


def read_file_input(file: FileInput, file_name: str | None) -> tuple[str, bytes]:
    """The name and bytes of an upload: read whole, so that a retry can send them again."""
    if isinstance(file, str | Path):
        path = Path(file)
        return file_name or path.name, path.read_bytes()
    if isinstance(file, bytes | bytearray):
        return file_name or "upload", bytes(file)
    content = file.read()
    return file_name or Path(str(getattr(file, "name", "upload"))).name, content


def workout_body(
    title: str,
    segments: Iterable[Iterable[Any]],
    description: str | None,
    tags: list[str] | None,
    duration_minutes: float | None,
) -> dict[str, Any]:
    return _compact(
        {
            "title": title,
            "segments": [list(segment) for segment in segments],
            "description": description,
            "tags": tags,
            "durationMinutes": duration_minutes,
        }
    )


# --- athlete ---------------------------------------------------------------------------------------------

_ATHLETE_FIELDS = {
    "name": "name",
    "weight_kg": "weightKg",
    "ftp": "ftp",
    "lthr": "lthr",
    "max_heart_rate": "maxHeartRate",
    "resting_heart_rate": "restingHeartRate",
    "timezone": "timezone",
    "units": "units",
}


def athlete_get() -> Call[Athlete]:
    return Call("GET", "/api/v1/athlete", _model(Athlete))


def athlete_update(changes: Mapping[str, Any]) -> Call[Athlete]:
    unknown = set(changes) - set(_ATHLETE_FIELDS)
    if unknown:
        raise TypeError(f"unknown athlete field(s): {', '.join(sorted(unknown))}")
    body = {_ATHLETE_FIELDS[k]: v for k, v in changes.items() if v is not UNSET}
    return Call("PATCH", "/api/v1/athlete", _model(Athlete), json=body)


def athlete_ftp_history() -> Call[list[FtpChange]]:
    return Call("GET", "/api/v1/athlete/ftp-history", _data_list(FtpChange))


def athlete_connections() -> Call[list[Connection]]:
    return Call("GET", "/api/v1/athlete/connections", _data_list(Connection))


def athlete_disconnect(client_id: str) -> Call[None]:
    return Call("DELETE", f"/api/v1/athlete/connections/{quote(client_id, safe='')}", _nothing)


def athlete_fitness(start: DateLike, end: DateLike, project_planned: bool) -> Call[Fitness]:
    params = {
        "startDate": iso_date(start),
        "endDate": iso_date(end),
        "projectPlanned": str(project_planned).lower(),
    }
    return Call("GET", "/api/v1/athlete/fitness", _model(Fitness), params=params)


def athlete_power_curve(start: DateLike, end: DateLike) -> Call[SeasonPowerCurve]:
    params = {"startDate": iso_date(start), "endDate": iso_date(end)}
    return Call("GET", "/api/v1/athlete/power-curve", _model(SeasonPowerCurve), params=params)


def athlete_ftp_estimate() -> Call[FtpEstimate]:
    return Call("GET", "/api/v1/athlete/ftp-estimate", _model(FtpEstimate))


def athlete_summary(start: DateLike, end: DateLike, period: str) -> Call[TrainingSummary]:
    if period not in ("week", "month"):
        raise ValueError("period must be 'week' or 'month'")
    params = {"startDate": iso_date(start), "endDate": iso_date(end), "period": period}
    return Call("GET", "/api/v1/athlete/summary", _model(TrainingSummary), params=params)


# --- calendar --------------------------------------------------------------------------------------------


def _event_body(
    calendar_date: DateLike,
    workout: PlannedWorkout | Mapping[str, Any] | None,
    workout_id: int | None,
    title: str | None,
    notes: str | None,
    type: str | None,
) -> dict[str, Any]:
    embed: Any = workout
    if isinstance(workout, PlannedWorkout):
        embed = {
            "title": workout.title,
            "description": workout.description or None,
            "tags": workout.tags or None,
            "segments": workout.segments,
        }
        embed = _compact(embed)
    return _compact(
        {
            "calendarDate": iso_date(calendar_date),
            "embedWorkout": embed,
            "workoutId": workout_id,
            "title": title,
            "notes": notes,
            "type": type,
        }
    )


def calendar_list(start: DateLike, end: DateLike) -> Call[list[CalendarEvent]]:
    params = {"startDate": iso_date(start), "endDate": iso_date(end)}
    return Call("GET", "/api/v1/calendar", _data_list(CalendarEvent), params=params)


def calendar_get(event_id: int) -> Call[CalendarEvent]:
    return Call("GET", f"/api/v1/calendar/events/{int(event_id)}", _model(CalendarEvent))


def calendar_create(**body: Any) -> Call[CalendarEvent]:
    return Call(
        "POST", "/api/v1/calendar/events", _model(CalendarEvent), json=_event_body(**body), creates=True
    )


def calendar_replace(event_id: int, **body: Any) -> Call[CalendarEvent]:
    return Call(
        "PUT", f"/api/v1/calendar/events/{int(event_id)}", _model(CalendarEvent), json=_event_body(**body)
    )


def calendar_delete(event_id: int) -> Call[None]:
    return Call("DELETE", f"/api/v1/calendar/events/{int(event_id)}", _nothing)


def calendar_export(event_id: int, fmt: WorkoutFormat) -> Call[DownloadedFile]:
    return Call("GET", f"/api/v1/calendar/events/{int(event_id)}/export", _file, params={"format": fmt})


def calendar_chart(event_id: int) -> Call[str]:
    return Call("GET", f"/api/v1/calendar/events/{int(event_id)}/chart.svg", _text)


# --- workouts --------------------------------------------------------------------------------------------


def workouts_list(page: int, page_size: int) -> Call[Page[Workout]]:
    return Call(
        "GET", "/api/v1/workouts", _model(Page[Workout]), params={"page": page, "pageSize": page_size}
    )


def workouts_find(
    name: str | None,
    dominant_zone: int | None,
    from_minutes: float | None,
    to_minutes: float | None,
    page_index: int,
    page_size: int,
) -> Call[FindPage[Workout]]:
    params = _compact(
        {
            "workoutName": name,
            "dominantZone": dominant_zone,
            "fromMinutes": from_minutes,
            "toMinutes": to_minutes,
            "pageIndex": page_index,
            "pageSize": page_size,
        }
    )
    return Call("GET", "/api/v1/workouts/find", _model(FindPage[Workout]), params=params)


def workouts_get(workout_id: int) -> Call[Workout]:
    return Call("GET", f"/api/v1/workouts/{int(workout_id)}", _model(Workout))


def workouts_create(body: dict[str, Any]) -> Call[Workout]:
    return Call("POST", "/api/v1/workouts", _model(Workout), json=body, creates=True)


def workouts_replace(workout_id: int, body: dict[str, Any]) -> Call[Workout]:
    return Call("PUT", f"/api/v1/workouts/{int(workout_id)}", _model(Workout), json=body)


def workouts_delete(workout_id: int) -> Call[None]:
    return Call("DELETE", f"/api/v1/workouts/{int(workout_id)}", _nothing)


def workouts_import(file: FileInput, file_name: str | None) -> Call[Workout]:
    name, content = read_file_input(file, file_name)
    files = {"file": (name, content, "application/octet-stream")}
    return Call(
        "POST", "/api/v1/workouts/import", _model(Workout), files=files, creates=True, headers=_multipart()
    )


def workouts_export(workout_id: int, fmt: WorkoutFormat) -> Call[DownloadedFile]:
    return Call("GET", f"/api/v1/workouts/{int(workout_id)}/export", _file, params={"format": fmt})


def workouts_chart(workout_id: int) -> Call[str]:
    return Call("GET", f"/api/v1/workouts/{int(workout_id)}/chart.svg", _text)


# --- activities ------------------------------------------------------------------------------------------


def activities_upload(
    file: FileInput,
    *,
    name: str | None,
    description: str | None,
    external_id: str | None,
    file_name: str | None,
) -> Call[Activity]:
    upload_name, content = read_file_input(file, file_name)
    if not content:
        raise TrainerDayError(f"{upload_name}: the file is empty")
    files = {"file": (upload_name, content, "application/octet-stream")}
    data = _compact({"name": name, "description": description, "externalId": external_id})
    return Call(
        "POST",
        "/api/v1/activities/upload",
        _model(Activity),
        files=files,
        data=data,
        creates=True,
        headers=_multipart(),
    )


def activities_list(
    page: int, page_size: int, start_date: DateLike | None, end_date: DateLike | None
) -> Call[Page[Activity]]:
    params = _compact(
        {
            "page": page,
            "pageSize": page_size,
            "startDate": iso_date(start_date) if start_date is not None else None,
            "endDate": iso_date(end_date) if end_date is not None else None,
        }
    )
    return Call("GET", "/api/v1/activities", _model(Page[Activity]), params=params)


def activities_get(activity_id: int) -> Call[Activity]:
    return Call("GET", f"/api/v1/activities/{int(activity_id)}", _model(Activity))


def activities_update(activity_id: int, name: Any, description: Any) -> Call[Activity]:
    body = {k: v for k, v in {"name": name, "description": description}.items() if v is not UNSET}
    return Call("PATCH", f"/api/v1/activities/{int(activity_id)}", _model(Activity), json=body)


def activities_delete(activity_id: int) -> Call[None]:
    return Call("DELETE", f"/api/v1/activities/{int(activity_id)}", _nothing)


def _streams(response: httpx.Response) -> dict[str, list[float | None] | None]:
    body: dict[str, list[float | None] | None] = response.json()
    return body


def activities_streams(
    activity_id: int, types: Iterable[str] | None
) -> Call[dict[str, list[float | None] | None]]:
    params = None
    if types is not None:
        wanted = list(types)
        unknown = [t for t in wanted if t not in STREAM_TYPES]
        if unknown:
            raise ValueError(f"unknown stream type(s) {unknown}; known: {', '.join(STREAM_TYPES)}")
        params = {"types": ",".join(wanted)}
    return Call("GET", f"/api/v1/activities/{int(activity_id)}/streams", _streams, params=params)


def activities_power_curve(activity_id: int) -> Call[PowerCurve]:
    return Call("GET", f"/api/v1/activities/{int(activity_id)}/power-curve", _model(PowerCurve))


def activities_file(activity_id: int) -> Call[DownloadedFile]:
    return Call("GET", f"/api/v1/activities/{int(activity_id)}/file", _file)


def activities_fit(activity_id: int) -> Call[DownloadedFile]:
    return Call("GET", f"/api/v1/activities/{int(activity_id)}/fit", _file)


def activities_recompute(since: DateLike) -> Call[int]:
    def parse(response: httpx.Response) -> int:
        return int(response.json()["recomputed"])

    return Call(
        "POST", "/api/v1/activities/recompute", parse, params={"since": iso_date(since)}, creates=True
    )
