"""``GET /api/v1/athlete/export``: everything the athlete has stored here, as a zip sent while it is made."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from trainerday_server.auth.bearer import check_scope
from trainerday_server.auth.principal import Principal
from trainerday_server.deps import require_scope
from trainerday_server.export.service import export_archive

router = APIRouter(prefix="/api/v1/athlete", tags=["athlete"])
READ_SCOPES = ("athlete:read", "calendar:read", "workout:read", "activities:read")


@router.get(
    "/export",
    summary="Export everything: a zip of JSON per resource and every original activity file",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "The archive (see docs/api.md)"}},
)
def export(request: Request, me: Annotated[Principal, require_scope("athlete:read")]) -> StreamingResponse:
    for scope in READ_SCOPES[1:]:  # it reads every resource: it needs every read scope
        check_scope(me, scope, "the export")
    state = request.app.state
    today = state.clock().date().isoformat()
    return StreamingResponse(
        export_archive(state.read_sessions, state.file_storage, me.athlete_id, state.clock()),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="trainerday-export-{me.athlete_id}-{today}.zip"',
            "Cache-Control": "no-store",
        },
    )
