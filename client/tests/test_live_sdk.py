"""Every SDK method against the real server process, over HTTP on loopback (see ``live_server``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from rides import ZWO, gzipped, tcx_ride

import trainerday as td

SEGMENTS = [[10, 50, 50], [10, 60, 60], [10, 45, 45]]
ANALYTICS_PATHS = ("/api/v1/athlete/fitness", "/api/v1/athlete/power-curve", "/api/v1/athlete/ftp-estimate",
                   "/api/v1/athlete/summary", "/api/v1/activities/recompute")  # fmt: skip


def np_of(watts: list[float]) -> float:
    """Normalized Power computed here, independently: 30 s rolling mean, 4th-power mean, 4th root."""
    rolling = [sum(watts[i - 29 : i + 1]) / 30 for i in range(29, len(watts))]
    return (sum(p**4 for p in rolling) / len(rolling)) ** 0.25


@pytest.fixture
def client(live_server, account):
    with td.Client(api_key=account.api_key, base_url=live_server.base_url) as client:
        yield client


def test_athlete_get_update_and_ftp_history(client, account):
    me = client.athlete.get()
    assert (me.id, me.email, me.ftp) == (account.athlete_id, account.email, 250)
    assert [z.zone for z in me.power_zones] == [1, 2, 3, 4, 5, 6, 7]
    assert me.power_zones[0].max_watts == int(250 * 0.55)  # Coggan Z1 tops out at 55 % of FTP
    changed = client.athlete.update(ftp=265, weight_kg=70.5, lthr=170, timezone="Europe/Berlin")
    assert (changed.ftp, changed.weight_kg, changed.lthr, changed.timezone) == (
        265,
        70.5,
        170,
        "Europe/Berlin",
    )
    assert len(changed.heart_rate_zones) == 5
    assert client.athlete.update(lthr=None).lthr is None  # None clears
    assert client.athlete.get().ftp == 265
    history = client.athlete.ftp_history()
    assert history[-1].ftp == 265 and isinstance(history[-1].effective_date, dt.date)
    with pytest.raises(td.ValidationError) as caught:
        client.athlete.update(ftp=0)
    assert [e.field for e in caught.value.errors] == ["ftp"]


def test_calendar_round_trip(client):
    day = dt.date(2026, 3, 10)
    planned = client.calendar.create_event(day, workout={"title": "Easy Spin", "segments": SEGMENTS})
    assert planned.calendar_date == day and planned.type == "workout" and planned.title == "Easy Spin"
    assert planned.embed_workout is not None and planned.embed_workout.segments == SEGMENTS
    assert planned.metrics is not None and planned.metrics.duration_seconds == 1800
    note = client.calendar.add_note(day, "legs heavy", title="How I feel")
    assert note.type == "note" and note.notes == "legs heavy"
    listed = client.calendar.list(day, day)
    assert [e.id for e in listed] == [planned.id, note.id]
    assert client.calendar.get(planned.id) == listed[0]
    moved = client.calendar.update_event(
        planned.id, day + dt.timedelta(days=1), workout=planned.embed_workout, title="Moved spin"
    )
    assert moved.calendar_date == day + dt.timedelta(days=1) and moved.title == "Moved spin"
    exported = client.calendar.export(planned.id, "mrc")
    assert exported.media_type.startswith("text/plain") and b"[COURSE DATA]" in exported.content
    assert client.calendar.chart(planned.id).lstrip().startswith("<svg")
    client.calendar.delete_event(note.id)
    with pytest.raises(td.NotFoundError):
        client.calendar.get(note.id)
    assert [e.id for e in client.calendar.list(day, day + dt.timedelta(days=1))] == [planned.id]


def test_workout_library(client, tmp_path: Path):
    created = client.workouts.create("Threshold 3x8", [[8, 100, 100], [4, 50, 50]] * 3, tags=["ftp"])
    assert created.metrics.duration_seconds == 36 * 60 and created.tags == ["ftp"]
    assert client.workouts.get(created.id) == created
    replaced = client.workouts.update(created.id, "Threshold 3x9", [[9, 100, 100], [3, 50, 50]] * 3)
    assert replaced.title == "Threshold 3x9" and replaced.tags == []
    path = tmp_path / "sweet.zwo"
    path.write_bytes(ZWO)
    imported = client.workouts.import_file(path)
    assert imported.title == "Sweet Spot 2x10" and imported.metrics.duration_seconds == 2100
    from_bytes = client.workouts.import_file(ZWO, file_name="again.zwo")
    from_handle = client.workouts.import_file(io.BytesIO(ZWO), file_name="handle.zwo")
    page = client.workouts.list(page=1, page_size=2)
    assert page.total == 4 and [w.id for w in page.data] == [from_handle.id, from_bytes.id]
    assert [w.id for w in client.workouts.iter_all(page_size=3)] == [
        from_handle.id, from_bytes.id, imported.id, created.id]  # fmt: skip
    found = client.workouts.find(name="sweet", page_size=10)
    assert found.total == 3 and found.page_index == 0
    assert {w.id for w in client.workouts.find(from_minutes=36, to_minutes=36).data} == {created.id}
    zwo = client.workouts.export(imported.id, "zwo")
    assert zwo.file_name and zwo.file_name.endswith(".zwo") and b"<workout_file" in zwo.content
    erg = client.workouts.export(imported.id, "erg")
    assert b"FTP = 250" in erg.content
    fit = client.workouts.export(imported.id, "fit")
    assert fit.content[8:12] == b".FIT"
    assert "<svg" in client.workouts.chart(imported.id)
    planned = client.calendar.create_event("2026-04-01", workout_id=imported.id)
    assert planned.workout_id == imported.id and planned.title == "Sweet Spot 2x10"
    client.workouts.delete(from_bytes.id)
    with pytest.raises(td.NotFoundError):
        client.workouts.get(from_bytes.id)


def test_activities_upload_read_and_files(client, tmp_path: Path):
    start = dt.datetime(2026, 2, 3, 7, 0, tzinfo=dt.UTC)
    ride_bytes = tcx_ride(start, minutes=20, watts=200)
    path = tmp_path / "morning.tcx"
    path.write_bytes(ride_bytes)
    ride = client.activities.upload(path, name="Morning intervals", external_id="ext-1")
    assert ride.name == "Morning intervals" and ride.external_id == "ext-1"
    assert ride.file is not None and ride.file.format == "tcx" and ride.file.size == len(ride_bytes)
    assert ride.timer_seconds == 1200 and ride.start_time == start
    streams = client.activities.streams(ride.id, ["power", "heartRate"])
    power = streams["power"]
    assert power is not None and len(power) == 1200 and set(streams) == {"time", "power", "heartRate"}
    assert ride.normalized_power == pytest.approx(np_of([float(p or 0) for p in power]), abs=0.2)
    curve = client.activities.power_curve(ride.id)
    assert curve.seconds[0] == 1 and curve.watts[0] == max(p for p in power if p is not None)
    detail = client.activities.get(ride.id)
    assert detail.power_curve == curve and detail.time_in_power_zones is not None
    assert sum(detail.time_in_power_zones) == 1200
    assert client.activities.download(ride.id).content == ride_bytes
    fit = client.activities.download_fit(ride.id)
    assert fit.media_type == "application/vnd.ant.fit" and fit.content[8:12] == b".FIT"
    # the same file again is a duplicate naming the stored ride
    with pytest.raises(td.ConflictError) as caught:
        client.activities.upload(ride_bytes, file_name="again.tcx")
    assert caught.value.existing_id == ride.id
    # gzipped, from an open file, a different ride
    second = client.activities.upload(io.BytesIO(gzipped(tcx_ride(start + dt.timedelta(days=1), 10))),
                                      file_name="evening.tcx.gz")  # fmt: skip
    assert second.file is not None and second.file.gzipped
    renamed = client.activities.update(second.id, name="Evening spin", description="easy")
    assert (renamed.name, renamed.description) == ("Evening spin", "easy")
    page = client.activities.list(page=1, page_size=1)
    assert page.total == 2 and [a.id for a in page.data] == [second.id]
    assert [a.id for a in client.activities.iter_all(page_size=1)] == [second.id, ride.id]
    assert [a.id for a in client.activities.iter_all(start_date="2026-02-03", end_date="2026-02-03")] == [
        ride.id
    ]
    client.activities.delete(second.id)
    with pytest.raises(td.NotFoundError):
        client.activities.get(second.id)
    with pytest.raises(td.ValidationError) as bad:
        client.activities.upload(b"this is not a ride", file_name="x.fit")
    assert bad.value.status_code == 400 and bad.value.problem["type"].endswith("invalid-activity-file")


def test_another_athletes_ids_are_not_found(live_server, client):
    other = live_server.new_account()
    with td.Client(api_key=other.api_key, base_url=live_server.base_url) as theirs:
        event = theirs.calendar.add_note("2026-01-01", "mine")
        workout = theirs.workouts.create("Mine", [[5, 50, 50]])
    with pytest.raises(td.NotFoundError):
        client.calendar.get(event.id)
    with pytest.raises(td.NotFoundError):
        client.workouts.export(workout.id, "zwo")
    with pytest.raises(td.NotFoundError):
        client.activities.download(2**31 - 1)  # the largest id there can be, and not theirs either


def test_wrong_key_and_missing_scope(live_server, account):
    stranger = td.Client(api_key="td_" + "x" * 43, base_url=live_server.base_url)
    with stranger, pytest.raises(td.AuthenticationError):
        stranger.athlete.get()
    key = live_server.admin("keys", "create", account.email, "--scopes", "calendar:read").splitlines()[-1]
    with td.Client(api_key=key, base_url=live_server.base_url) as reader:
        assert reader.calendar.list("2026-01-01", "2026-01-02") == []
        with pytest.raises(td.PermissionDeniedError) as caught:
            reader.calendar.add_note("2026-01-01", "x")
    assert caught.value.required_scope == "calendar:write"


def test_validation_errors_name_the_field(client):
    with pytest.raises(td.ValidationError) as caught:
        client.calendar.create_event("2026-01-01", workout={"title": "Bad", "segments": [[10, 50, 5000]]})
    assert caught.value.errors and caught.value.errors[0].field.startswith("embedWorkout.segments")


class LoseFirstAnswer(httpx.BaseTransport):
    """Sends every request to the server, but loses the first answer on the way back, as a dropped
    connection would: the client cannot know whether its POST took effect."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lost = 0
        self.keys: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.keys.append(request.headers.get("Idempotency-Key"))
        if self.lost == 0:
            self.lost += 1
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


def test_a_retried_create_whose_first_answer_was_lost_creates_once(live_server, account):
    transport = LoseFirstAnswer()
    client = td.Client(api_key=account.api_key, base_url=live_server.base_url, transport=transport)
    client._sleep = lambda seconds: None
    event = client.calendar.create_event("2026-05-05", workout={"title": "Once", "segments": SEGMENTS})
    assert transport.lost == 1 and len(transport.keys) == 2 and transport.keys[0] == transport.keys[1]
    events = client.calendar.list("2026-05-05", "2026-05-05")
    assert [e.id for e in events] == [event.id]


def _takes_idempotency_key(base_url: str, path: str) -> bool:
    operation = httpx.get(f"{base_url}/openapi.json", timeout=30).json()["paths"][path]["post"]
    return any(p.get("name", "").lower() == "idempotency-key" for p in operation.get("parameters", []))


@pytest.mark.parametrize("what", ["workout", "upload", "import"])
def test_other_creates_whose_first_answer_was_lost_create_once(live_server, account, what):
    path = {"workout": "/api/v1/workouts", "upload": "/api/v1/activities/upload",
            "import": "/api/v1/workouts/import"}[what]  # fmt: skip
    if not _takes_idempotency_key(live_server.base_url, path):
        pytest.skip(f"POST {path} does not take an Idempotency-Key on this server yet (issue 14 not merged)")
    transport = LoseFirstAnswer()
    client = td.Client(api_key=account.api_key, base_url=live_server.base_url, transport=transport)
    client._sleep = lambda seconds: None
    if what == "upload":
        created = client.activities.upload(
            tcx_ride(dt.datetime(2026, 7, 1, 6, tzinfo=dt.UTC), 5), file_name="a.tcx"
        )
        assert [a.id for a in client.activities.iter_all()] == [created.id]
    else:
        made = (
            client.workouts.create("Once", SEGMENTS)
            if what == "workout"
            else client.workouts.import_file(ZWO, file_name="once.zwo")
        )
        assert [w.id for w in client.workouts.iter_all()] == [made.id]
    assert transport.lost == 1 and transport.keys[0] == transport.keys[1]


def test_async_client_drives_the_same_api(live_server, account, tmp_path: Path):
    async def scenario() -> None:
        async with td.AsyncClient(api_key=account.api_key, base_url=live_server.base_url) as client:
            me, history = await asyncio.gather(client.athlete.get(), client.athlete.ftp_history())
            assert me.id == account.athlete_id and history
            assert (await client.athlete.update(ftp=240)).ftp == 240
            workout = await client.workouts.create("Async", SEGMENTS)
            assert (await client.workouts.get(workout.id)).title == "Async"
            assert (await client.workouts.update(workout.id, "Async 2", SEGMENTS)).title == "Async 2"
            assert [w.id async for w in client.workouts.iter_all()] == [workout.id]
            assert (await client.workouts.list()).total == 1
            assert (await client.workouts.find(name="async")).total == 1
            assert b"<workout_file" in (await client.workouts.export(workout.id, "zwo")).content
            assert "<svg" in await client.workouts.chart(workout.id)
            imported = await client.workouts.import_file(ZWO, file_name="s.zwo")
            event = await client.calendar.create_event("2026-06-01", workout_id=workout.id)
            note = await client.calendar.add_note("2026-06-01", "async note")
            assert [e.id for e in await client.calendar.list("2026-06-01", "2026-06-01")] == [
                event.id,
                note.id,
            ]
            assert (await client.calendar.get(event.id)).workout_id == workout.id
            moved = await client.calendar.update_event(event.id, "2026-06-02", workout_id=imported.id)
            assert moved.title == "Sweet Spot 2x10"
            assert (await client.calendar.export(event.id, "erg")).content.startswith(b"[COURSE HEADER]")
            assert "<svg" in await client.calendar.chart(event.id)
            await client.calendar.delete_event(note.id)
            await client.workouts.delete(workout.id)
            start = dt.datetime(2026, 6, 2, 6, 0, tzinfo=dt.UTC)
            ride = await client.activities.upload(tcx_ride(start, 10), file_name="a.tcx")
            assert ride.calendar_event_id == event.id  # it completed the planned workout on its day
            assert (await client.activities.get(ride.id)).id == ride.id
            assert [a.id async for a in client.activities.iter_all()] == [ride.id]
            assert (await client.activities.list()).total == 1
            assert (await client.activities.update(ride.id, name="Async ride")).name == "Async ride"
            assert len((await client.activities.streams(ride.id))["time"] or []) == 600
            assert (await client.activities.power_curve(ride.id)).seconds[0] == 1
            assert (await client.activities.download(ride.id)).content.startswith(b"<?xml")
            assert (await client.activities.download_fit(ride.id)).content[8:12] == b".FIT"
            assert await client.athlete.connections() == []
            await client.activities.delete(ride.id)

    asyncio.run(scenario())


def _analytics_or_skip(base_url: str) -> None:
    paths = httpx.get(f"{base_url}/openapi.json", timeout=30).json()["paths"]
    missing = [p for p in ANALYTICS_PATHS if p not in paths]
    if missing:
        pytest.skip(f"the server has no analytics routes yet ({', '.join(missing)}): issue 12 not merged")


def test_analytics(live_server, client):
    _analytics_or_skip(live_server.base_url)
    today = dt.date.today()
    for days_ago, watts in ((3, 200), (2, 230), (1, 260)):
        day = today - dt.timedelta(days=days_ago)
        start = dt.datetime(day.year, day.month, day.day, 12, 0, tzinfo=dt.UTC)
        client.activities.upload(tcx_ride(start, 30, watts=watts), file_name=f"r{days_ago}.tcx")
    rides = {a.start_time.date(): a for a in client.activities.iter_all()}
    load = client.athlete.fitness(today - dt.timedelta(days=6), today)
    assert [d.date for d in load.days] == [today - dt.timedelta(days=6 - i) for i in range(7)]
    ctl = atl = 0.0  # no ride before these: the load starts from nothing
    for day in load.days:
        tss = (rides[day.date].tss or 0.0) if day.date in rides else 0.0
        assert day.tss == pytest.approx(tss, abs=0.1)
        form = ctl - atl  # how the day starts: yesterday's fitness less yesterday's fatigue
        ctl += (tss - ctl) / 42
        atl += (tss - atl) / 7
        assert (day.ctl, day.atl, day.tsb) == pytest.approx((ctl, atl, form), abs=0.011)
    assert load.days[-1].ctl > 0 and load.days[-1].atl > load.days[-1].ctl  # three hard days: fatigue leads
    curve = client.athlete.power_curve(today - dt.timedelta(days=6), today)
    best_second = max(max(a.max_power or 0 for a in rides.values()), 0)
    assert curve.points and curve.points[0].seconds == 1 and curve.points[0].watts == best_second
    estimate = client.athlete.ftp_estimate()
    best_20_minutes = 0.0
    for ride in rides.values():
        power = [float(p or 0) for p in client.activities.streams(ride.id, ["power"])["power"] or []]
        window = sum(power[:1200])
        best_20_minutes = max(best_20_minutes, window / 1200)
        for i in range(1200, len(power)):
            window += power[i] - power[i - 1200]
            best_20_minutes = max(best_20_minutes, window / 1200)
    assert estimate.current_ftp == 250 and estimate.method
    assert estimate.ftp is not None and abs(estimate.ftp - 0.95 * best_20_minutes) <= 1
    summary = client.athlete.summary(today - dt.timedelta(days=6), today, period="week")
    assert summary.period == "week"
    assert sum(p.done.rides for p in summary.periods) == 3
    assert sum(p.done.seconds for p in summary.periods) == sum(r.timer_seconds for r in rides.values())
    done_tss = sum(p.done.tss for p in summary.periods)
    assert done_tss == pytest.approx(sum(r.tss or 0 for r in rides.values()), abs=0.2)
    assert client.activities.recompute(today - dt.timedelta(days=30)) == 3

    async def the_same_awaited() -> tuple[
        td.Fitness, td.SeasonPowerCurve, td.FtpEstimate, td.TrainingSummary
    ]:
        async with td.AsyncClient(
            api_key=client._credentials.bearer, base_url=live_server.base_url
        ) as aclient:
            assert await aclient.activities.recompute(today - dt.timedelta(days=30)) == 3
            return await asyncio.gather(
                aclient.athlete.fitness(today - dt.timedelta(days=6), today),
                aclient.athlete.power_curve(today - dt.timedelta(days=6), today),
                aclient.athlete.ftp_estimate(),
                aclient.athlete.summary(today - dt.timedelta(days=6), today, period="week"),
            )

    assert list(asyncio.run(the_same_awaited())) == [load, curve, estimate, summary]


# --- OAuth, against the real authorization server -------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ACTION = re.compile(r'<form[^>]*action="(/oauth/authorize[^"]*)"')


def approve_in_browser(base_url: str, url: str, email: str, password: str) -> str:
    """What the athlete's browser does: open the app's link, log in, press Allow; the URL it returns to."""
    import html

    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=30) as browser:
        to_login = browser.get(url)
        assert to_login.status_code in (302, 303), to_login.text
        login_page = browser.get(to_login.headers["location"])
        next_url = parse_qs(urlsplit(to_login.headers["location"]).query)["next"][0]
        csrf = _CSRF.search(login_page.text)
        assert csrf, "no CSRF token on the login page"
        form = {"csrf_token": csrf.group(1), "next": next_url, "email": email, "password": password}
        logged_in = browser.post("/login", data=form)
        assert logged_in.status_code == 303, logged_in.text
        consent = browser.get(logged_in.headers["location"])
        assert consent.status_code == 200 and "Allow" in consent.text
        action = _ACTION.search(consent.text)
        csrf = _CSRF.search(consent.text)
        assert action and csrf
        decided = browser.post(
            html.unescape(action.group(1)), data={"csrf_token": csrf.group(1), "decision": "allow"}
        )
        assert decided.status_code == 303, decided.text
        return decided.headers["location"]


def _authorize(live_server, app: td.OAuthApp, email: str) -> tuple[td.Tokens, str, str]:
    from conftest import PASSWORD

    request = app.authorization_url(["athlete:read", "calendar:read"])
    back = approve_in_browser(live_server.base_url, request.url, email, PASSWORD)
    code = app.code_from_redirect(back, request.state)
    return app.exchange_code(code, request.code_verifier), code, request.code_verifier


def test_oauth_flow_refresh_revoke_and_disconnect(live_server, account):
    redirect_uri = "http://127.0.0.1:9/callback"
    credentials = json.loads(
        live_server.admin(
            "clients",
            "create",
            "--name",
            "SDK test app",
            "--redirect-uri",
            redirect_uri,
            "--scopes",
            "athlete:read athlete:write calendar:read",
        )
    )
    client_id = credentials["client_id"]
    app = td.OAuthApp(client_id, credentials["client_secret"], redirect_uri=redirect_uri,
                      base_url=live_server.base_url)  # fmt: skip
    tokens, code, verifier = _authorize(live_server, app, account.email)
    assert tokens.access_token.startswith("tdo_") and tokens.refresh_token and tokens.scope
    saved: list[td.Tokens] = []
    base_url = live_server.base_url

    # an access token about to expire is refreshed before the call, and the new pair handed to the callback
    expiring = td.Tokens(tokens.access_token, tokens.refresh_token, dt.datetime.now(dt.UTC), tokens.scope)
    with td.Client(tokens=expiring, oauth_app=app, on_token_refresh=saved.append, base_url=base_url) as c:
        assert c.athlete.get().id == account.athlete_id
        assert len(saved) == 1 and saved[0].refresh_token != tokens.refresh_token
        with pytest.raises(td.PermissionDeniedError):
            c.athlete.update(ftp=300)  # athlete:write was not asked for

    # an access token the server no longer takes (401 invalid_token) is refreshed once, then the call repeated
    dead_access = td.Tokens("tdo_" + "x" * 43, saved[-1].refresh_token, saved[-1].expires_at, saved[-1].scope)
    with td.Client(tokens=dead_access, oauth_app=app, on_token_refresh=saved.append, base_url=base_url) as c:
        assert c.athlete.get().id == account.athlete_id
        assert len(saved) == 2 and c.tokens == saved[-1]

    with td.Client(api_key=account.api_key, base_url=base_url) as owner:
        assert [x.client_id for x in owner.athlete.connections()] == [client_id]
        # revoking the refresh token ends the whole authorization
        app.revoke(saved[-1].refresh_token)
        with td.Client(tokens=saved[-1], oauth_app=app, base_url=base_url) as c, pytest.raises(td.OAuthError):
            c.athlete.get()
        assert owner.athlete.connections() == []

        # the athlete disconnects the app: its tokens stop working
        again, _, _ = _authorize(live_server, app, account.email)
        assert [x.client_id for x in owner.athlete.connections()] == [client_id]
        owner.athlete.disconnect(client_id)
        assert owner.athlete.connections() == []
        with (
            td.Client(tokens=again, oauth_app=app, base_url=base_url) as c,
            pytest.raises(td.AuthenticationError),
        ):
            c.athlete.get()
    with pytest.raises(td.OAuthError) as reused:
        app.exchange_code(code, verifier)  # codes are single-use
    assert reused.value.error == "invalid_grant"
