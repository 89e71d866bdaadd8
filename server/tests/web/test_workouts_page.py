"""/workouts: the library and its filters, a workout's page and downloads, importing a file."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.conftest import Caller
from tests.oauth2.flow import csrf_of
from tests.web.pages import logged_in, messages
from trainerday_server.models import LibraryWorkout

FIXTURES = Path(__file__).parents[1] / "workouts" / "fixtures"


def add(client: TestClient, caller: Caller, title: str, segments: list) -> int:
    response = client.post(
        "/api/v1/workouts", headers=caller.headers, json={"title": title, "segments": segments}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def titles(page: str) -> list[str]:
    import re

    return re.findall(r'<td><a href="/workouts/\d+">([^<]+)</a>', page)


def test_the_library_lists_and_finds_by_name_zone_and_duration(
    browser: TestClient, client: TestClient, me: Caller
):
    add(client, me, "Easy spin", [[60, 55, 55]])  # 60 min, zone 1
    add(client, me, "Threshold", [[10, 50, 50], [20, 100, 100], [10, 50, 50]])  # 40 min
    add(client, me, "VO2 short", [[5, 50, 50], [10, 115, 115], [5, 50, 50]])  # 20 min
    logged_in(browser, me.athlete.email)
    assert titles(browser.get("/workouts").text) == ["VO2 short", "Threshold", "Easy spin"]
    assert titles(browser.get("/workouts", params={"name": "THRESH"}).text) == ["Threshold"]
    assert titles(browser.get("/workouts", params={"zone": "1"}).text) == ["Easy spin"]
    assert titles(browser.get("/workouts", params={"from": "30", "to": "45"}).text) == ["Threshold"]
    bad = browser.get("/workouts", params={"zone": "9"})
    assert bad.status_code == 400 and any("from 1 to 7" in m for m in messages(bad.text))


def test_a_workouts_page_has_its_chart_metrics_and_every_download(
    browser: TestClient, client: TestClient, me: Caller
):
    workout_id = add(client, me, "Threshold", [[10, 50, 50], [20, 100, 100], [10, 50, 50]])
    api = client.get(f"/api/v1/workouts/{workout_id}", headers=me.headers).json()["metrics"]
    logged_in(browser, me.athlete.email)
    page = browser.get(f"/workouts/{workout_id}").text
    assert page.count("<polygon") == 3 and f'<td class="number">{api["tss"]:.0f}</td>' in page
    for fmt in ("zwo", "erg", "mrc", "fit"):
        mine = browser.get(f"/workouts/{workout_id}/download/{fmt}")
        theirs = client.get(
            f"/api/v1/workouts/{workout_id}/export", params={"format": fmt}, headers=me.headers
        )
        assert mine.status_code == 200 and mine.content == theirs.content, fmt
        assert mine.headers["content-disposition"].startswith("attachment")
    assert browser.get(f"/workouts/{workout_id}/download/exe").status_code == 400


def test_another_athletes_workout_is_not_found(browser: TestClient, client: TestClient, me: Caller, factory):
    workout_id = add(client, me, "Mine", [[10, 60, 60]])
    logged_in(browser, factory.athlete().email)
    assert browser.get(f"/workouts/{workout_id}").status_code == 404
    assert browser.get(f"/workouts/{workout_id}/download/zwo").status_code == 404


def test_importing_a_file_adds_it_and_a_bad_file_is_refused(browser: TestClient, me: Caller, db):
    logged_in(browser, me.athlete.email)
    token = csrf_of(browser.get("/workouts").text)
    data = (FIXTURES / "over_unders.zwo").read_bytes()
    imported = browser.post(
        "/workouts/import", data={"csrf_token": token}, files={"file": ("over_unders.zwo", data)}
    )
    assert imported.status_code == 303 and imported.headers["location"].startswith("/workouts/")
    bad = browser.post(
        "/workouts/import", data={"csrf_token": token}, files={"file": ("x.zwo", b"<not a workout")}
    )
    assert bad.status_code == 400 and messages(bad.text)
    empty = browser.post("/workouts/import", data={"csrf_token": token}, files={"file": ("x.zwo", b"")})
    assert empty.status_code == 400
    forged = browser.post("/workouts/import", data={"csrf_token": "x"}, files={"file": ("o.zwo", data)})
    assert forged.status_code == 400
    with db.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(LibraryWorkout)) == 1
