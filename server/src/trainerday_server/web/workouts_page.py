"""``/workouts``: the library with the find filters, a workout's page (profile chart, metrics, downloads) and
importing a workout file."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.responses import Response

from trainerday_server.athlete.service import current_ftp
from trainerday_server.athlete.zones import POWER_ZONES
from trainerday_server.db import session_scope
from trainerday_server.deps import SessionDep
from trainerday_server.errors import TrainerDayError, ValidationFailed
from trainerday_server.schemas import IdPath
from trainerday_server.web.charts import mini_profile, zone_bars
from trainerday_server.web.common import (
    AthletePage,
    AthletePageDep,
    UploaderDep,
    UploadFormDep,
    error_message,
)
from trainerday_server.web.forms import text
from trainerday_server.web.routes import expired_form, redirect
from trainerday_server.web.templates import render
from trainerday_server.workouts import service
from trainerday_server.workouts.chart import ZONE_COLOURS, workout_svg
from trainerday_server.workouts.formats import FORMATS, MAX_FILE_BYTES, export_workout
from trainerday_server.workouts.structure import stored_segments

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25


def _number(value: str | None, name: str, low: float, high: float) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValidationFailed.single(name, "must be a number") from None
    if not low <= number <= high:
        raise ValidationFailed.single(name, f"must be from {low:g} to {high:g}")
    return number


def _criteria(query: Any) -> tuple[service.WorkoutFilter, int]:
    name = (query.get("name") or "").strip()[:200] or None
    zone = _number(query.get("zone"), "zone", 1, 7)
    page = _number(query.get("page"), "page", 1, 100_000)
    criteria = service.WorkoutFilter(
        name=name,
        dominant_zone=None if zone is None else int(zone),
        from_minutes=_number(query.get("from"), "from", 0, 10_000),
        to_minutes=_number(query.get("to"), "to", 0, 10_000),
    )
    return criteria, int(page or 1)


def _library_page(
    request: Request, session: Session, page: AthletePage, *, status: int = 200, error: str | None = None
) -> Response:
    query = request.query_params
    try:
        criteria, number = _criteria(query)
    except ValidationFailed as exc:
        criteria, number, status, error = service.WorkoutFilter(), 1, 400, error_message(exc)
    ftp = current_ftp(session, page.athlete_id)
    rows, total = service.list_workouts(
        session, page.athlete_id, criteria, (number - 1) * PAGE_SIZE, PAGE_SIZE
    )
    workouts = [
        {
            "id": row.id,
            "title": row.title,
            "tags": row.tags,
            "profile": mini_profile(stored_segments(row.segments), width=160, height=32),
            "metrics": service.planned_for(row.segments, ftp)[0],
        }
        for row in rows
    ]
    return render(
        request,
        "workouts.html",
        page.visitor,
        status=status,
        error=error,
        workouts=workouts,
        total=total,
        page_number=number,
        pages=max(1, -(-total // PAGE_SIZE)),
        query={k: (query.get(k) or "")[:200] for k in ("name", "zone", "from", "to")},
        zones=POWER_ZONES,
        max_file_kb=MAX_FILE_BYTES // 1024,
    )


@router.get("/workouts")
def workouts_page(request: Request, page: AthletePageDep, session: SessionDep) -> Response:
    return _library_page(request, session, page)


@router.post("/workouts/import")
def import_workout(request: Request, form: UploadFormDep, page: UploaderDep) -> Response:
    """One workout file (ZWO, ERG, MRC or FIT) into the library; then its page."""
    state = request.app.state
    if not page.visitor.check_csrf(state.secret_key, text(form, "csrf_token")):
        return expired_form(request, page.visitor)
    upload = form.get("file")
    content = upload.file.read(MAX_FILE_BYTES + 1) if isinstance(upload, UploadFile) else b""
    filename = upload.filename if isinstance(upload, UploadFile) else None
    with session_scope(state.write_sessions) as session:
        try:
            if not content:
                raise ValidationFailed.single("file", "choose a workout file")
            ftp = current_ftp(session, page.athlete_id)
            workout_id = service.import_workout_file(session, page.athlete_id, content, filename, ftp).id
        except TrainerDayError as exc:
            session.rollback()
            return _library_page(request, session, page, status=400, error=error_message(exc))
    return redirect(f"/workouts/{workout_id}")


@router.get("/workouts/{workout_id}")
def workout_page(workout_id: IdPath, request: Request, page: AthletePageDep, session: SessionDep) -> Response:
    row = service.get_workout(session, page.athlete_id, workout_id)  # another athlete's: 404
    ftp = current_ftp(session, page.athlete_id)
    workout = service.as_workout(row)
    metrics = service.planned_for(row.segments, ftp)[0]
    return render(
        request,
        "workout.html",
        page.visitor,
        workout=workout,
        workout_id=row.id,
        ftp=ftp,
        metrics=metrics,
        chart=Markup(workout_svg(workout.xml_safe().segments, ftp, workout.title)),  # noqa: S704 - escapes its text
        zones=zone_bars(list(metrics.time_in_zones), [name for _, name, _ in POWER_ZONES], ZONE_COLOURS),
        formats=FORMATS,
    )


@router.get("/workouts/{workout_id}/download/{fmt}")
def download_workout(workout_id: IdPath, fmt: str, page: AthletePageDep, session: SessionDep) -> Response:
    if fmt not in FORMATS:
        raise ValidationFailed.single("format", f"must be one of {', '.join(FORMATS)}")
    row = service.get_workout(session, page.athlete_id, workout_id)
    exported = export_workout(service.as_workout(row), fmt, current_ftp(session, page.athlete_id))
    return Response(
        exported.content,
        media_type=exported.media_type,
        headers={"Content-Disposition": exported.content_disposition, "Cache-Control": "no-store"},
    )
