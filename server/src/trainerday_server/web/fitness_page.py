"""``/fitness``: the Performance Management Chart (CTL, ATL, TSB, daily TSS) and the season's mean-max power
curve, from the analytics service (``trainerday_server.analytics.service``, the analytics lane's interface).

Importing this module fails while that package is absent; ``web/pages.py`` then leaves the page out."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from starlette.responses import Response

from trainerday_server.analytics import service as analytics
from trainerday_server.athlete.service import get_athlete, today_for
from trainerday_server.deps import SessionDep
from trainerday_server.errors import ValidationFailed
from trainerday_server.web.charts import pmc_chart, power_curve_chart
from trainerday_server.web.common import AthletePageDep, error_message
from trainerday_server.web.templates import render

router = APIRouter(include_in_schema=False)
RANGES = {"42": 42, "90": 90, "180": 180, "365": 365}


@router.get("/fitness")
def fitness_page(request: Request, page: AthletePageDep, session: SessionDep) -> Response:
    today = today_for(get_athlete(session, page.athlete_id))
    chosen = request.query_params.get("days", "90")
    status, error = 200, None
    if chosen not in RANGES:
        status, error = (
            400,
            error_message(ValidationFailed.single("days", f"must be one of {', '.join(RANGES)}")),
        )
        chosen = "90"
    start = today - dt.timedelta(days=RANGES[chosen] - 1)
    end = today + dt.timedelta(days=14)  # two weeks of the plan ahead, projected
    fitness = analytics.fitness(session, page.athlete_id, start, end, project_planned=True)
    curve = analytics.season_power_curve(session, page.athlete_id, start, today)
    latest = next((d for d in reversed(fitness.days) if not d.projected), None)
    return render(
        request,
        "fitness.html",
        page.visitor,
        status=status,
        error=error,
        chosen=chosen,
        ranges=list(RANGES),
        latest=latest,
        pmc=pmc_chart(fitness.days, today),
        curve=power_curve_chart([(p.seconds, p.watts) for p in curve.points]),
        points=curve.points,
    )
