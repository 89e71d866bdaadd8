"""/settings: profile (FTP changes show in the history), zones, the iCal feed address, password, deletion."""

from __future__ import annotations

import re

import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.conftest import PASSWORD, Database, bearer
from tests.web.pages import logged_in, messages, submit
from trainerday_server.models import Athlete, CalendarFeed, FtpHistory, WebSession

PROFILE = {
    "name": "Rider",
    "weight_kg": "71.5",
    "ftp": "280",
    "lthr": "170",
    "max_heart_rate": "190",
    "resting_heart_rate": "48",
    "timezone": "Europe/Berlin",
    "units": "imperial",
}


def test_saving_the_profile_changes_it_and_records_the_ftp(browser: TestClient, factory, db: Database):
    athlete = factory.athlete(ftp=250)
    logged_in(browser, athlete.email)
    saved = submit(browser, "/settings", "/settings/profile", PROFILE)
    assert saved.status_code == 303
    page = browser.get(saved.headers["location"]).text
    assert "Profile saved." in messages(page)
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(Athlete).where(Athlete.id == athlete.id)).one()
        history = conn.execute(sa.select(FtpHistory.ftp).order_by(FtpHistory.id)).scalars().all()
    assert (row.weight_kg, row.ftp, row.lthr, row.timezone, row.units) == (
        71.5,
        280,
        170,
        "Europe/Berlin",
        "imperial",
    )
    assert history[-1] == 280 and "280 W" in page
    # The zone table is Coggan's, computed here: zone 2 from 56 % to 75 % of FTP.
    assert f"<td>{round(280 * 0.55) + 1}&ndash;{round(280 * 0.75)}</td>" in page
    assert "Heart-rate zones at threshold 170 bpm" in page


def test_a_bad_profile_is_refused_with_the_reason_and_changes_nothing(
    browser: TestClient, factory, db: Database
):
    athlete = factory.athlete(ftp=250)
    logged_in(browser, athlete.email)
    for fields, error in [
        ({"ftp": "lots"}, "whole number"),
        ({"ftp": "0"}, "greater than or equal to 1"),
        ({"timezone": "Mars/Olympus"}, "not an IANA time zone"),
        ({"resting_heart_rate": "140", "max_heart_rate": "130"}, "must be below maxHeartRate"),
        ({"units": "furlongs"}, "units"),
        ({"name": "x\x00"}, "NUL"),
    ]:
        response = submit(browser, "/settings", "/settings/profile", {**PROFILE, **fields})
        assert response.status_code == 400, fields
        assert any(error in m for m in messages(response.text)), (fields, messages(response.text))
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(Athlete.ftp, Athlete.timezone)).one() == (250, "UTC")


def test_the_feed_address_is_created_shown_again_and_rotated(browser: TestClient, factory, db: Database):
    logged_in(browser, factory.athlete().email)
    assert "/calendar/" not in browser.get("/settings").text
    submit(browser, "/settings", "/settings/feed")
    first = re.search(r"/calendar/([0-9a-f]{64})\.ics", browser.get("/settings").text).group(1)
    assert first in browser.get("/settings").text  # shown again, though only its nonce is stored
    submit(browser, "/settings", "/settings/feed")
    second = re.search(r"/calendar/([0-9a-f]{64})\.ics", browser.get("/settings").text).group(1)
    assert second != first
    with db.engine.connect() as conn:
        stored = conn.execute(sa.select(CalendarFeed.nonce, CalendarFeed.token_hash)).one()
    assert second not in stored


def test_changing_the_password_logs_out_other_browsers(browser: TestClient, factory, db: Database):
    athlete = factory.athlete()
    with TestClient(browser.app, base_url="https://testserver", follow_redirects=False) as other:
        logged_in(other, athlete.email)
        logged_in(browser, athlete.email)
        new = "a much better passphrase"
        wrong = submit(
            browser,
            "/settings",
            "/settings/password",
            {"current_password": "wrong", "new_password": new, "new_password_again": new},
        )
        assert wrong.status_code == 400 and "is not your current password" in " ".join(messages(wrong.text))
        changed = submit(
            browser,
            "/settings",
            "/settings/password",
            {"current_password": PASSWORD, "new_password": new, "new_password_again": new},
        )
        assert changed.status_code == 303
        assert browser.get("/settings").status_code == 200  # this browser got a new session
        assert other.get("/settings").status_code == 303  # the other one was logged out
        assert logged_in(other, athlete.email, new).get("/settings").status_code == 200


def test_deleting_needs_the_email_and_password_then_removes_everything(
    browser: TestClient, factory, db: Database
):
    athlete, other = factory.athlete(), factory.athlete()
    key, other_key = factory.key(athlete.id), factory.key(other.id)
    logged_in(browser, athlete.email)
    refused = submit(
        browser, "/settings", "/settings/delete", {"confirm_email": athlete.email, "password": "no"}
    )
    assert refused.status_code == 400
    deleted = submit(
        browser,
        "/settings",
        "/settings/delete",
        {"confirm_email": athlete.email.upper(), "password": PASSWORD},
    )
    assert deleted.status_code == 303
    api = TestClient(browser.app)
    assert api.get("/api/v1/athlete", headers=bearer(key)).status_code == 401
    assert api.get("/api/v1/athlete", headers=bearer(other_key)).status_code == 200
    with db.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Athlete)) == 1
        assert (
            conn.scalar(
                sa.select(sa.func.count()).select_from(WebSession).where(WebSession.athlete_id == athlete.id)
            )
            == 0
        )
    assert browser.get("/settings").status_code == 303
