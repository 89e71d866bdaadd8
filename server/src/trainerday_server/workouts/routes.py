"""/api/v1/workouts: the workout library, its search, file import and export, and profile charts."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, File, Query, Request, Response, UploadFile

from trainerday_server import idempotency
from trainerday_server.athlete.service import current_ftp
from trainerday_server.auth.principal import Principal
from trainerday_server.db import session_scope
from trainerday_server.deps import IdempotencyKeyHeader, SessionDep, require_scope
from trainerday_server.errors import ValidationFailed
from trainerday_server.models import LibraryWorkout
from trainerday_server.schemas import IdPath
from trainerday_server.workouts import service
from trainerday_server.workouts.chart import workout_svg
from trainerday_server.workouts.formats import MAX_FILE_BYTES, Format, export_workout
from trainerday_server.workouts.schemas import WorkoutFindPage, WorkoutIn, WorkoutOut, WorkoutPage
from trainerday_server.workouts.structure import MAX_WORKOUT_MINUTES, Workout

router = APIRouter(prefix="/api/v1/workouts", tags=["workouts"])
JSON = "application/json"
SVG = "image/svg+xml"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGES = 1_000_000  # keeps offsets far inside what any database takes

PageSize = Annotated[int, Query(alias="pageSize", ge=1, le=MAX_PAGE_SIZE, description="1 to 100")]
FormatQuery = Annotated[Format, Query(alias="format", description="zwo, erg, mrc or fit")]
ReadScope = Annotated[Principal, require_scope("workout:read")]
WriteScope = Annotated[Principal, require_scope("workout:write")]

EXPORT_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The workout file, as an attachment named after the workout",
        "content": {
            "application/xml": {},  # ZWO
            "text/plain": {},  # ERG, MRC
            "application/vnd.ant.fit": {},
        },
    }
}
CHART_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "The power profile, coloured by zone", "content": {SVG: {}}}
}


def draft(body: WorkoutIn) -> service.WorkoutDraft:
    return service.WorkoutDraft(body.title, body.description, body.tags, body.duration_minutes, body.segments)


def export_response(workout: Workout, fmt: Format, ftp: int) -> Response:
    """The workout as a file download; ERG is written in watts at ``ftp``."""
    exported = export_workout(workout, fmt, ftp=ftp)
    return Response(
        exported.content,
        media_type=exported.media_type,
        headers={"Content-Disposition": exported.content_disposition},
    )


def chart_response(workout: Workout, ftp: int) -> Response:
    return Response(workout_svg(workout.segments, ftp, workout.title), media_type=SVG)


def _json(content: object, status_code: int = 200, location: str | None = None) -> Response:
    headers = {"Location": location} if location else None
    return Response(orjson.dumps(content), status_code=status_code, media_type=JSON, headers=headers)


def _created(row: LibraryWorkout, ftp: int) -> idempotency.StoredResponse:
    body = orjson.dumps(service.workout_json(row, ftp))
    return idempotency.StoredResponse(201, body, f"{router.prefix}/{row.id}")


def _answer(stored: idempotency.StoredResponse) -> Response:
    headers = {"Location": stored.location} if stored.location else None
    return Response(stored.body, status_code=stored.status_code, media_type=JSON, headers=headers)


def _ftp_before_writing(request: Request, athlete_id: int) -> int:
    """The athlete's FTP read outside the write transaction, to compute metrics before it begins."""
    with session_scope(request.app.state.read_sessions) as session:
        return current_ftp(session, athlete_id)


@router.get("", response_model=WorkoutPage, summary="Your workouts, newest first, a page at a time")
def list_workouts(
    session: SessionDep,
    me: ReadScope,
    page: Annotated[int, Query(ge=1, le=MAX_PAGES, description="1-based")] = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> Response:
    ftp = current_ftp(session, me.athlete_id)
    rows, total = service.list_workouts(
        session, me.athlete_id, service.WorkoutFilter(), (page - 1) * page_size, page_size
    )
    data = [service.workout_json(row, ftp) for row in rows]
    return _json({"data": data, "page": page, "pageSize": page_size, "total": total})


@router.get(
    "/find",
    response_model=WorkoutFindPage,
    summary="Search your workouts by name, dominant zone and duration",
    description="Every criterion is optional and they combine with AND. Results are newest first; "
    "`pageIndex` counts from 0. Duration and dominant zone are the ones `metrics` shows, and do not depend "
    "on FTP.",
)
def find_workouts(
    session: SessionDep,
    me: ReadScope,
    workout_name: Annotated[
        str | None,
        Query(alias="workoutName", max_length=200, description="Part of the title, case-insensitive"),
    ] = None,
    dominant_zone: Annotated[int | None, Query(alias="dominantZone", ge=1, le=7)] = None,
    from_minutes: Annotated[
        float | None,
        Query(alias="fromMinutes", ge=0, le=MAX_WORKOUT_MINUTES, description="Shortest duration, inclusive"),
    ] = None,
    to_minutes: Annotated[
        float | None,
        Query(alias="toMinutes", ge=0, le=MAX_WORKOUT_MINUTES, description="Longest duration, inclusive"),
    ] = None,
    page_index: Annotated[int, Query(alias="pageIndex", ge=0, lt=MAX_PAGES, description="0-based")] = 0,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
) -> Response:
    if from_minutes is not None and to_minutes is not None and from_minutes > to_minutes:
        raise ValidationFailed.single("toMinutes", f"{to_minutes:g} is below fromMinutes {from_minutes:g}")
    criteria = service.WorkoutFilter(
        (workout_name or "").strip() or None, dominant_zone, from_minutes, to_minutes
    )
    ftp = current_ftp(session, me.athlete_id)
    rows, total = service.list_workouts(session, me.athlete_id, criteria, page_index * page_size, page_size)
    data = [service.workout_json(row, ftp) for row in rows]
    return _json({"data": data, "pageIndex": page_index, "pageSize": page_size, "total": total})


@router.post(
    "",
    status_code=201,
    response_model=WorkoutOut,
    summary="Add a workout to your library",
    responses={409: {"description": "Idempotency-Key reused for a different request"}},
)
def create_workout(
    body: WorkoutIn,
    request: Request,
    session: SessionDep,
    me: WriteScope,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    # Parsed and measured before the transaction: SQLite's write lock is then held for a few statements.
    prepared = service.prepare(draft(body), _ftp_before_writing(request, me.athlete_id))
    fingerprint = idempotency.fingerprint("POST", router.prefix, body.model_dump(mode="json"))

    def create() -> idempotency.StoredResponse:
        ftp = current_ftp(session, me.athlete_id)
        return _created(service.create_workout(session, me.athlete_id, prepared, ftp), ftp)

    return _answer(idempotency.once(session, me.athlete_id, idempotency_key, fingerprint, create))


@router.post(
    "/import",
    status_code=201,
    response_model=WorkoutOut,
    summary="Add a workout from a ZWO, ERG, MRC or FIT file",
    description=f"Multipart upload of one `file` of at most {MAX_FILE_BYTES:,} bytes. The format is told "
    "from the content, else from the file name's extension. Watts (ERG without an `FTP =` line, FIT power "
    "targets in watts) are read at your current FTP. A file that cannot be read is a 400 problem whose "
    "`location` names the line, element, step or byte at fault.",
    responses={
        409: {"description": "Idempotency-Key reused for a different request"},
        413: {"description": "The file is too large"},
    },
)
def import_workout(
    file: Annotated[UploadFile, File(description="The workout file")],
    request: Request,
    session: SessionDep,
    me: WriteScope,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    content = file.file.read(MAX_FILE_BYTES + 1)  # one byte more than allowed is enough to refuse it
    ftp = _ftp_before_writing(request, me.athlete_id)
    prepared = service.prepare_file(content, file.filename, ftp)
    name = (file.filename or "").encode("utf-8", "replace")
    fingerprint = idempotency.fingerprint("POST", f"{router.prefix}/import", name + b"\0" + content)

    def create() -> idempotency.StoredResponse:
        # Watts in the file were read at ``ftp``; the response shows metrics at that same FTP.
        return _created(service.create_workout(session, me.athlete_id, prepared, ftp), ftp)

    return _answer(idempotency.once(session, me.athlete_id, idempotency_key, fingerprint, create))


@router.get("/{workout_id}", response_model=WorkoutOut, summary="One workout, with its metrics at your FTP")
def read_workout(workout_id: IdPath, session: SessionDep, me: ReadScope) -> Response:
    row = service.get_workout(session, me.athlete_id, workout_id)
    return _json(service.workout_json(row, current_ftp(session, me.athlete_id)))


@router.put(
    "/{workout_id}",
    response_model=WorkoutOut,
    summary="Replace a workout",
    description="Workouts already planned on your calendar from this one keep their copies.",
)
def replace_workout(
    workout_id: IdPath, body: WorkoutIn, request: Request, session: SessionDep, me: WriteScope
) -> Response:
    prepared = service.prepare(draft(body), _ftp_before_writing(request, me.athlete_id))
    ftp = current_ftp(session, me.athlete_id)
    row = service.replace_workout(session, me.athlete_id, workout_id, prepared, ftp)
    return _json(service.workout_json(row, ftp))


@router.delete(
    "/{workout_id}",
    status_code=204,
    summary="Delete a workout",
    description="Workouts already planned from it stay on your calendar; their `workoutId` becomes null.",
)
def delete_workout(workout_id: IdPath, session: SessionDep, me: WriteScope) -> Response:
    service.delete_workout(session, me.athlete_id, workout_id)
    return Response(status_code=204)


@router.get(
    "/{workout_id}/export",
    response_class=Response,
    responses=EXPORT_RESPONSES,
    summary="Download a workout as ZWO, ERG (watts at your FTP), MRC or FIT",
)
def export_library_workout(
    workout_id: IdPath, fmt: FormatQuery, session: SessionDep, me: ReadScope
) -> Response:
    row = service.get_workout(session, me.athlete_id, workout_id)
    return export_response(service.as_workout(row), fmt, current_ftp(session, me.athlete_id))


@router.get(
    "/{workout_id}/chart.svg",
    response_class=Response,
    responses=CHART_RESPONSES,
    summary="The workout's power profile as an SVG picture",
)
def chart_library_workout(workout_id: IdPath, session: SessionDep, me: ReadScope) -> Response:
    row = service.get_workout(session, me.athlete_id, workout_id)
    return chart_response(service.as_workout(row), current_ftp(session, me.athlete_id))
