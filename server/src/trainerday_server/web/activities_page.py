"""``/activities``: the rides, an upload form for several files at once (each answered on its own: created,
duplicate of another ride, or refused with the reason), and a ride's page: summary, charts over time,
mean-max power curve, time in zones, route outline, downloads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import numpy as np
from fastapi import APIRouter, Request
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.responses import Response

from trainerday_server.activities import service
from trainerday_server.activities.streams import decode_streams
from trainerday_server.athlete.zones import HEART_RATE_ZONES, POWER_ZONES
from trainerday_server.db import session_scope
from trainerday_server.deps import SessionDep
from trainerday_server.errors import Conflict, TrainerDayError
from trainerday_server.models import Activity
from trainerday_server.schemas import IdPath
from trainerday_server.web.account import HR_ZONE_COLOURS
from trainerday_server.web.charts import line_chart, power_curve_chart, route_outline, zone_bars
from trainerday_server.web.common import (
    MAX_UPLOAD_FILES,
    AthletePage,
    AthletePageDep,
    UploaderDep,
    UploadFormDep,
)
from trainerday_server.web.forms import text
from trainerday_server.web.routes import expired_form
from trainerday_server.web.templates import render
from trainerday_server.workouts.chart import ZONE_COLOURS

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 30

# (stream, label, unit, colour, scale to the unit shown)
SERIES = (
    ("power", "Power", "W", "#8e24aa", 1.0),
    ("heartRate", "Heart rate", "bpm", "#c62828", 1.0),
    ("cadence", "Cadence", "rpm", "#2f7fe0", 1.0),
    ("speed", "Speed", "km/h", "#1e7b2e", 3.6),
    ("altitude", "Elevation", "m", "#6d4c41", 1.0),
)


@dataclass(frozen=True)
class UploadResult:
    file_name: str
    outcome: str  # created | duplicate | refused
    message: str
    activity_id: int | None = None


def _list_page(
    request: Request,
    session: Session,
    page: AthletePage,
    *,
    status: int = 200,
    results: list[UploadResult] | None = None,
) -> Response:
    number = request.query_params.get("page", "1")
    page_number = int(number) if number.isdigit() and 0 < int(number) <= 100_000 else 1
    listing = service.list_activities(session, page.athlete_id, page_number, PAGE_SIZE)
    return render(
        request,
        "activities.html",
        page.visitor,
        status=status,
        activities=listing["data"],
        total=listing["total"],
        page_number=page_number,
        pages=max(1, -(-listing["total"] // PAGE_SIZE)),
        results=results,
        max_files=MAX_UPLOAD_FILES,
        max_mb=request.app.state.settings.max_upload_bytes // (1024 * 1024),
    )


@router.get("/activities")
def activities_page(request: Request, page: AthletePageDep, session: SessionDep) -> Response:
    return _list_page(request, session, page)


@router.post("/activities/upload")
def upload(request: Request, form: UploadFormDep, page: UploaderDep) -> Response:
    """Each file through the API's own upload service, one after another, each in its own transaction: one
    refused file loses nothing of the others."""
    state = request.app.state
    if not page.visitor.check_csrf(state.secret_key, text(form, "csrf_token")):
        return expired_form(request, page.visitor)
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and (f.filename or f.size)]
    results = []
    for upload_file in files:
        name = upload_file.filename or "file"
        try:
            body = service.upload_activity(
                state.read_sessions,
                state.write_sessions,
                state.file_storage,
                page.athlete_id,
                upload_file.file,
                service.UploadInfo(None, None, None, upload_file.filename),
                state.settings.max_upload_bytes,
            )
            results.append(UploadResult(name, "created", f"Created: {body['name']}", body["id"]))
        except Conflict as exc:
            existing = exc.extra.get("existingActivityId")
            results.append(UploadResult(name, "duplicate", f"Duplicate: {exc.detail}", existing))
        except TrainerDayError as exc:
            results.append(UploadResult(name, "refused", f"Refused: {exc.detail}"))
    status = 200 if files else 400
    if not files:
        results.append(UploadResult("-", "refused", "Refused: choose at least one file"))
    with session_scope(state.read_sessions) as session:
        return _list_page(request, session, page, status=status, results=results)


@router.get("/activities/{activity_id}")
def activity_page(
    activity_id: IdPath, request: Request, page: AthletePageDep, session: SessionDep
) -> Response:
    activity = service.get_activity(
        session, page.athlete_id, activity_id, Activity.streams, Activity.power_curve
    )
    body = service.activity_json(activity, detail=True)
    streams = decode_streams(activity.streams)
    seconds = streams.get("time", np.array([]))
    charts = []
    for key, label, unit, colour, scale in SERIES:
        values = streams.get(key)
        if values is None or seconds.size < 2 or np.all(np.isnan(values)):
            continue
        svg, hover = line_chart(label, unit, seconds, values * scale, colour)
        charts.append({"label": label, "svg": svg, "hover": hover})
    curve = body.get("powerCurve") or {}
    curve_svg = power_curve_chart(list(zip(curve.get("seconds", []), curve.get("watts", []), strict=False)))
    power_zone_bars = (
        zone_bars(body["timeInPowerZones"], [n for _, n, _ in POWER_ZONES], ZONE_COLOURS)
        if body.get("timeInPowerZones")
        else Markup("")
    )
    hr_zone_bars = (
        zone_bars(body["timeInHeartRateZones"], [n for _, n, _ in HEART_RATE_ZONES], HR_ZONE_COLOURS)
        if body.get("timeInHeartRateZones")
        else Markup("")
    )
    lat, lon = streams.get("latitude"), streams.get("longitude")
    route = route_outline(lat, lon) if lat is not None and lon is not None else Markup("")
    return render(
        request,
        "activity.html",
        page.visitor,
        a=body,
        summary=summary_rows(body),
        charts=charts,
        curve=curve_svg,
        power_zones=power_zone_bars,
        hr_zones=hr_zone_bars,
        route=route,
    )


def _attachment(data: bytes, media_type: str, file_name: str) -> Response:
    ascii_name = file_name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name)}"
    return Response(
        data, media_type=media_type, headers={"Content-Disposition": disposition, "Cache-Control": "no-store"}
    )


@router.get("/activities/{activity_id}/original")
def download_original(
    activity_id: IdPath, request: Request, page: AthletePageDep, session: SessionDep
) -> Response:
    data, media_type, name = service.original_file(
        session, request.app.state.file_storage, page.athlete_id, activity_id
    )
    return _attachment(data, media_type, name)


@router.get("/activities/{activity_id}/fit")
def download_fit(
    activity_id: IdPath, request: Request, page: AthletePageDep, session: SessionDep
) -> Response:
    data, name = service.fit_file(session, request.app.state.file_storage, page.athlete_id, activity_id)
    return _attachment(data, "application/vnd.ant.fit", name)


def summary_rows(a: dict[str, Any], imperial: bool = False) -> list[tuple[str, str]]:
    """The summary table's rows: only the figures the ride has."""
    rows = []

    def add(label: str, value: Any, fmt: str) -> None:
        if value is not None:
            rows.append((label, fmt.format(value)))

    add("Distance", a.get("distanceMeters") and a["distanceMeters"] / 1000, "{:.1f} km")
    add("Elevation gain", a.get("elevationGainMeters"), "{:.0f} m")
    add("Average speed", a.get("averageSpeed") and a["averageSpeed"] * 3.6, "{:.1f} km/h")
    add("Average power", a.get("averagePower"), "{:.0f} W")
    add("Normalized power", a.get("normalizedPower"), "{:.0f} W")
    add("Max power", a.get("maxPower"), "{:.0f} W")
    add("Intensity factor", a.get("intensityFactor"), "{:.2f}")
    add("TSS", a.get("tss"), "{:.0f}")
    add("Work", a.get("workKj"), "{:.0f} kJ")
    add("Average heart rate", a.get("averageHeartRate"), "{:.0f} bpm")
    add("Max heart rate", a.get("maxHeartRate"), "{:.0f} bpm")
    add("Average cadence", a.get("averageCadence"), "{:.0f} rpm")
    add("Variability index", a.get("variabilityIndex"), "{:.2f}")
    return rows
