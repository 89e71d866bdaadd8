"""GET/PATCH /api/v1/athlete and the FTP history, through the real HTTP API."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.conftest import Caller
from trainerday_server.models import FtpHistory


def test_profile_fields(client, me: Caller):
    body = client.get("/api/v1/athlete", headers=me.headers).json()
    assert set(body) == {
        "id", "name", "email", "weightKg", "ftp", "lthr", "maxHeartRate", "restingHeartRate",
        "timezone", "units", "ctlStart", "atlStart", "powerZones", "heartRateZones",
    }  # fmt: skip
    assert body["id"] == me.athlete.id
    assert body["name"] == "Test Rider"
    assert body["ftp"] == 200
    assert body["timezone"] == "UTC"
    assert body["units"] == "metric"
    assert body["heartRateZones"] == []


def test_power_zones_come_with_watts(client, me: Caller):
    zones = client.get("/api/v1/athlete", headers=me.headers).json()["powerZones"]
    assert zones[0] == {"zone": 1, "name": "Active Recovery", "minWatts": 0, "maxWatts": 110}
    assert zones[3] == {"zone": 4, "name": "Lactate Threshold", "minWatts": 181, "maxWatts": 210}
    assert zones[6] == {"zone": 7, "name": "Neuromuscular Power", "minWatts": 301, "maxWatts": None}


def test_patch_changes_only_what_is_sent(client, me: Caller):
    response = client.patch(
        "/api/v1/athlete",
        headers=me.headers,
        json={
            "weightKg": 71.5,
            "lthr": 170,
            "maxHeartRate": 190,
            "timezone": "Europe/Berlin",
            "units": "imperial",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["weightKg"], body["lthr"], body["maxHeartRate"]) == (71.5, 170, 190)
    assert (body["timezone"], body["units"], body["name"], body["ftp"]) == (
        "Europe/Berlin",
        "imperial",
        "Test Rider",
        200,
    )
    assert body["heartRateZones"][0] == {"zone": 1, "name": "Active Recovery", "minBpm": 0, "maxBpm": 115}
    assert body["heartRateZones"][4]["maxBpm"] is None
    assert client.get("/api/v1/athlete", headers=me.headers).json() == body


def test_optional_physiology_can_be_cleared(client, me: Caller):
    client.patch("/api/v1/athlete", headers=me.headers, json={"lthr": 170})
    body = client.patch("/api/v1/athlete", headers=me.headers, json={"lthr": None}).json()
    assert body["lthr"] is None and body["heartRateZones"] == []


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"ftp": 0}, "ftp"),
        ({"ftp": 2001}, "ftp"),
        ({"ftp": "fast"}, "ftp"),
        ({"ftp": 250.5}, "ftp"),
        ({"ftp": None}, "ftp"),
        ({"weightKg": 19.9}, "weightKg"),
        ({"weightKg": 300.1}, "weightKg"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": None}, "timezone"),
        ({"units": "furlongs"}, "units"),
        ({"name": ""}, "name"),
        ({"maxHeartRate": 300}, "maxHeartRate"),
        ({"restingHeartRate": 120, "maxHeartRate": 110}, "restingHeartRate"),
        ({"lthr": 200, "maxHeartRate": 190}, "lthr"),
        ({"email": "new@example.com"}, "email"),
        ({"id": 7}, "id"),
        ({"ftp": True}, "ftp"),
        ({"ftp": "250"}, "ftp"),
        ({"weightKg": "71.5"}, "weightKg"),
        ({"lthr": 170.5}, "lthr"),
        ({"timezone": "localtime"}, "timezone"),
    ],
)
def test_invalid_patches_are_400_naming_the_field_and_change_nothing(client, me: Caller, patch, field):
    before = client.get("/api/v1/athlete", headers=me.headers).json()
    response = client.patch("/api/v1/athlete", headers=me.headers, json=patch)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400
    assert field in [e["field"] for e in problem["errors"]], problem
    assert client.get("/api/v1/athlete", headers=me.headers).json() == before


def test_patch_body_must_be_a_json_object(client, me: Caller):
    response = client.patch(
        "/api/v1/athlete", headers={**me.headers, "Content-Type": "application/json"}, content=b"{not json"
    )
    assert response.status_code == 400
    assert response.json()["errors"]


def test_ftp_change_updates_zones_and_history(client, me: Caller, db):
    body = client.patch("/api/v1/athlete", headers=me.headers, json={"ftp": 300}).json()
    assert body["ftp"] == 300
    assert body["powerZones"][0]["maxWatts"] == 165
    history = client.get("/api/v1/athlete/ftp-history", headers=me.headers).json()["data"]
    today = dt.datetime.now(dt.UTC).date().isoformat()
    # The account's first FTP and today's change fall on the same day: the day's last value stands.
    assert history == [{"effectiveDate": today, "ftp": 300}]


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])  # UTC+14, UTC-11
def test_an_ftp_change_counts_from_the_athletes_own_day(client, me: Caller, zone: str):
    """At any moment one of these two zones is on another date than UTC: the change must land on the
    athlete's local date, which is what ride metrics look up."""
    local_today = dt.datetime.now(ZoneInfo(zone)).date().isoformat
    before = local_today()
    changed = client.patch("/api/v1/athlete", headers=me.headers, json={"timezone": zone, "ftp": 333})
    assert changed.status_code == 200
    after = local_today()
    history = client.get("/api/v1/athlete/ftp-history", headers=me.headers).json()["data"]
    assert [e["effectiveDate"] for e in history if e["ftp"] == 333] in ([before], [after])


def test_ftp_in_force_on_a_day(db, factory):
    from trainerday_server.athlete.service import ftp_on
    from trainerday_server.db import make_session_factory, session_scope

    athlete = factory.athlete(ftp=200)
    sessions = make_session_factory(db.engine, writer=True)
    with session_scope(sessions) as session:
        session.execute(sa.delete(FtpHistory))
        for day, ftp in [("2026-01-01", 220), ("2026-03-01", 240), ("2026-06-15", 260)]:
            session.add(FtpHistory(athlete_id=athlete.id, effective_date=dt.date.fromisoformat(day), ftp=ftp))
    with session_scope(sessions) as session:
        assert ftp_on(session, athlete.id, dt.date(2025, 12, 1)) == 220  # before any record: the first known
        assert ftp_on(session, athlete.id, dt.date(2026, 1, 1)) == 220
        assert ftp_on(session, athlete.id, dt.date(2026, 2, 28)) == 240 - 20
        assert ftp_on(session, athlete.id, dt.date(2026, 3, 1)) == 240
        assert ftp_on(session, athlete.id, dt.date(2027, 1, 1)) == 260


def test_scopes(client, factory):
    from tests.conftest import bearer

    athlete = factory.athlete()
    read_only = factory.key(athlete.id, "athlete:read")
    assert client.get("/api/v1/athlete", headers=bearer(read_only)).status_code == 200
    assert client.patch("/api/v1/athlete", headers=bearer(read_only), json={"ftp": 250}).status_code == 403
    write_only = factory.key(athlete.id, "athlete:write")
    assert client.get("/api/v1/athlete", headers=bearer(write_only)).status_code == 403
    assert client.patch("/api/v1/athlete", headers=bearer(write_only), json={"ftp": 250}).status_code == 200
