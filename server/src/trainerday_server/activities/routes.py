"""/api/v1/activities: upload rides, read their metrics, streams and files, rename and delete them.

Upload and delete manage their own transactions (not ``SessionDep``): the original file must be deleted when
the row's commit fails, and may only be deleted after the row's deletion is committed. Every route is a plain
``def``, so decoding and metrics run in the thread pool, never on the event loop.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import orjson
from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse

from trainerday_server import idempotency
from trainerday_server.activities import service
from trainerday_server.activities.schemas import ActivityOut, ActivityPageOut, ActivityPatch, PowerCurveOut
from trainerday_server.athlete.service import get_athlete
from trainerday_server.auth.principal import Principal
from trainerday_server.deps import IdempotencyKeyHeader, SessionDep, require_scope
from trainerday_server.observability import metrics
from trainerday_server.ratelimit import UploadAllowance
from trainerday_server.schemas import IdPath, IsoDate

router = APIRouter(prefix="/api/v1/activities", tags=["activities"])
UPLOAD = "/api/v1/activities/upload"
JSON = "application/json"
Reader = Annotated[Principal, require_scope("activities:read")]
Writer = Annotated[Principal, require_scope("activities:write")]


def _json(body: object, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type=JSON, headers=headers)


def _attachment(data: bytes, media_type: str, file_name: str) -> Response:
    ascii_name = file_name.encode("ascii", "replace").decode().replace("?", "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name)}"
    return Response(data, media_type=media_type, headers={"Content-Disposition": disposition})


@router.post(
    "/upload",
    status_code=201,
    response_model=ActivityOut,
    summary="Upload a ride: FIT, TCX or GPX, each also gzipped",
    responses={
        400: {"description": "Not a usable FIT, TCX or GPX activity (the problem says what and where)"},
        409: {
            "description": "A duplicate: `existingActivityId` names the activity already stored; or an "
            "Idempotency-Key reused for a different upload"
        },
        413: {"description": "Larger than the upload limit, as sent or once decompressed"},
    },
)
def upload_activity(
    request: Request,
    me: Writer,
    _allowed: UploadAllowance,  # the per-athlete upload rate limit, before any decoding
    file: Annotated[UploadFile, File(description="The activity file; its format is read from its content")],
    name: Annotated[
        str | None, Form(description="Defaults to the file's own name, else e.g. Morning Ride")
    ] = None,
    description: Annotated[str | None, Form()] = None,
    external_id: Annotated[
        str | None, Form(alias="externalId", description="Your id for this ride; unique per athlete")
    ] = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    state = request.app.state
    claim = None if idempotency_key is None else idempotency.Claim(me.athlete_id, idempotency_key, UPLOAD)
    try:
        body = service.upload_activity(
            state.read_sessions,
            state.write_sessions,
            state.file_storage,
            me.athlete_id,
            file.file,
            service.UploadInfo(name, description, external_id, file.filename),
            state.settings.max_upload_bytes,
            claim,
        )
    except idempotency.AlreadyAnswered as answered:
        stored = answered.stored
        headers = {"Location": stored.location} if stored.location else None
        return Response(stored.body, status_code=stored.status_code, media_type=JSON, headers=headers)
    metrics.observe_upload(str(body.get("file", {}).get("format", "unknown")), file.size or 0)
    return _json(body, 201, {"Location": f"/api/v1/activities/{body['id']}"})


@router.get("", response_model=ActivityPageOut, summary="Your activities, newest first")
def list_activities(
    session: SessionDep,
    me: Reader,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(alias="pageSize", ge=1, le=service.MAX_PAGE_SIZE)] = 20,
    start_date: Annotated[IsoDate | None, Query(alias="startDate", description="First local date")] = None,
    end_date: Annotated[IsoDate | None, Query(alias="endDate", description="Last local date")] = None,
) -> Response:
    return _json(service.list_activities(session, me.athlete_id, page, page_size, start_date, end_date))


@router.get("/{activity_id}", response_model=ActivityOut, summary="One activity with every metric")
def read_activity(activity_id: IdPath, session: SessionDep, me: Reader) -> Response:
    return _json(service.activity_detail(session, me.athlete_id, activity_id))


@router.get(
    "/{activity_id}/streams",
    summary="The recorded samples as JSON arrays aligned on `time` (seconds since the start)",
    responses={200: {"content": {JSON: {"example": {"time": [0, 1, 2], "power": [180, None, 190]}}}}},
)
def read_streams(
    activity_id: IdPath,
    session: SessionDep,
    me: Reader,
    types: Annotated[
        str | None,
        Query(
            description="Comma-separated: power, heartRate, cadence, speed, distance, altitude, latitude, "
            "longitude, temperature. Default: every recorded stream. One not recorded is null."
        ),
    ] = None,
) -> Response:
    # Streamed a chunk at a time: a 160-hour ride's 36 MB of JSON is never held whole, and a slow reader
    # holds one chunk (uvicorn waits for the client before asking for the next).
    return StreamingResponse(
        service.streams_json(session, me.athlete_id, activity_id, types), media_type=JSON
    )


@router.get(
    "/{activity_id}/fit",
    summary="The ride as a FIT file: the original if it was one, else written from the streams",
    response_class=Response,
    responses={200: {"content": {"application/vnd.ant.fit": {}}}},
)
def read_fit(activity_id: IdPath, request: Request, session: SessionDep, me: Reader) -> Response:
    data, file_name = service.fit_file(session, request.app.state.file_storage, me.athlete_id, activity_id)
    return _attachment(data, service.CONTENT_TYPES["fit"], file_name)


@router.get(
    "/{activity_id}/file",
    summary="The original upload, byte for byte",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def read_file(activity_id: IdPath, request: Request, session: SessionDep, me: Reader) -> Response:
    storage = request.app.state.file_storage
    data, media_type, file_name = service.original_file(session, storage, me.athlete_id, activity_id)
    return _attachment(data, media_type, file_name)


@router.get(
    "/{activity_id}/power-curve", response_model=PowerCurveOut, summary="The mean-maximal power curve"
)
def read_power_curve(activity_id: IdPath, session: SessionDep, me: Reader) -> Response:
    return _json(service.power_curve(session, me.athlete_id, activity_id))


@router.patch("/{activity_id}", response_model=ActivityOut, summary="Rename or describe an activity")
def update_activity(activity_id: IdPath, body: ActivityPatch, session: SessionDep, me: Writer) -> Response:
    changes = body.model_dump(include=body.model_fields_set)
    activity = service.update_activity(session, me.athlete_id, activity_id, changes)
    current_ftp = get_athlete(session, me.athlete_id).ftp
    return _json(service.activity_json(activity, detail=True, current_ftp=current_ftp))


@router.delete("/{activity_id}", status_code=204, summary="Delete an activity and its stored file")
def delete_activity(activity_id: IdPath, request: Request, me: Writer) -> Response:
    state = request.app.state
    service.delete_activity(state.write_sessions, state.file_storage, me.athlete_id, activity_id)
    return Response(status_code=204)
