"""The analytics API over rides uploaded through the API: every figure checked against one computed here from
the activities' own figures, scopes, range limits, caching, and no athlete seeing another's rides."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from tests.analytics.rides import at, upload_ride
from tests.conftest import Caller, bearer
from trainerday_server.analytics import service
from trainerday_server.db import session_scope
from trainerday_server.models import Activity, ActivityPowerCurve

D1 = dt.date(2025, 3, 3)  # a Monday
FITNESS = "/api/v1/athlete/fitness"
CURVE = "/api/v1/athlete/power-curve"
ESTIMATE = "/api/v1/athlete/ftp-estimate"
SUMMARY = "/api/v1/athlete/summary"
RECOMPUTE = "/api/v1/activities/recompute"
# The activity curve's durations up to five hours, as docs/api.md states them.
LADDER = [
    *range(1, 61),
    *range(70, 301, 10),
    *range(360, 1201, 60),
    *range(1500, 3601, 300),
    *range(4500, 10801, 900),
    *range(12600, 18001, 1800),
]


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def expected_fitness(
    rides: list[dict[str, Any]], start: dt.date, end: dt.date, ctl0: float = 0.0, atl0: float = 0.0
) -> list[dict[str, Any]]:
    """TrainingPeaks' recurrences, from the first ride, over the activities' own TSS and local dates."""
    load: dict[dt.date, float] = {}
    for ride in rides:
        day = dt.date.fromisoformat(ride["startTimeLocal"][:10])
        load[day] = load.get(day, 0.0) + (ride["tss"] or 0.0)
    first = min(load)
    ctl, atl, history = ctl0, atl0, {}
    out = []
    for day in days_between(min(first, start), end):
        yesterday = (ctl, atl)
        if day >= first:
            ctl += (load.get(day, 0.0) - ctl) / 42
            atl += (load.get(day, 0.0) - atl) / 7
        history[day] = ctl
        week_ago = history.get(day - dt.timedelta(days=7), ctl0)
        if day >= start:
            out.append(
                {
                    "date": day.isoformat(),
                    "tss": round(load.get(day, 0.0), 1),
                    "ctl": ctl,
                    "atl": atl,
                    "tsb": yesterday[0] - yesterday[1],
                    "rampRate": ctl - week_ago,
                }
            )
    return out


def assert_fitness(body: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    assert [d["date"] for d in body["days"]] == [e["date"] for e in expected]
    for got, want in zip(body["days"], expected, strict=True):
        assert got["tss"] == want["tss"]
        for name in ("ctl", "atl", "tsb", "rampRate"):
            assert got[name] == pytest.approx(want[name], abs=0.006), (got["date"], name)


def expected_curve(rides: list[dict[str, Any]]) -> list[tuple[int, float, int]]:
    """(seconds, watts, activity id) per ladder duration: the best of the rides' own curves, earliest first
    on a tie (rides ordered by local date, then id)."""
    ordered = sorted(rides, key=lambda r: (r["startTimeLocal"][:10], r["id"]))
    out = []
    for seconds in LADDER:
        best = None
        for ride in ordered:
            curve = dict(zip(ride["powerCurve"]["seconds"], ride["powerCurve"]["watts"], strict=True))
            if seconds in curve and (best is None or curve[seconds] > best[1]):
                best = (seconds, curve[seconds], ride["id"])
        if best is not None:
            out.append(best)
    return out


# --- fitness ---------------------------------------------------------------------------------------------


def test_fitness_from_uploaded_rides(client, me: Caller):
    rides = [
        upload_ride(client, me, at(D1), minutes=60, seed=1),
        upload_ride(client, me, at(D1 + dt.timedelta(days=2)), minutes=45, seed=2),
        upload_ride(client, me, at(D1 + dt.timedelta(days=2), 17), minutes=30, seed=3),
    ]
    assert all(r["tss"] > 20 for r in rides)
    start, end = D1 - dt.timedelta(days=2), D1 + dt.timedelta(days=12)
    response = client.get(FITNESS, headers=me.headers, params={"startDate": start, "endDate": end})
    assert response.status_code == 200
    body = response.json()
    assert body["startDate"] == start.isoformat() and body["endDate"] == end.isoformat()
    assert_fitness(body, expected_fitness(rides, start, end))
    assert body["days"][0] == {
        "date": start.isoformat(), "tss": 0.0, "plannedTss": 0.0, "ctl": 0.0, "atl": 0.0, "tsb": 0.0,
        "rampRate": 0.0, "projected": False,
    }  # fmt: skip
    # A window after the rides still starts from the load they built.
    late = D1 + dt.timedelta(days=30)
    window = client.get(FITNESS, headers=me.headers, params={"startDate": late, "endDate": late}).json()
    assert_fitness(window, expected_fitness(rides, late, late))


def test_seed_values_from_the_profile(client, me: Caller):
    rides = [upload_ride(client, me, at(D1), minutes=40)]
    changed = client.patch("/api/v1/athlete", headers=me.headers, json={"ctlStart": 55.5, "atlStart": 70})
    assert changed.status_code == 200
    assert (changed.json()["ctlStart"], changed.json()["atlStart"]) == (55.5, 70)
    start, end = D1 - dt.timedelta(days=1), D1 + dt.timedelta(days=8)
    body = client.get(FITNESS, headers=me.headers, params={"startDate": start, "endDate": end}).json()
    assert_fitness(body, expected_fitness(rides, start, end, 55.5, 70))
    assert body["days"][0]["ctl"] == 55.5 and body["days"][0]["tsb"] == -14.5
    cleared = client.patch("/api/v1/athlete", headers=me.headers, json={"ctlStart": None})
    assert cleared.json()["ctlStart"] is None
    for bad in ({"ctlStart": -1}, {"atlStart": 501}, {"ctlStart": "40"}):
        refused = client.patch("/api/v1/athlete", headers=me.headers, json=bad)
        assert refused.status_code == 400 and refused.headers["content-type"] == "application/problem+json"


def test_projection_through_planned_workouts(client, me: Caller, clock):
    today = client.app.state.clock().date()  # frozen for the test
    done = upload_ride(client, me, at(today - dt.timedelta(days=1), 8), minutes=50)
    planned = {}
    for offset, percent in ((1, 80), (3, 95)):
        day = today + dt.timedelta(days=offset)
        event = client.post(
            "/api/v1/calendar/events",
            headers=me.headers,
            json={
                "calendarDate": day.isoformat(),
                "embedWorkout": {"title": "Plan", "segments": [[30, percent, percent], [15, 60, 60]]},
            },
        )
        assert event.status_code == 201, event.text
        planned[day] = event.json()["metrics"]["tss"]
    start, end = today - dt.timedelta(days=1), today + dt.timedelta(days=4)
    params = {"startDate": start, "endDate": end, "projectPlanned": "true"}
    body = client.get(FITNESS, headers=me.headers, params=params).json()
    assert [d["projected"] for d in body["days"]] == [False, False, True, True, True, True]
    assert [d["plannedTss"] for d in body["days"]] == [planned.get(d, 0.0) for d in days_between(start, end)]
    ctl = done["tss"] / 42
    atl = done["tss"] / 7
    ctl *= 41 / 42  # today: no ride yet, nothing projected
    atl *= 6 / 7
    for day, got in zip(days_between(start, end)[2:], body["days"][2:], strict=True):
        ctl += (planned.get(day, 0.0) - ctl) / 42
        atl += (planned.get(day, 0.0) - atl) / 7
        assert got["ctl"] == pytest.approx(ctl, abs=0.006) and got["atl"] == pytest.approx(atl, abs=0.006)
    plain = client.get(FITNESS, headers=me.headers, params={"startDate": start, "endDate": end}).json()
    assert not any(d["projected"] for d in plain["days"])
    assert plain["days"][-1]["ctl"] < body["days"][-1]["ctl"]
    # A window wholly in the future still carries the load planned between today and its start.
    future = {"startDate": end - dt.timedelta(days=1), "endDate": end, "projectPlanned": "true"}
    assert client.get(FITNESS, headers=me.headers, params=future).json()["days"] == body["days"][-2:]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"startDate": "2025-03-10", "endDate": "2025-03-09"}, "endDate"),
        ({"startDate": "2010-01-01", "endDate": "2020-01-02"}, "endDate"),  # 3,654 days
        ({"startDate": "2025-3-1", "endDate": "2025-03-09"}, "startDate"),
        ({"startDate": "2025-03-01"}, "endDate"),
        ({"startDate": "2025-02-30", "endDate": "2025-03-09"}, "startDate"),
        ({"startDate": "0001-01-01", "endDate": "0001-01-31"}, "startDate"),
        ({"startDate": "2999-12-25", "endDate": "9999-12-31"}, "endDate"),
    ],
)
@pytest.mark.parametrize("path", [FITNESS, CURVE, SUMMARY])
def test_bad_ranges_are_a_400_problem(client, me: Caller, path, params, field):
    response = client.get(path, headers=me.headers, params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_ten_years_is_allowed_and_answers_every_day(client, me: Caller):
    params = {"startDate": "2010-01-01", "endDate": "2020-01-01"}  # 3,653 days
    body = client.get(FITNESS, headers=me.headers, params=params).json()
    assert len(body["days"]) == 3653 and {d["ctl"] for d in body["days"]} == {0.0}


# --- season power curve and FTP ---------------------------------------------------------------------------


def test_season_curve_is_the_best_of_the_rides(client, me: Caller):
    rides = [
        upload_ride(client, me, at(D1), minutes=70, seed=4),
        upload_ride(client, me, at(D1 + dt.timedelta(days=1)), minutes=20, seed=5, watts_scale=1.15),
        upload_ride(client, me, at(D1 + dt.timedelta(days=5)), minutes=30, seed=6, watts_scale=0.9),
    ]
    outside = upload_ride(client, me, at(D1 + dt.timedelta(days=40)), minutes=25, watts_scale=1.5)
    params = {"startDate": D1, "endDate": D1 + dt.timedelta(days=10)}
    body = client.get(CURVE, headers=me.headers, params=params).json()
    assert body["weightKg"] is None
    got = [(p["seconds"], p["watts"], p["activityId"]) for p in body["points"]]
    assert got == expected_curve(rides)
    assert {p["activityId"] for p in body["points"]} >= {rides[0]["id"], rides[1]["id"]}
    assert outside["id"] not in {p["activityId"] for p in body["points"]}
    dates = {r["id"]: r["startTimeLocal"][:10] for r in rides}
    assert all(p["date"] == dates[p["activityId"]] and p["wattsPerKg"] is None for p in body["points"])
    assert got[-1][0] == 3600  # the 70-minute ride reaches the hour, not 4,500 s

    client.patch("/api/v1/athlete", headers=me.headers, json={"weightKg": 72.5})
    weighed = client.get(CURVE, headers=me.headers, params=params).json()
    assert weighed["weightKg"] == 72.5
    assert [p["wattsPerKg"] for p in weighed["points"]] == [round(w / 72.5, 2) for _, w, _ in got]


def test_a_ride_without_a_curve_row_is_read_from_its_own_curve(client, me: Caller, db):
    """Rides stored by code that wrote no curve row still count, from the power curve they store."""
    rides = [
        upload_ride(client, me, at(D1), minutes=30, seed=12),
        upload_ride(client, me, at(D1, 15), seed=13),
    ]
    params = {"startDate": D1, "endDate": D1}
    before = client.get(CURVE, headers=me.headers, params=params).json()
    with db.engine.begin() as conn:
        conn.execute(sa.delete(ActivityPowerCurve).where(ActivityPowerCurve.activity_id == rides[0]["id"]))
    client.patch("/api/v1/athlete", headers=me.headers, json={"name": "New revision"})
    after = client.get(CURVE, headers=me.headers, params=params).json()
    assert after == before
    assert [(p["seconds"], p["watts"], p["activityId"]) for p in after["points"]] == expected_curve(rides)


def test_ftp_estimate_and_upload_suggestion(client, me: Caller, clock):
    today = client.app.state.clock().date()
    empty = client.get(ESTIMATE, headers=me.headers).json()
    assert empty == {
        "method": "95-percent-of-best-20-minutes-90-days", "ftp": None, "currentFtp": 200, "basedOn": []
    }  # fmt: skip
    old = upload_ride(client, me, at(today - dt.timedelta(days=120)), minutes=40, watts_scale=1.6)
    strong = upload_ride(client, me, at(today - dt.timedelta(days=3)), minutes=45, watts_scale=1.2)
    twenty = dict(zip(strong["powerCurve"]["seconds"], strong["powerCurve"]["watts"], strict=True))[1200]
    assert round(0.95 * twenty) > 200
    [suggestion] = strong["suggestions"]
    assert suggestion["type"] == "ftp"
    assert (suggestion["ftp"], suggestion["currentFtp"]) == (round(0.95 * twenty), 200)
    assert client.get(f"/api/v1/activities/{strong['id']}", headers=me.headers).json()["suggestions"] == [
        suggestion
    ]
    assert client.get("/api/v1/athlete", headers=me.headers).json()["ftp"] == 200  # never changed by itself
    estimate = client.get(ESTIMATE, headers=me.headers).json()
    assert estimate["ftp"] == round(0.95 * twenty) and estimate["currentFtp"] == 200
    assert estimate["basedOn"] == [
        {"activityId": strong["id"], "date": (today - dt.timedelta(days=3)).isoformat(), "seconds": 1200,
         "watts": twenty}
    ]  # fmt: skip
    assert old["id"] not in {r["activityId"] for r in estimate["basedOn"]}  # outside the 90 days
    easy = upload_ride(client, me, at(today - dt.timedelta(days=2)), minutes=30, watts_scale=0.5)
    assert easy["suggestions"] == []


# --- summaries -------------------------------------------------------------------------------------------


def test_weekly_and_monthly_summary_done_against_planned(client, me: Caller):
    me_lthr = client.patch("/api/v1/athlete", headers=me.headers, json={"lthr": 165})
    assert me_lthr.status_code == 200
    event = client.post(
        "/api/v1/calendar/events",
        headers=me.headers,
        json={
            "calendarDate": (D1 + dt.timedelta(days=1)).isoformat(),
            "embedWorkout": {"title": "Tempo", "segments": [[40, 85, 85], [20, 55, 55]]},
        },
    ).json()
    rides = [
        upload_ride(client, me, at(D1 + dt.timedelta(days=1)), minutes=55, seed=7),
        upload_ride(client, me, at(D1 + dt.timedelta(days=3)), minutes=35, seed=8),
        upload_ride(client, me, at(D1 + dt.timedelta(days=9)), minutes=30, seed=9),
    ]
    rides = [client.get(f"/api/v1/activities/{r['id']}", headers=me.headers).json() for r in rides]
    params = {"startDate": D1, "endDate": D1 + dt.timedelta(days=13), "period": "week"}
    body = client.get(SUMMARY, headers=me.headers, params=params).json()
    assert body["period"] == "week"
    first, second = body["periods"]
    assert (first["startDate"], first["endDate"]) == (D1.isoformat(), (D1 + dt.timedelta(days=6)).isoformat())
    week = rides[:2]
    assert first["done"] == {
        "rides": 2,
        "seconds": sum(r["timerSeconds"] for r in week),
        "distanceMeters": pytest.approx(sum(r["distanceMeters"] for r in week), abs=0.06),
        "elevationGainMeters": pytest.approx(sum(r["elevationGainMeters"] for r in week), abs=0.06),
        "workKj": pytest.approx(sum(r["workKj"] for r in week), abs=0.06),
        "tss": pytest.approx(sum(r["tss"] for r in week), abs=0.06),
        "powerZoneSeconds": [sum(z) for z in zip(*(r["timeInPowerZones"] for r in week), strict=True)],
        "heartRateZoneSeconds": [
            sum(z) for z in zip(*(r["timeInHeartRateZones"] for r in week), strict=True)
        ],
    }
    metrics = event["metrics"]
    assert first["planned"] == {
        "workouts": 1,
        "seconds": metrics["durationSeconds"],
        "tss": metrics["tss"],
        "powerZoneSeconds": metrics["timeInZones"],
    }
    assert first["compliancePercent"] == round(100 * sum(r["tss"] for r in week) / metrics["tss"])
    assert second["done"]["rides"] == 1 and second["planned"]["workouts"] == 0
    assert second["compliancePercent"] is None

    month = client.get(
        SUMMARY,
        headers=me.headers,
        params={"startDate": "2025-02-20", "endDate": "2025-03-31", "period": "month"},
    ).json()
    assert [(p["startDate"], p["endDate"]) for p in month["periods"]] == [
        ("2025-02-20", "2025-02-28"),
        ("2025-03-01", "2025-03-31"),
    ]
    assert [p["done"]["rides"] for p in month["periods"]] == [0, 3]
    bad = client.get(SUMMARY, headers=me.headers, params={**params, "period": "year"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "period"


# --- recompute -------------------------------------------------------------------------------------------


def test_recompute_at_the_ftp_in_force_only_when_asked(client, me: Caller):
    ride = upload_ride(client, me, at(D1), minutes=60, seed=10)
    assert ride["ftp"] == 200
    start, end = D1, D1 + dt.timedelta(days=1)
    before = client.get(FITNESS, headers=me.headers, params={"startDate": start, "endDate": end}).json()
    client.patch("/api/v1/athlete", headers=me.headers, json={"ftp": 250})
    # An FTP change alone rewrites no history.
    unchanged = client.get(f"/api/v1/activities/{ride['id']}", headers=me.headers).json()
    assert (unchanged["ftp"], unchanged["tss"]) == (200, ride["tss"])
    again = client.get(FITNESS, headers=me.headers, params={"startDate": start, "endDate": end}).json()
    assert again["days"] == before["days"]

    response = client.post(RECOMPUTE, headers=me.headers, params={"since": D1.isoformat()})
    assert response.status_code == 200 and response.json() == {"recomputed": 1}
    after = client.get(f"/api/v1/activities/{ride['id']}", headers=me.headers).json()
    # The athlete's FTP history holds one entry (created and changed today): it is in force for every date.
    assert after["ftp"] == 250
    assert after["intensityFactor"] == pytest.approx(ride["normalizedPower"] / 250, abs=0.0011)
    seconds = sum(ride["timeInPowerZones"])
    expected_tss = seconds * ride["normalizedPower"] ** 2 / (250**2 * 3600) * 100
    assert after["tss"] == pytest.approx(expected_tss, abs=0.2)
    assert sum(after["timeInPowerZones"]) == seconds
    assert after["timeInPowerZones"] != ride["timeInPowerZones"]  # the same watts sit in lower zones
    assert after["normalizedPower"] == ride["normalizedPower"] and after["workKj"] == ride["workKj"]
    refitted = client.get(FITNESS, headers=me.headers, params={"startDate": start, "endDate": end}).json()
    assert refitted["days"][0]["tss"] == after["tss"]
    later = client.post(RECOMPUTE, headers=me.headers, params={"since": "2025-03-04"})
    assert later.json() == {"recomputed": 0}
    for bad in ({}, {"since": "yesterday"}):
        refused = client.post(RECOMPUTE, headers=me.headers, params=bad)
        assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "since"


# --- access, caching ---------------------------------------------------------------------------------------


def test_scopes(client, factory, me: Caller):
    reader = factory.key(me.athlete.id, "activities:read")
    writer = factory.key(me.athlete.id, "athlete:read activities:read")
    params = {"startDate": "2025-03-01", "endDate": "2025-03-09"}
    for path in (FITNESS, CURVE, ESTIMATE, SUMMARY):
        assert client.get(path, headers=bearer(reader), params=params).status_code == 403
        assert client.get(path, headers=bearer(writer), params=params).status_code == 200
        unauthenticated = client.get(path, params=params)
        assert unauthenticated.status_code == 401 and "WWW-Authenticate" in unauthenticated.headers
    refused = client.post(RECOMPUTE, headers=bearer(writer), params={"since": "2025-03-01"})
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"


def test_another_athletes_rides_never_mixed_in(client, factory, me: Caller):
    other = factory.athlete(ftp=300)
    them = Caller(other, factory.key(other.id))
    theirs = upload_ride(client, them, at(D1), minutes=60, watts_scale=1.5)
    mine = upload_ride(client, me, at(D1 + dt.timedelta(days=1)), minutes=40)
    params = {"startDate": D1, "endDate": D1 + dt.timedelta(days=2)}
    fitness = client.get(FITNESS, headers=me.headers, params=params).json()
    assert [d["tss"] for d in fitness["days"]] == [0.0, mine["tss"], 0.0]
    curve = client.get(CURVE, headers=me.headers, params=params).json()
    assert {p["activityId"] for p in curve["points"]} == {mine["id"]}
    summary = client.get(SUMMARY, headers=me.headers, params=params).json()
    assert summary["periods"][0]["done"]["rides"] == 1
    recomputed = client.post(RECOMPUTE, headers=me.headers, params={"since": "2000-01-01"}).json()
    assert recomputed == {"recomputed": 1}
    assert client.get(f"/api/v1/activities/{theirs['id']}", headers=them.headers).json()["ftp"] == 300


def test_cached_answers_follow_every_write(client, me: Caller):
    params = {"startDate": D1, "endDate": D1 + dt.timedelta(days=3)}
    empty = client.get(FITNESS, headers=me.headers, params=params).json()
    assert client.get(FITNESS, headers=me.headers, params=params).json() == empty
    ride = upload_ride(client, me, at(D1), minutes=40)  # linked to no plan: still a new answer
    with_ride = client.get(FITNESS, headers=me.headers, params=params).json()
    assert with_ride["days"][0]["tss"] == ride["tss"]
    curve = client.get(CURVE, headers=me.headers, params=params).json()
    assert {p["activityId"] for p in curve["points"]} == {ride["id"]}
    assert client.delete(f"/api/v1/activities/{ride['id']}", headers=me.headers).status_code == 204
    assert client.get(FITNESS, headers=me.headers, params=params).json() == empty
    assert client.get(CURVE, headers=me.headers, params=params).json()["points"] == []
    client.patch("/api/v1/athlete", headers=me.headers, json={"ctlStart": 30})
    assert client.get(FITNESS, headers=me.headers, params=params).json()["days"][0]["ctl"] == 30


def test_openapi_documents_each_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path, method, scope in (
        (FITNESS, "get", "athlete:read"),
        (CURVE, "get", "athlete:read"),
        (ESTIMATE, "get", "athlete:read"),
        (SUMMARY, "get", "athlete:read"),
        (RECOMPUTE, "post", "activities:write"),
    ):
        operation = paths[path][method]
        assert {"oauth2": [scope]} in operation["security"]
        assert "$ref" in operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert {"401", "403"} <= set(operation["responses"])
    names = {p["name"] for p in paths[FITNESS]["get"]["parameters"]}
    assert names == {"startDate", "endDate", "projectPlanned"}


def test_recompute_scales_from_stored_figures_when_the_samples_disagree(client, me: Caller, db):
    """Stored samples lack a FIT file's timer pauses; when they no longer give the stored NP, IF and TSS are
    scaled from the stored NP and length, and the power zones are kept."""
    ride = upload_ride(client, me, at(D1), minutes=40, seed=11)
    stored_np = ride["normalizedPower"] + 7.5  # as if the samples had been ridden with pauses inside them
    with db.engine.begin() as conn:
        metrics = conn.execute(sa.select(Activity.metrics).where(Activity.id == ride["id"])).scalar_one()
        metrics = {**metrics, "normalizedPower": stored_np}
        conn.execute(sa.update(Activity).where(Activity.id == ride["id"]).values(metrics=metrics))
    client.patch("/api/v1/athlete", headers=me.headers, json={"ftp": 240})
    assert client.post(RECOMPUTE, headers=me.headers, params={"since": D1}).json() == {"recomputed": 1}
    after = client.get(f"/api/v1/activities/{ride['id']}", headers=me.headers).json()
    seconds = sum(ride["timeInPowerZones"])
    assert after["ftp"] == 240
    assert after["intensityFactor"] == round(stored_np / 240, 3)
    assert after["tss"] == round(seconds * stored_np**2 / (240**2 * 3600) * 100, 1)
    assert after["timeInPowerZones"] == ride["timeInPowerZones"]


def test_recompute_skips_a_ride_deleted_between_its_two_halves(client, me: Caller):
    kept = upload_ride(client, me, at(D1), minutes=30, seed=14)
    gone = upload_ride(client, me, at(D1, 16), minutes=30, seed=15)
    state = client.app.state
    client.patch("/api/v1/athlete", headers=me.headers, json={"ftp": 260})
    with session_scope(state.read_sessions) as session:
        rides = service.recomputed_rides(session, me.athlete.id, D1)
    assert [r.activity_id for r in rides] == [kept["id"], gone["id"]] and {r.ftp for r in rides} == {260}
    assert client.delete(f"/api/v1/activities/{gone['id']}", headers=me.headers).status_code == 204
    with session_scope(state.write_sessions) as session:
        assert service.write_recomputed(session, me.athlete.id, rides) == 1
    assert client.get(f"/api/v1/activities/{kept['id']}", headers=me.headers).json()["ftp"] == 260
    with session_scope(state.write_sessions) as session:  # never another athlete's ride
        assert service.write_recomputed(session, me.athlete.id + 1, rides) == 0
