"""What an AI assistant can do over MCP: each tool checks its scope, calls the domain services (never the
HTTP API), and answers twice: a short text for the model to read and structured content in the REST API's own
shapes (camelCase, ISO 8601 dates) under a typed output schema.

Tools run in the SDK's worker threads, each in its own unit of work (``session_scope``): committed when the
tool returns, rolled back if it raised, so a refused call writes nothing. Domain errors come back as tool
errors carrying the service's own message, which names the argument at fault.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal, TypeVar

import anyio
import orjson
import sqlalchemy as sa
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field, ValidationError
from sqlalchemy.orm import Session

from trainerday_server import idempotency
from trainerday_server.activities import service as activities
from trainerday_server.activities.schemas import ActivityOut, ActivityPageOut
from trainerday_server.analytics import service as analytics
from trainerday_server.analytics.schemas import FitnessOut, SeasonPowerCurveOut
from trainerday_server.athlete import service as athletes
from trainerday_server.athlete.schemas import AthleteOut
from trainerday_server.calendar import service as calendar
from trainerday_server.calendar.schemas import CompletedActivityOut, EventIn, EventOut
from trainerday_server.db import session_scope
from trainerday_server.errors import TrainerDayError
from trainerday_server.mcp.endpoint import CALLER_KEY, Caller
from trainerday_server.models import CalendarEvent, IdempotencyRecord
from trainerday_server.schemas import MAX_ID, ApiOut
from trainerday_server.workouts import service as workouts
from trainerday_server.workouts.schemas import WorkoutFindPage
from trainerday_server.workouts.structure import MAX_WORKOUT_MINUTES

T = TypeVar("T")

UNITS = (
    "Units: power as % of the athlete's FTP (100 = FTP), durations in minutes, dates YYYY-MM-DD in the "
    "athlete's own time zone (get_profile tells today's date there)."
)
SEGMENTS_HELP = (
    "Segments: a list of [minutes, start %FTP, end %FTP], e.g. [[10, 50, 75], [20, 90, 90], [5, 50, 50]] "
    "is a 10-minute ramp from 50 to 75 % FTP, 20 minutes at 90 %, 5 minutes easy. Optional 4th to 7th items: "
    "cadenceStart, cadenceEnd (rpm), type (warmup, active, rest, recovery, cooldown, freeride), text. "
    "The resource trainerday://docs/workout-format has the whole format."
)
READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
CREATES = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
CHANGES = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)

Date = Annotated[dt.date, Field(description="YYYY-MM-DD, a day in the athlete's time zone")]
EventId = Annotated[int, Field(ge=1, le=MAX_ID, description="A calendar event's id, from get_calendar")]


# --- plumbing -------------------------------------------------------------------------------------------


def _caller(ctx: Context) -> Caller:
    request = ctx.request_context.request
    caller = getattr(request, "scope", {}).get(CALLER_KEY) if request is not None else None
    if not isinstance(caller, Caller):
        raise ToolError("not authenticated")  # only reachable by calling the server without /mcp's guard
    return caller


def _require(caller: Caller, *scopes: str) -> int:
    """The caller's athlete id, if their token holds every scope given; a tool error naming the first missing
    scope otherwise (before anything is read or written)."""
    for scope in scopes:
        if scope not in caller.principal.scopes:
            raise ToolError(
                f"this needs the {scope} scope, which your token lacks; reconnect the assistant and allow "
                f"{scope} to use it"
            )
    return caller.principal.athlete_id


@contextmanager
def _unit_of_work(caller: Caller, *, write: bool) -> Iterator[Session]:
    """One transaction, as a request has; domain errors become tool errors with the service's message."""
    state = caller.state
    try:
        with session_scope(state.write_sessions if write else state.read_sessions) as session:
            yield session
    except TrainerDayError as error:
        fields = "; ".join(f"{e.field}: {e.message}" for e in getattr(error, "errors", ()))
        raise ToolError(fields or error.detail) from None


def _validated(model: type[T], data: dict[str, Any]) -> T:
    """Arguments checked by the REST API's own request model, so both accept exactly the same input."""
    try:
        return model.model_validate(data)  # type: ignore[attr-defined]
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in error.errors()
        )
        raise ToolError(problems) from None


def _event_out(session: Session, athlete_id: int, event: CalendarEvent) -> dict[str, Any]:
    """An event as the REST API shows it, as plain JSON values and checked against its schema while the
    transaction is still open, so a write never commits behind a failed answer."""
    body: dict[str, Any] = orjson.loads(orjson.dumps(calendar.one_event_json(session, athlete_id, event)))
    EventOut.model_validate(body)
    return body


def _result(text: str, structured: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def _minutes(seconds: float | None) -> str:
    return "?" if seconds is None else f"{round(seconds / 60)} min"


def _event_line(event: dict[str, Any]) -> str:
    metrics = event.get("metrics") or {}
    parts = [
        f"{event['calendarDate']} [event {event['id']}] {event['type']}: {event.get('title') or ''}".rstrip()
    ]
    if metrics:
        parts.append(
            f"{_minutes(metrics['durationSeconds'])}, TSS {metrics['tss']:.0f}, "
            f"IF {metrics['intensityFactor']:.2f}"
        )
    done = event.get("completedActivity")
    if done:
        parts.append(f"done: activity {done['id']} ({_minutes(done['durationSeconds'])})")
    if event.get("notes"):
        parts.append(f"notes: {event['notes'][:200]}")
    return " — ".join(parts)


# --- output models that the REST API has no exact twin for ----------------------------------------------


class ProfileOut(AthleteOut):
    today: dt.date = Field(description="Today's date in the athlete's time zone")


class PlannedOut(ApiOut):
    event: EventOut
    replayed: bool = Field(
        description="True when this call repeated an earlier one and nothing new was planned"
    )


PLANNED_SUMMARY = ("durationSeconds", "tss", "intensityFactor", "normalizedPower", "workKj", "dominantZone")


class PlannedSummaryOut(ApiOut):
    """A planned workout's main metrics at the athlete's current FTP."""

    duration_seconds: int
    tss: float
    intensity_factor: float
    normalized_power: float = Field(description="Watts")
    work_kj: float
    dominant_zone: int = Field(ge=1, le=7, description="The power zone it spends most time in")


class CalendarEntryOut(ApiOut):
    id: int
    calendar_date: dt.date
    type: Literal["workout", "note"]
    title: str | None
    notes: str | None
    workout_id: int | None = Field(description="The library workout it was planned from, while that exists")
    planned: PlannedSummaryOut | None = Field(description="Null for notes")
    completed_activity: CompletedActivityOut | None = Field(description="The ride that completed it")
    compliance_percent: int | None = Field(description="Done against planned: TSS, else duration")
    compliance_status: Literal["green", "yellow", "orange"] | None = Field(
        description="green within 80-120 %, yellow within 50-150 %, orange beyond"
    )


class CalendarSummaryOut(ApiOut):
    start_date: dt.date
    end_date: dt.date
    data: list[CalendarEntryOut]


class DeletedOut(ApiOut):
    deleted_event_id: int


# --- the tools --------------------------------------------------------------------------------------------


def get_profile(ctx: Context) -> Annotated[CallToolResult, ProfileOut]:
    """The athlete's profile: FTP (watts), weight, heart-rate thresholds, time zone, today's date there, and
    power and heart-rate training zones (zone 1-7 in watts, 1-5 in bpm). Needs athlete:read."""
    caller = _caller(ctx)
    athlete_id = _require(caller, "athlete:read")
    with _unit_of_work(caller, write=False) as session:
        athlete = athletes.get_athlete(session, athlete_id)
        body = {**athletes.profile(athlete), "today": athletes.today_for(athlete)}
    out = ProfileOut.model_validate(body)
    zones = ", ".join(f"Z{z.zone} {z.name} {z.min_watts}-{z.max_watts or ''} W" for z in out.power_zones)
    text = (
        f"{out.name}: FTP {out.ftp} W"
        + (f", {out.weight_kg:g} kg ({out.ftp / out.weight_kg:.2f} W/kg)" if out.weight_kg else "")
        + (f", LTHR {out.lthr} bpm" if out.lthr else "")
        + f". Time zone {out.timezone}; today there is {out.today.isoformat()}.\nPower zones: {zones}."
    )
    return _result(text, out.model_dump(mode="json", by_alias=True))


def _calendar_answer(caller: Caller, athlete_id: int, start: dt.date, end: dt.date) -> bytes:
    """The calendar tool's answer, serialised: built from the REST calendar read's body (its cache first)."""
    state = caller.state
    key = (athlete_id, start, end)
    body = state.calendar_cache.get(key, caller.principal.data_revision)
    if body is None:
        with _unit_of_work(caller, write=False) as session:
            body = calendar.calendar_body(session, athlete_id, start, end)
        state.calendar_cache.put(key, caller.principal.data_revision, body)
    events = [_calendar_entry(e) for e in orjson.loads(body)["data"]]
    structured = {"startDate": start.isoformat(), "endDate": end.isoformat(), "data": events}
    lines = [_entry_line(e) for e in events] or ["Nothing planned."]
    text = f"Calendar {start} to {end}: {len(events)} event(s).\n" + "\n".join(lines)
    return orjson.dumps({"text": text, "structured": structured})


def _calendar_entry(event: dict[str, Any]) -> dict[str, Any]:
    metrics = event["metrics"]
    compliance = event.get("compliance") or {}
    return {
        "id": event["id"],
        "calendarDate": event["calendarDate"],
        "type": event["type"],
        "title": event["title"],
        "notes": event["notes"],
        "workoutId": event["workoutId"],
        "planned": None if metrics is None else {name: metrics[name] for name in PLANNED_SUMMARY},
        "completedActivity": event.get("completedActivity"),
        "compliancePercent": compliance.get("percent"),
        "complianceStatus": compliance.get("status"),
    }


def _entry_line(entry: dict[str, Any]) -> str:
    planned = entry["planned"]
    parts = [
        f"{entry['calendarDate']} [event {entry['id']}] {entry['type']}: {entry['title'] or ''}".rstrip()
    ]
    if planned:
        parts.append(
            f"{_minutes(planned['durationSeconds'])}, TSS {planned['tss']:.0f}, "
            f"IF {planned['intensityFactor']:.2f}"
        )
    done = entry["completedActivity"]
    if done:
        parts.append(f"done: activity {done['id']} ({_minutes(done['durationSeconds'])})")
        if entry["compliancePercent"] is not None:
            parts.append(f"compliance {entry['compliancePercent']} % ({entry['complianceStatus']})")
    if entry["notes"]:
        parts.append(f"notes: {entry['notes'][:200]}")
    return " — ".join(parts)


async def get_calendar(
    ctx: Context,
    startDate: Annotated[dt.date, Field(description="First day, YYYY-MM-DD, inclusive")],
    endDate: Annotated[dt.date, Field(description="Last day, YYYY-MM-DD, inclusive; at most 366 days on")],
) -> Annotated[CallToolResult, CalendarSummaryOut]:
    """The training calendar between two dates (inclusive), one line per event: planned workouts with their
    planned duration, TSS, IF and dominant zone at the athlete's current FTP, notes, and for a planned
    workout a ride completed, that ride and the compliance. Dates are days in the athlete's time zone. Read
    one event's segments with get_event. Needs calendar:read."""
    caller = _caller(ctx)
    athlete_id = _require(caller, "calendar:read")
    try:
        calendar.check_range(startDate, endDate)
    except TrainerDayError as error:
        raise ToolError(error.detail) from None
    # Async, answered from the cache on the event loop: the busiest tool. Kept at the athlete's data
    # revision, as the REST read is, so it can never be stale.
    cache = caller.state.calendar_cache
    key = ("mcp", athlete_id, startDate, endDate)
    answer = cache.get(key, caller.principal.data_revision)
    if answer is None:
        answer = await anyio.to_thread.run_sync(_calendar_answer, caller, athlete_id, startDate, endDate)
        cache.put(key, caller.principal.data_revision, answer)
    loaded = orjson.loads(answer)
    return _result(loaded["text"], loaded["structured"])


def get_event(ctx: Context, eventId: EventId) -> Annotated[CallToolResult, EventOut]:
    """One calendar event in full: for a planned workout its segments ([minutes, start %FTP, end %FTP]) and
    every planned metric at the athlete's FTP, including seconds in each power zone. Needs calendar:read."""
    caller = _caller(ctx)
    athlete_id = _require(caller, "calendar:read")
    with _unit_of_work(caller, write=False) as session:
        body = _event_out(session, athlete_id, calendar.get_event(session, athlete_id, eventId))
    text = _event_line(body)
    workout = body["embedWorkout"]
    if workout:
        text += (
            "\nSegments [minutes, start %FTP, end %FTP, ...]: " + orjson.dumps(workout["segments"]).decode()
        )
    return _result(text, body)


def _derived_key(tool: str, arguments: dict[str, Any]) -> str:
    digest = hashlib.sha256(tool.encode() + orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"mcp-{tool}-{digest[:40]}"


def _create_once(
    caller: Caller,
    tool: str,
    arguments: dict[str, Any],
    idempotencyKey: str | None,
    create: Callable[[Session], dict[str, Any]],
) -> tuple[dict[str, Any], bool]:
    """Create an event at most once per key, as POST /api/v1/calendar/events does with Idempotency-Key: the
    key given, else one derived from the arguments, so a retried call returns the first event instead of
    planning a duplicate. A derived key whose event has since been deleted plans it again: asking for the same
    workout again after deleting it is a new request, not a retry."""
    athlete_id = caller.principal.athlete_id
    key = idempotencyKey or _derived_key(tool, arguments)
    fingerprint = idempotency.fingerprint("MCP", tool, arguments)
    with _unit_of_work(caller, write=True) as session:
        claimed = idempotency.claim(session, athlete_id, key, fingerprint)
        if isinstance(claimed, idempotency.StoredResponse):
            earlier: dict[str, Any] = orjson.loads(claimed.body)
            if idempotencyKey is not None or _event_exists(session, athlete_id, earlier["id"]):
                return earlier, True
            claimed = session.scalars(
                sa.select(IdempotencyRecord).where(
                    IdempotencyRecord.athlete_id == athlete_id, IdempotencyRecord.key == key
                )
            ).one()
        event = create(session)
        idempotency.complete(claimed, 201, orjson.dumps(event), f"/api/v1/calendar/events/{event['id']}")
        return event, False


def _event_exists(session: Session, athlete_id: int, eventId: int) -> bool:
    try:
        calendar.get_event(session, athlete_id, eventId)
    except TrainerDayError:
        return False
    return True


def plan_workout(
    ctx: Context,
    date: Date,
    title: Annotated[str, Field(description="The workout's name, up to 200 characters")] = "",
    segments: Annotated[
        list[list[Any]] | None,
        Field(description="The workout, as [minutes, start %FTP, end %FTP] steps. " + SEGMENTS_HELP),
    ] = None,
    workoutId: Annotated[
        int | None,
        Field(
            ge=1,
            le=MAX_ID,
            description="Instead of segments: plan a copy of this library workout (from find_workouts; "
            "needs workout:read too)",
        ),
    ] = None,
    description: Annotated[str | None, Field(description="What the workout is for, shown with it")] = None,
    notes: Annotated[str | None, Field(description="A note on this day's plan")] = None,
    idempotencyKey: Annotated[
        str | None,
        Field(
            description="Optional. The same key returns the first result instead of planning again. Without "
            "one, the same arguments count as the same request: pass a new key to plan a deliberate "
            "duplicate.",
        ),
    ] = None,
) -> Annotated[CallToolResult, PlannedOut]:
    """Plan a structured workout on a day of the athlete's calendar: either segments (with a title) or a
    workout from their library (workoutId). Returns the planned event with its metrics at the athlete's FTP.
    A retried call does not plan twice. Needs calendar:write."""
    caller = _caller(ctx)
    _require(caller, "calendar:write")
    if workoutId is not None:
        _require(caller, "workout:read")
    if segments is None and workoutId is None:
        raise ToolError("give segments (with a title) or a workoutId from the library")
    body: dict[str, Any] = {"calendarDate": date.isoformat(), "type": "workout", "notes": notes}
    if title:
        body["title"] = title
    if segments is not None:
        body["embedWorkout"] = {
            "title": title or "Workout",
            "description": description,
            "segments": segments,
        }
    if workoutId is not None:
        body["workoutId"] = workoutId
    draft_in = _validated(EventIn, body)
    athlete_id = caller.principal.athlete_id

    def create(session: Session) -> dict[str, Any]:
        draft = calendar.EventDraft(
            calendar_date=draft_in.calendar_date,
            type="workout",
            title=draft_in.title,
            notes=draft_in.notes,
            workout=None if draft_in.embed_workout is None else _workout_draft(draft_in.embed_workout),
            workout_id=draft_in.workout_id,
        )
        return _event_out(session, athlete_id, calendar.create_event(session, athlete_id, draft))

    event, replayed = _create_once(caller, "plan_workout", body, idempotencyKey, create)
    out = PlannedOut.model_validate({"event": event, "replayed": replayed})
    verb = "Already planned (this repeats an earlier call)" if replayed else "Planned"
    return _result(f"{verb}: {_event_line(event)}", out.model_dump(mode="json", by_alias=True))


def _workout_draft(workout: Any) -> workouts.WorkoutDraft:
    return workouts.WorkoutDraft(
        workout.title, workout.description, workout.tags, workout.duration_minutes, workout.segments
    )


def add_note(
    ctx: Context,
    date: Date,
    title: Annotated[str | None, Field(description="A short heading, up to 200 characters")] = None,
    notes: Annotated[str | None, Field(description="The note's text, up to 10,000 characters")] = None,
    idempotencyKey: Annotated[str | None, Field(description="Optional; as for plan_workout")] = None,
) -> Annotated[CallToolResult, PlannedOut]:
    """Add a note (no workout) on a day of the athlete's calendar: a title, a text, or both. A retried call
    does not add it twice. Needs calendar:write."""
    caller = _caller(ctx)
    athlete_id = _require(caller, "calendar:write")
    body = {"calendarDate": date.isoformat(), "type": "note", "title": title, "notes": notes}
    draft_in = _validated(EventIn, body)

    def create(session: Session) -> dict[str, Any]:
        draft = calendar.EventDraft(draft_in.calendar_date, "note", draft_in.title, draft_in.notes, None)
        return _event_out(session, athlete_id, calendar.create_event(session, athlete_id, draft))

    event, replayed = _create_once(caller, "add_note", body, idempotencyKey, create)
    out = PlannedOut.model_validate({"event": event, "replayed": replayed})
    verb = "Already added (this repeats an earlier call)" if replayed else "Added"
    return _result(f"{verb}: {_event_line(event)}", out.model_dump(mode="json", by_alias=True))


def move_event(
    ctx: Context,
    eventId: Annotated[int, Field(ge=1, le=MAX_ID, description="From get_calendar")],
    date: Annotated[dt.date, Field(description="The new day, YYYY-MM-DD in the athlete's time zone")],
) -> Annotated[CallToolResult, EventOut]:
    """Move a planned workout or note to another day; everything else about it stays. Needs
    calendar:write."""
    caller = _caller(ctx)
    athlete_id = _require(caller, "calendar:write")
    with _unit_of_work(caller, write=True) as session:
        event = calendar.get_event(session, athlete_id, eventId)
        workout = event.workout
        draft = calendar.EventDraft(
            calendar_date=date,
            type=event.type,
            title=event.title,
            notes=event.notes,
            workout=None
            if workout is None
            else workouts.WorkoutDraft(
                workout["title"],
                workout.get("description"),
                workout.get("tags"),
                workout.get("durationMinutes"),
                workout["segments"],
            ),
            workout_id=event.workout_id,
        )
        moved = calendar.replace_event(session, athlete_id, eventId, draft)
        body = _event_out(session, athlete_id, moved)
    return _result(f"Moved: {_event_line(body)}", body)


def delete_event(
    ctx: Context,
    eventId: Annotated[int, Field(ge=1, le=MAX_ID, description="From get_calendar")],
) -> Annotated[CallToolResult, DeletedOut]:
    """Delete a planned workout or note from the calendar. Needs calendar:write."""
    caller = _caller(ctx)
    athlete_id = _require(caller, "calendar:write")
    with _unit_of_work(caller, write=True) as session:
        calendar.delete_event(session, athlete_id, eventId)
    return _result(f"Deleted calendar event {eventId}.", {"deletedEventId": eventId})


def find_workouts(
    ctx: Context,
    workoutName: Annotated[
        str | None, Field(max_length=200, description="Part of the title, any case")
    ] = None,
    dominantZone: Annotated[
        int | None,
        Field(ge=1, le=7, description="Power zone 1-7 the workout spends most time in"),
    ] = None,
    fromMinutes: Annotated[
        float | None, Field(ge=0, le=MAX_WORKOUT_MINUTES, description="Shortest, minutes")
    ] = None,
    toMinutes: Annotated[
        float | None, Field(ge=0, le=MAX_WORKOUT_MINUTES, description="Longest, minutes")
    ] = None,
    pageIndex: Annotated[int, Field(ge=0, lt=1_000_000, description="0-based")] = 0,
    pageSize: Annotated[int, Field(ge=1, le=50)] = 10,
) -> Annotated[CallToolResult, WorkoutFindPage]:
    """Search the athlete's workout library (every criterion optional, combined with AND), newest first.
    Each result has its segments and planned metrics at the athlete's FTP; plan one with plan_workout's
    workoutId. Needs workout:read."""
    caller = _caller(ctx)
    athlete_id = _require(caller, "workout:read")
    if fromMinutes is not None and toMinutes is not None and fromMinutes > toMinutes:
        raise ToolError(f"toMinutes {toMinutes:g} is below fromMinutes {fromMinutes:g}")
    criteria = workouts.WorkoutFilter(
        (workoutName or "").strip() or None, dominantZone, fromMinutes, toMinutes
    )
    with _unit_of_work(caller, write=False) as session:
        ftp = athletes.current_ftp(session, athlete_id)
        rows, total = workouts.list_workouts(session, athlete_id, criteria, pageIndex * pageSize, pageSize)
        data = orjson.loads(orjson.dumps([workouts.workout_json(row, ftp) for row in rows]))
    body = {"data": data, "pageIndex": pageIndex, "pageSize": pageSize, "total": total}
    lines = [
        f"[workout {w['id']}] {w['title']} — {_minutes(w['metrics']['durationSeconds'])}, "
        f"TSS {w['metrics']['tss']:.0f}, dominant zone Z{w['metrics']['dominantZone']}"
        for w in data
    ]
    text = f"{total} workout(s) match; page {pageIndex} shows {len(data)}.\n" + "\n".join(lines)
    return _result(text, body)


def list_activities(
    ctx: Context,
    startDate: Annotated[dt.date | None, Field(description="First local date, YYYY-MM-DD")] = None,
    endDate: Annotated[dt.date | None, Field(description="Last local date, YYYY-MM-DD")] = None,
    page: Annotated[int, Field(ge=1, le=1_000_000, description="1-based")] = 1,
    pageSize: Annotated[int, Field(ge=1, le=50)] = 20,
) -> Annotated[CallToolResult, ActivityPageOut]:
    """The athlete's rides, newest first, optionally between two dates of their time zone: each with its
    summary (duration in seconds, distance in metres, average and normalized power in watts, IF, TSS, heart
    rate). Read one with get_activity for zones and power curve. Needs activities:read."""
    caller = _caller(ctx)
    athlete_id = _require(caller, "activities:read")
    with _unit_of_work(caller, write=False) as session:
        body = activities.list_activities(session, athlete_id, page, pageSize, startDate, endDate)
    body = orjson.loads(orjson.dumps(body))
    lines = [
        f"[activity {a['id']}] {a['startTimeLocal'][:16].replace('T', ' ')} {a['name']} — "
        f"{_minutes(a['timerSeconds'])}"
        + (f", {a['distanceMeters'] / 1000:.1f} km" if a.get("distanceMeters") else "")
        + (f", NP {a['normalizedPower']:.0f} W" if a.get("normalizedPower") else "")
        + (f", TSS {a['tss']:.0f}" if a.get("tss") is not None else "")
        for a in body["data"]
    ]
    text = f"{body['total']} activit(ies); page {page} shows {len(lines)}.\n" + "\n".join(lines)
    return _result(text, body)


def get_activity(
    ctx: Context,
    activityId: Annotated[int, Field(ge=1, le=MAX_ID, description="From list_activities")],
) -> Annotated[CallToolResult, ActivityOut]:
    """One ride with every metric: summary, seconds in each power zone (Z1-Z7) and heart-rate zone (Z1-Z5),
    and the mean-maximal power curve (best watts held for each duration in seconds). Never the raw samples.
    Needs activities:read."""
    caller = _caller(ctx)
    athlete_id = _require(caller, "activities:read")
    with _unit_of_work(caller, write=False) as session:
        body = orjson.loads(orjson.dumps(activities.activity_detail(session, athlete_id, activityId)))
    text = (
        f"[activity {body['id']}] {body['name']}, {body['startTimeLocal'][:16].replace('T', ' ')}: "
        f"{_minutes(body['timerSeconds'])}"
        + (
            f", avg {body['averagePower']:.0f} W, NP {body['normalizedPower']:.0f} W"
            if body.get("normalizedPower")
            else ""
        )
        + (
            f", IF {body['intensityFactor']:.2f}, TSS {body['tss']:.0f}"
            if body.get("tss") is not None
            else ""
        )
        + (f", avg HR {body['averageHeartRate']:.0f} bpm" if body.get("averageHeartRate") else "")
        + f" (FTP {body['ftp']} W that day)."
    )
    if body.get("timeInPowerZones"):
        text += "\nPower zones (min): " + ", ".join(
            f"Z{i + 1} {s / 60:.0f}" for i, s in enumerate(body["timeInPowerZones"])
        )
    curve = body.get("powerCurve") or {}
    if curve.get("seconds"):
        best = dict(zip(curve["seconds"], curve["watts"], strict=False))
        picks = [(5, "5 s"), (60, "1 min"), (300, "5 min"), (1200, "20 min"), (3600, "60 min")]
        text += "\nBest power: " + ", ".join(f"{label} {best[s]:.0f} W" for s, label in picks if s in best)
    return _result(text, body)


MAX_FITNESS_DAYS = 366  # a year of days answers any question about form; the REST API gives ten


def _athlete_today(session: Session, caller: Caller, athlete_id: int) -> dt.date:
    """The athlete's day by the app's clock, as the analytics API reads it."""
    athlete = athletes.get_athlete(session, athlete_id)
    return analytics.athlete_today(athlete.timezone, caller.state.clock())


def get_fitness(
    ctx: Context,
    startDate: Date,
    endDate: Annotated[dt.date, Field(description=f"YYYY-MM-DD; at most {MAX_FITNESS_DAYS} days on")],
    projectPlanned: Annotated[
        bool, Field(description="Continue after today with the planned workouts' TSS (those days: projected)")
    ] = False,
) -> Annotated[CallToolResult, FitnessOut]:
    """Fitness, fatigue and form day by day: CTL (42-day load, fitness), ATL (7-day load, fatigue), TSB (form:
    yesterday's CTL minus ATL; negative = tired, positive = fresh) and ramp rate (CTL change over 7 days),
    all in TSS points per day, from the rides done; optionally projected through the planned workouts.
    Needs athlete:read."""
    caller = _caller(ctx)
    athlete_id = _require(caller, "athlete:read")
    if (endDate - startDate).days + 1 > MAX_FITNESS_DAYS:
        raise ToolError(f"endDate: at most {MAX_FITNESS_DAYS} days from startDate here")
    with _unit_of_work(caller, write=False) as session:
        today = _athlete_today(session, caller, athlete_id)
        result = analytics.fitness(
            session, athlete_id, startDate, endDate, project_planned=projectPlanned, today=today
        )
    body = orjson.loads(orjson.dumps(analytics.wire(result)))
    days = body["days"]
    last = next((d for d in reversed(days) if not d["projected"]), days[-1])
    text = (
        f"Fitness {startDate} to {endDate} (today {today}). On {last['date']}: CTL {last['ctl']:.0f}, "
        f"ATL {last['atl']:.0f}, TSB {last['tsb']:+.0f}, ramp {last['rampRate']:+.1f} CTL/week. "
        f"CTL went {days[0]['ctl']:.0f} -> {days[-1]['ctl']:.0f} over the range; "
        f"{sum(d['tss'] for d in days):.0f} TSS done"
        + (
            f", {sum(d['plannedTss'] for d in days if d['projected']):.0f} TSS projected."
            if projectPlanned
            else "."
        )
    )
    return _result(text, body)


def get_season_power_curve(
    ctx: Context, startDate: Date, endDate: Date
) -> Annotated[CallToolResult, SeasonPowerCurveOut]:
    """The best power held for each duration (1 s to 5 h) over the rides between two dates, in watts and
    W/kg, each with the ride that set it: the season's mean-maximal power curve. Needs athlete:read."""
    caller = _caller(ctx)
    athlete_id = _require(caller, "athlete:read")
    with _unit_of_work(caller, write=False) as session:
        result = analytics.season_power_curve(session, athlete_id, startDate, endDate)
    body = orjson.loads(orjson.dumps(analytics.wire(result)))
    best = {p["seconds"]: p for p in body["points"]}
    picks = [(5, "5 s"), (60, "1 min"), (300, "5 min"), (1200, "20 min"), (3600, "60 min")]
    found = [
        f"{label} {best[s]['watts']:.0f} W"
        + (f" ({best[s]['wattsPerKg']:.2f} W/kg)" if best[s]["wattsPerKg"] else "")
        + f" on {best[s]['date']}"
        for s, label in picks
        if s in best
    ]
    text = f"Season power curve {startDate} to {endDate}: " + ("; ".join(found) or "no rides with power.")
    return _result(text, body)


TOOLS: list[tuple[Callable[..., Any], ToolAnnotations]] = [
    (get_profile, READ_ONLY),
    (get_calendar, READ_ONLY),
    (get_event, READ_ONLY),
    (plan_workout, CREATES),
    (add_note, CREATES),
    (move_event, CHANGES),
    (delete_event, CHANGES),
    (find_workouts, READ_ONLY),
    (list_activities, READ_ONLY),
    (get_activity, READ_ONLY),
    (get_fitness, READ_ONLY),
    (get_season_power_curve, READ_ONLY),
]
