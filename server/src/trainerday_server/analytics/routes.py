"""/api/v1/athlete/{fitness,power-curve,ftp-estimate,summary} and /api/v1/activities/recompute.

Reads answer from a whole-response cache keyed by the athlete's data revision (``cache.RevisionCache``), as
the calendar does: every write that changes a ride, the plan or the profile sets a new revision, so a cached
body is always what the database would give. The athlete's today is part of the key of the answers that
depend on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from typing import Annotated, Any, Literal

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from trainerday_server.analytics import service
from trainerday_server.analytics.schemas import (
    FitnessOut,
    FtpEstimateOut,
    RecomputedOut,
    SeasonPowerCurveOut,
    SummaryOut,
)
from trainerday_server.auth.principal import Principal
from trainerday_server.db import session_scope
from trainerday_server.deps import SessionDep, require_scope
from trainerday_server.errors import NotFound
from trainerday_server.models import Athlete
from trainerday_server.schemas import IsoDate

router = APIRouter(tags=["analytics"])
JSON = "application/json"
Reader = Annotated[Principal, require_scope("athlete:read")]
StartDate = Annotated[IsoDate, Query(alias="startDate", description="First local date, YYYY-MM-DD")]
EndDate = Annotated[
    IsoDate, Query(alias="endDate", description="Last local date; at most ten years after startDate")
]
RANGE_ERROR: dict[int | str, dict[str, Any]] = {
    400: {"description": "A bad date, or a range longer than ten years"}
}


def _today(request: Request, session: Session, athlete_id: int) -> dt.date:
    """The athlete's calendar day by the app's clock (which tests may freeze)."""
    zone = session.scalar(sa.select(Athlete.timezone).where(Athlete.id == athlete_id))
    if zone is None:
        raise NotFound("athlete not found")
    return service.athlete_today(zone, request.app.state.clock())


def _cached(request: Request, me: Principal, key: Hashable, build: Callable[[], object]) -> Response:
    cache = request.app.state.analytics_cache
    full_key = (me.athlete_id, key)
    body = cache.get(full_key, me.data_revision)
    if body is None:
        body = orjson.dumps(service.wire(build()))
        cache.put(full_key, me.data_revision, body)
    return Response(body, media_type=JSON)


@router.get(
    "/api/v1/athlete/fitness",
    response_model=FitnessOut,
    summary="Fitness, fatigue and form (CTL, ATL, TSB) day by day, optionally projected through your plan",
    responses=RANGE_ERROR,
)
def read_fitness(
    request: Request,
    session: SessionDep,
    me: Reader,
    start_date: StartDate,
    end_date: EndDate,
    project_planned: Annotated[
        bool,
        Query(
            alias="projectPlanned",
            description="Continue after today with the planned workouts' TSS (those days are projected)",
        ),
    ] = False,
) -> Response:
    service.check_range(start_date, end_date)
    today = _today(request, session, me.athlete_id)
    return _cached(
        request,
        me,
        ("fitness", start_date, end_date, project_planned, today),
        lambda: service.fitness(
            session, me.athlete_id, start_date, end_date, project_planned=project_planned, today=today
        ),
    )


@router.get(
    "/api/v1/athlete/power-curve",
    response_model=SeasonPowerCurveOut,
    summary="Your season's mean-maximal power, each duration with the ride that set it",
    responses=RANGE_ERROR,
)
def read_power_curve(
    request: Request, session: SessionDep, me: Reader, start_date: StartDate, end_date: EndDate
) -> Response:
    service.check_range(start_date, end_date)
    return _cached(
        request,
        me,
        ("power-curve", start_date, end_date),
        lambda: service.season_power_curve(session, me.athlete_id, start_date, end_date),
    )


@router.get(
    "/api/v1/athlete/ftp-estimate",
    response_model=FtpEstimateOut,
    summary="An FTP estimate from your last 90 days of rides (it never changes your FTP)",
)
def read_ftp_estimate(request: Request, session: SessionDep, me: Reader) -> Response:
    today = _today(request, session, me.athlete_id)
    return _cached(
        request,
        me,
        ("ftp-estimate", today),
        lambda: service.estimate_ftp(session, me.athlete_id, today=today),
    )


@router.get(
    "/api/v1/athlete/summary",
    response_model=SummaryOut,
    summary="Done and planned training per week or month, side by side, with compliance",
    responses=RANGE_ERROR,
)
def read_summary(
    request: Request,
    session: SessionDep,
    me: Reader,
    start_date: StartDate,
    end_date: EndDate,
    period: Annotated[
        Literal["week", "month"], Query(description="week: Monday to Sunday; month: calendar months")
    ] = "week",
) -> Response:
    service.check_range(start_date, end_date)
    return _cached(
        request,
        me,
        ("summary", start_date, end_date, period),
        lambda: service.summary(session, me.athlete_id, start_date, end_date, period),
    )


@router.post(
    "/api/v1/activities/recompute",
    response_model=RecomputedOut,
    tags=["activities"],
    summary="Recompute IF, TSS and zone times of rides from a date on, at the FTP in force on their dates",
)
def recompute(
    request: Request,
    me: Annotated[Principal, require_scope("activities:write")],
    since: Annotated[IsoDate, Query(description="First local date whose rides are recomputed, YYYY-MM-DD")],
) -> Response:
    # Computed in a read transaction, written in a short one: decoding years of rides must not hold the
    # database's write lock (on SQLite, every other writer would wait for it).
    state = request.app.state
    with session_scope(state.read_sessions) as session:
        rides = service.recomputed_rides(session, me.athlete_id, since)
    with session_scope(state.write_sessions) as session:
        count = service.write_recomputed(session, me.athlete_id, rides)
    return Response(orjson.dumps({"recomputed": count}), media_type=JSON)
