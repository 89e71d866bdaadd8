"""/activities: several files uploaded in one form with a result for each, the list, a ride's page with its
charts, and its downloads."""

from __future__ import annotations

import gzip
import re

import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.conftest import Caller
from tests.oauth2.flow import csrf_of
from tests.web.pages import logged_in
from trainerday_server.models import Activity

POWER_RIDE = "fit/20130717_143733.fit"
GPX_RIDE = "gpx"


def results(page: str) -> list[tuple[str, str]]:
    table = page.split("<caption>Upload results</caption>")[1].split("</table>")[0]
    return [
        (cls, re.sub(r"<[^>]+>", "", cell).strip())
        for cls, cell in re.findall(
            r'<tr class="result-(\w+)"><td>[^<]*</td><td>(.*?)</td></tr>', table, re.S
        )
    ]


def test_several_files_each_get_their_own_result(browser: TestClient, me: Caller, samples, db):
    ride = (samples / POWER_RIDE).read_bytes()
    logged_in(browser, me.athlete.email)
    token = csrf_of(browser.get("/activities").text)
    files = [
        ("files", ("ride.fit", ride)),
        ("files", ("same-ride.fit.gz", gzip.compress(ride))),  # the same ride again
        ("files", ("notes.txt", b"not a ride at all")),
    ]
    response = browser.post("/activities/upload", data={"csrf_token": token}, files=files)
    assert response.status_code == 200
    found = results(response.text)
    assert [outcome for outcome, _ in found] == ["created", "duplicate", "refused"]
    with db.engine.connect() as conn:
        (activity_id,) = conn.execute(sa.select(Activity.id)).scalars().all()
    assert f'href="/activities/{activity_id}"' in response.text
    listing = browser.get("/activities").text
    assert "1 ride." in listing and f'<a href="/activities/{activity_id}">' in listing


def test_an_upload_without_files_or_csrf_token_stores_nothing(browser: TestClient, me: Caller, samples, db):
    logged_in(browser, me.athlete.email)
    token = csrf_of(browser.get("/activities").text)
    assert browser.post("/activities/upload", data={"csrf_token": token}).status_code == 400
    ride = (samples / POWER_RIDE).read_bytes()
    forged = browser.post("/activities/upload", data={"csrf_token": "x"}, files=[("files", ("r.fit", ride))])
    assert forged.status_code == 400
    with db.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def test_a_rides_page_draws_its_charts_and_offers_its_files(
    browser: TestClient, client: TestClient, me: Caller, samples
):
    ride = (samples / POWER_RIDE).read_bytes()
    created = client.post(
        "/api/v1/activities/upload", headers=me.headers, files={"file": ("r.fit", ride)}
    ).json()
    logged_in(browser, me.athlete.email)
    page = browser.get(f"/activities/{created['id']}").text
    assert f"<h1>{created['name']}</h1>" in page
    assert "Power over time" in page and "Mean-max power curve on a log time axis" in page
    assert "Time in power zones" in page
    assert f'<td class="number">{created["tss"]:.0f}</td>' in page
    streams = client.get(f"/api/v1/activities/{created['id']}/streams", headers=me.headers).json()
    if streams.get("latitude"):
        assert 'class="route"' in page
    original = browser.get(f"/activities/{created['id']}/original")
    assert original.status_code == 200 and original.content == ride
    fit = browser.get(f"/activities/{created['id']}/fit")
    assert fit.status_code == 200 and fit.content[8:12] == b".FIT"


def test_another_athletes_ride_is_not_found(
    browser: TestClient, client: TestClient, me: Caller, samples, factory
):
    ride = (samples / POWER_RIDE).read_bytes()
    created = client.post(
        "/api/v1/activities/upload", headers=me.headers, files={"file": ("r.fit", ride)}
    ).json()
    logged_in(browser, factory.athlete().email)
    for path in ("", "/original", "/fit"):
        assert browser.get(f"/activities/{created['id']}{path}").status_code == 404
