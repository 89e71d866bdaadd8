"""/api/v1/athlete/connections: the apps an athlete has connected through OAuth, and disconnecting them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Request, Response

from trainerday_server.auth.principal import Principal
from trainerday_server.deps import SessionDep, require_scope
from trainerday_server.oauth2 import service
from trainerday_server.schemas import ApiOut

router = APIRouter(prefix="/api/v1/athlete/connections", tags=["athlete"])


class ConnectionOut(ApiOut):
    client_id: str
    name: str
    scopes: list[str]
    connected_at: dt.datetime
    last_used_at: dt.datetime | None


class ConnectionsOut(ApiOut):
    data: list[ConnectionOut]


@router.get("", response_model=ConnectionsOut, summary="Apps connected to your account")
def list_connections(
    request: Request, session: SessionDep, me: Annotated[Principal, require_scope("athlete:read")]
) -> ConnectionsOut:
    found = service.connections(session, me.athlete_id, request.app.state.clock())
    return ConnectionsOut.model_validate({"data": found})


@router.delete(
    "/{client_id}",
    status_code=204,
    summary="Disconnect an app: every token it holds for you stops working at once",
    responses={404: {"description": "No connected app with this client id"}},
)
def disconnect(
    client_id: str,
    request: Request,
    session: SessionDep,
    me: Annotated[Principal, require_scope("athlete:write")],
) -> Response:
    service.disconnect(session, me.athlete_id, client_id, request.app.state.clock())
    return Response(status_code=204)
