"""/api/v1/calendar: read a date range; create, read, replace and delete events."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from trainerday_server import idempotency
from trainerday_server.athlete.service import current_ftp
from trainerday_server.auth.bearer import authenticate_request, check_scope
from trainerday_server.auth.principal import Principal
from trainerday_server.calendar import service
from trainerday_server.calendar.schemas import CalendarOut, EventIn, EventOut
from trainerday_server.db import session_scope
from trainerday_server.deps import IdempotencyKeyHeader, SessionDep, require_scope
from trainerday_server.errors import ValidationFailed
from trainerday_server.models import CalendarEvent
from trainerday_server.routing import DirectRoute, query_values
from trainerday_server.schemas import IdPath, parse_iso_date
from trainerday_server.workouts import service as workouts_service
from trainerday_server.workouts.routes import (
    CHART_RESPONSES,
    EXPORT_RESPONSES,
    FormatQuery,
    chart_response,
    export_response,
)
from trainerday_server.workouts.routes import draft as workout_draft

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])
# The month read is the API's hottest request: its route skips FastAPI's dependency layer (see DirectRoute).
hot_router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"], route_class=DirectRoute)
JSON = "application/json"


def _draft(body: EventIn, me: Principal, request: Request) -> service.EventDraft:
    """The event to write, its embedded workout already validated and measured: that is done before the
    write transaction begins, so SQLite's write lock is never held while a large workout is parsed."""
    if body.workout_id is not None:
        # Planning by workoutId reads the library: a token without workout:read must not copy it out.
        check_scope(me, "workout:read", "planning a library workout by workoutId")
    workout = None
    if body.embed_workout is not None:
        with session_scope(request.app.state.read_sessions) as session:
            ftp = current_ftp(session, me.athlete_id)
        workout = workouts_service.prepare(workout_draft(body.embed_workout), ftp, "embedWorkout")
    return service.EventDraft(
        calendar_date=body.calendar_date,
        type=body.type,
        title=body.title,
        notes=body.notes,
        workout=workout,
        workout_id=body.workout_id,
    )


def _event_body(session: Session, me: Principal, event: CalendarEvent) -> bytes:
    return orjson.dumps(service.one_event_json(session, me.athlete_id, event))


def _date_parameter(name: str, description: str) -> dict[str, object]:
    return {"name": name, "in": "query", "required": True, "description": description,
            "schema": {"type": "string", "format": "date"}}  # fmt: skip


@hot_router.get(
    "",
    response_model=CalendarOut,
    summary="Your events between two dates, inclusive",
    # The hottest route reads its parameters and token by hand (the same functions the dependencies use), so
    # they are declared here for OpenAPI: FastAPI's dependency solving and request handling cost more than
    # everything else this route does. See docs/architecture.md.
    openapi_extra={
        "parameters": [
            _date_parameter("startDate", "First day, YYYY-MM-DD"),
            _date_parameter("endDate", "Last day, YYYY-MM-DD; at most 366 days after startDate"),
            {
                "name": "segments",
                "in": "query",
                "required": False,
                "description": "false: each embedWorkout without its segments (segmentCount instead). "
                f"A read may return at most {service.MAX_READ_BYTES:,} bytes; with segments, a long range "
                "of long workouts may need a shorter range or segments=false.",
                "schema": {"type": "boolean", "default": True},
            },
        ],
        "security": [{"oauth2": ["calendar:read"]}],
    },
)
async def read_calendar(request: Request) -> Response:
    me = await authenticate_request(request, "calendar:read")
    query = query_values(request)
    start_date = parse_iso_date(query.get("startDate"), "startDate")
    end_date = parse_iso_date(query.get("endDate"), "endDate")
    segments = _boolean(query.get("segments"), "segments", default=True)
    service.check_range(start_date, end_date)
    state = request.app.state
    key = (me.athlete_id, start_date, end_date) if segments else (me.athlete_id, start_date, end_date, False)
    body = state.calendar_cache.get(key, me.data_revision)
    if body is None:

        def load() -> bytes:
            with session_scope(state.read_sessions) as session:
                return service.calendar_body(session, me.athlete_id, start_date, end_date, segments=segments)

        # A miss computes every planned workout's metrics (milliseconds for a month): off the event loop.
        body = await run_in_threadpool(load)
        state.calendar_cache.put(key, me.data_revision, body)
    return Response(body, media_type=JSON)


def _boolean(value: str | None, name: str, *, default: bool) -> bool:
    if value is None:
        return default
    if value in ("true", "false"):
        return value == "true"
    raise ValidationFailed.single(name, f"must be true or false, not {value!r}")


@router.post(
    "/events",
    status_code=201,
    response_model=EventOut,
    summary="Plan a workout or add a note",
    responses={409: {"description": "Idempotency-Key reused for a different request"}},
)
def create_event(
    body: EventIn,
    request: Request,
    session: SessionDep,
    me: Annotated[Principal, require_scope("calendar:write")],
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    draft = _draft(body, me, request)
    fingerprint = idempotency.fingerprint("POST", request.url.path, body.model_dump(mode="json"))

    def create() -> idempotency.StoredResponse:
        event, payload = service.create_event_with_json(session, me.athlete_id, draft)
        location = f"/api/v1/calendar/events/{event.id}"
        return idempotency.StoredResponse(201, payload.json(), location)

    answer = idempotency.once(session, me.athlete_id, idempotency_key, fingerprint, create)
    headers = {"Location": answer.location} if answer.location else None
    return Response(answer.body, status_code=answer.status_code, media_type=JSON, headers=headers)


@router.get("/events/{event_id}", response_model=EventOut, summary="One event")
def read_event(
    event_id: IdPath, session: SessionDep, me: Annotated[Principal, require_scope("calendar:read")]
) -> Response:
    event = service.get_event(session, me.athlete_id, event_id)
    return Response(_event_body(session, me, event), media_type=JSON)


@router.put("/events/{event_id}", response_model=EventOut, summary="Replace an event")
def replace_event(
    event_id: IdPath,
    body: EventIn,
    request: Request,
    session: SessionDep,
    me: Annotated[Principal, require_scope("calendar:write")],
) -> Response:
    _, payload = service.replace_event_with_json(session, me.athlete_id, event_id, _draft(body, me, request))
    return Response(payload.json(), media_type=JSON)


@router.delete("/events/{event_id}", status_code=204, summary="Delete an event")
def delete_event(
    event_id: IdPath, session: SessionDep, me: Annotated[Principal, require_scope("calendar:write")]
) -> Response:
    service.delete_event(session, me.athlete_id, event_id)
    return Response(status_code=204)


@router.get(
    "/events/{event_id}/export",
    response_class=Response,
    responses=EXPORT_RESPONSES,
    summary="Download the event's planned workout as ZWO, ERG (watts at your FTP), MRC or FIT",
)
def export_event_workout(
    event_id: IdPath,
    fmt: FormatQuery,
    session: SessionDep,
    me: Annotated[Principal, require_scope("calendar:read")],
) -> Response:
    workout = service.event_workout(session, me.athlete_id, event_id)
    return export_response(workout, fmt, current_ftp(session, me.athlete_id))


@router.get(
    "/events/{event_id}/chart.svg",
    response_class=Response,
    responses=CHART_RESPONSES,
    summary="The event's planned workout as an SVG power profile",
)
def chart_event_workout(
    event_id: IdPath, session: SessionDep, me: Annotated[Principal, require_scope("calendar:read")]
) -> Response:
    workout = service.event_workout(session, me.athlete_id, event_id)
    return chart_response(workout, current_ftp(session, me.athlete_id))
