"""/fitness: the PMC drawn from the analytics service (the analytics lane's), and the chart itself.

Until ``trainerday_server.analytics`` exists the page is left out (404, no link); once it does, the page
tests run against it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from types import SimpleNamespace

from starlette.testclient import TestClient

from tests.conftest import Caller
from tests.web.pages import logged_in
from trainerday_server.activities.fitexport import recording_to_fit
from trainerday_server.activities.synthetic import synthetic_ride
from trainerday_server.web.charts import pmc_chart


def test_the_pmc_chart_draws_each_line_and_dashes_the_projection():
    days = [
        SimpleNamespace(
            date=dt.date(2026, 1, 1) + dt.timedelta(days=i),
            tss=50.0 * (i % 2),
            ctl=10 + i,
            atl=20 - i,
            tsb=-10 + 2 * i,
            projected=i >= 8,
        )
        for i in range(10)
    ]
    svg = str(pmc_chart(days, dt.date(2026, 1, 8)))
    assert svg.count("<polyline") == 6  # CTL, ATL, TSB: done and projected each
    assert svg.count('stroke-dasharray="5 4"') == 3
    assert svg.count("<rect") == 5  # a bar for each day with TSS
    # The label reads the last day that is not projected: day 7, CTL 17, ATL 13, TSB 4.
    assert 'aria-label="Fitness 17, fatigue 13, form 4 on 2026-01-08"' in svg


def test_the_fitness_page_shows_what_the_analytics_api_says(
    browser: TestClient, client: TestClient, me: Caller
):
    # Two recent rides (synthetic, dated a few days ago), so today's load is not zero.
    for days_ago, seed in ((3, 1), (1, 2)):
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=days_ago)
        ride = recording_to_fit(
            dataclasses.replace(synthetic_ride(1.5, seed=seed, pauses=0), start_time=start), ftp=250
        )
        assert (
            client.post(
                "/api/v1/activities/upload", headers=me.headers, files={"file": ("r.fit", ride)}
            ).status_code
            == 201
        )
    logged_in(browser, me.athlete.email)
    page = browser.get("/fitness", params={"days": "90"})
    assert page.status_code == 200 and 'href="/fitness"' in page.text
    today = dt.date.today()
    api = client.get(
        "/api/v1/athlete/fitness",
        params={"startDate": (today - dt.timedelta(days=89)).isoformat(), "endDate": today.isoformat()},
        headers=me.headers,
    ).json()
    last = api["days"][-1]
    assert last["ctl"] > 1
    assert f"fitness (CTL) <strong>{last['ctl']:.0f}</strong>" in page.text
    assert f"form (TSB) <strong>{last['tsb']:.0f}</strong>" in page.text
    assert "Mean-max power curve on a log time axis" in page.text
    assert browser.get("/fitness", params={"days": "7"}).status_code == 400
