"""The activities API through real HTTP, with the real sample recordings, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import random
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import fitdecode
import httpx
import numpy as np
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.activities.files.fitbytes import T0, definition, fit_segment, no_fallback
from tests.activities.metrics.device_session import device_session
from tests.activities.metrics.test_metrics_real import NOT_BORNE_OUT
from tests.conftest import TEST_SECRET, Caller, bearer, sample_at_hand, sample_names
from trainerday_server.activities import service
from trainerday_server.activities.files import decode_upload
from trainerday_server.activities.metrics import ride_metrics
from trainerday_server.activities.synthetic import synthetic_ride_fit
from trainerday_server.app import create_app
from trainerday_server.config import Settings
from trainerday_server.db import make_session_factory, session_scope
from trainerday_server.models import Activity, Athlete, FtpHistory

UPLOAD = "/api/v1/activities/upload"
GOOD = sorted(f"{folder}/{name}" for folder in ("fit", "tcx", "gpx") for name in sample_names(folder))


# From SOURCES.md: (sport, sub-sport as the file names it, minutes of records, figures the ride cannot have).
EXPECTED: dict[str, tuple[str | None, str | None, float | None, tuple[str, ...]]] = {
    "fit/14582164182.fit.gz": ("cycling", "virtual_activity", 46, ()),
    "fit/20130717_143733.fit": ("cycling", None, 111, ()),
    "fit/2019-02-17-062644-ELEMNT-297E-195-0.fit": ("cycling", None, 393, ()),
    "fit/2020-06-01-16-52-40.fit": ("cycling", "generic", 2, ()),
    "fit/4078723797.fit": ("cycling", "generic", 139, ()),
    "fit/6449921903_ACTIVITY.fit": ("cycling", "indoor_cycling", 5, ("elevationGainMeters",)),
    "fit/Edge810-Vector-2013-08-16-15-35-10.fit": ("cycling", "generic", 78, ()),
    "fit/Garmin830_with_Stages.fit": ("cycling", None, 30, ("maxSpeed", "elevationGainMeters")),
    "fit/Karoo-Botley_BW_Swanmore_Wickham-2025-05-09-1238.fit": ("cycling", None, 72, ()),
    "fit/activity-small-fenix2-run.fit": ("running", None, 47, ("averagePower", "normalizedPower", "tss")),
    "fit/big_activity.fit": ("cycling", "road", 27.8 * 60, ("averagePower", "tss")),
    "fit/developer-types-sample.fit": ("running", "generic", 57, ()),
    "fit/sample-activity-indoor-trainer.fit": ("cycling", "generic", 38, ("maxSpeed",)),
    "fit/sample_mulitple_header.fit": ("multisport", None, None, ("averagePower", "tss")),
    "fit/unterminated-strings.fit": ("cycling", "indoor_cycling", 32 / 60, ()),
    "gpx/4078723797_strava.gpx": ("cycling", None, 139, ()),
    "gpx/6909869014.gpx": ("cycling", "virtual_activity", 63, ()),
    "gpx/activity_5039744860.gpx": ("cycling", None, 2, ("averagePower", "tss")),
    "tcx/2010-04-05-21-45-04.tcx": ("cycling", None, 96, ("averageHeartRate",)),
    "tcx/2020-02-05_17-25-14_Training-with-Notes.tcx": ("cycling", None, 116, ("averagePower", "tss")),
    "tcx/activity_5039744860.tcx": ("cycling", None, 2, ()),
    "tcx/cross-country-skiing_activity_1.tcx": ("generic", None, 40, ("averagePower",)),
    "tcx/mapmyride_biking.tcx": ("cycling", None, 52, ("averageHeartRate", "averagePower")),
}


def upload(
    client: TestClient | httpx.Client,
    caller: Caller,
    data: bytes,
    filename: str = "ride.fit",
    field: str = "file",
    **form: str,
) -> httpx.Response:
    return client.post(UPLOAD, headers=caller.headers, files={field: (filename, data)}, data=form)


def stored_files(settings: Settings) -> list[Path]:
    root = settings.data_dir / "files"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def activity_count(db: Any) -> int:
    with db.engine.connect() as conn:
        return int(conn.scalar(sa.select(sa.func.count()).select_from(Activity)) or 0)


def assert_nothing_stored(db: Any, settings: Settings) -> None:
    assert activity_count(db) == 0
    assert stored_files(settings) == []


# --- every real sample ----------------------------------------------------------------------------------


def test_every_good_sample_is_an_activity_with_its_figures(client, factory, db, samples, settings):
    assert sorted(EXPECTED) == GOOD, "SOURCES.md lists files this table does not"
    at_hand = {name: figures for name, figures in EXPECTED.items() if sample_at_hand(name)}
    for name, (sport, sub_sport, minutes, absent) in at_hand.items():
        data = (samples / name).read_bytes()
        athlete = factory.athlete(ftp=200)  # one each: some files are the same ride, which is a duplicate
        response = upload(client, Caller(athlete, factory.key(athlete.id)), data, filename=Path(name).name)
        assert response.status_code == 201, (name, response.text)
        body = response.json()
        assert response.headers["location"] == f"/api/v1/activities/{body['id']}"
        assert (body["sport"], body["subSport"]) == (sport, sub_sport), name
        if minutes is not None:
            assert body["elapsedSeconds"] / 60 == pytest.approx(minutes, rel=0.03, abs=1), name
        for figure in absent:
            assert body[figure] is None, (name, figure)
        # The figures are the metrics of the decoded ride at the athlete's FTP, LTHR and time zone.
        expected = ride_metrics(decode_upload(data).recording, 200, None, "UTC").to_json()
        assert {k: body[k] for k in expected} == expected, name
        assert body["ftp"] == 200 and body["file"]["format"] == name[:3]
        assert body["file"]["size"] == len(data) and body["file"]["name"] == Path(name).name
        assert body["powerCurve"] == (expected["powerCurve"] or None)

        # The device's own figures, where its records bear them out (five sessions: see the decoder tests).
        session = device_session(data) if name.startswith("fit/") else {}
        if session and name != "fit/sample_mulitple_header.fit":
            refused = NOT_BORNE_OUT.get(Path(name).name, set())
            for field, figure, digits in (
                ("total_timer_time", "timerSeconds", None),
                ("total_distance", "distanceMeters", 1),
                ("avg_power", "averagePower", 1),
                ("max_heart_rate", "maxHeartRate", 1),
            ):
                if session.get(field) is not None and field not in refused:
                    device = round(session[field], digits)
                    if figure == "timerSeconds":  # never longer than the elapsed time (Garmin830: 1 s)
                        device = min(device, body["elapsedSeconds"])
                    assert body[figure] == device, (name, figure)
    assert activity_count(db) == len(at_hand)
    assert len(stored_files(settings)) == len(at_hand)


def test_well_known_figures_of_two_rides(client, me, samples):
    # Hand-checked: the 2-minute Edge 1000 ride and the 139-minute one, against their head units.
    short = upload(client, me, (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()).json()
    assert short["startTime"] == "2020-06-01T14:52:40Z"
    assert (short["distanceMeters"], short["averagePower"], short["maxPower"]) == (668.2, 149.0, 434.0)
    assert (short["averageHeartRate"], short["maxHeartRate"]) == (150.0, 156.0)
    long = upload(client, me, (samples / "fit/4078723797.fit").read_bytes()).json()
    assert long["startTime"] == "2019-09-20T14:10:03Z"
    assert long["distanceMeters"] == 57567.2 and long["averagePower"] == 219.0  # the device's
    assert long["elevationGainMeters"] == 1283.0  # ours from its records; the device says 1,254 m
    assert long["normalizedPower"] == pytest.approx(267, rel=0.02)  # the device's own NP
    assert long["intensityFactor"] == pytest.approx(long["normalizedPower"] / 200, abs=0.001)


@pytest.mark.parametrize(
    "name",
    ["activity-filecrc.fit", "activity-unexpected-eof.fit", "nick.fit", "activity-settings-nodata.fit"],
)
def test_damaged_samples_are_salvaged_with_warnings(client, me, samples, name):
    response = upload(client, me, (samples / "damaged" / name).read_bytes(), filename=name)
    assert response.status_code == 201, response.text
    warnings = response.json()["warnings"]
    assert warnings and "recovered" in warnings[0]
    if name == "nick.fit":
        assert warnings[0] == "file ends mid-record at byte 403,456; CRC invalid; 14,391 records recovered"


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("MetadataOnly.gpx", "no track points"),
        ("cerknicko-without-times.gpx", "only 5 of 296 track points have a time"),
        ("with_power_1.gpx", "no time, no activity"),
        ("with_power_2.gpx", "not well-formed XML at line 21, column 42"),
    ],
)
def test_bad_samples_are_refused_and_leave_nothing(client, me, samples, db, settings, name, says):
    response = upload(client, me, (samples / "bad" / name).read_bytes(), filename=name)
    assert response.status_code == 400
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["type"].endswith("/invalid-activity-file") and says in problem["detail"]
    assert_nothing_stored(db, settings)


# --- gzip, hostile uploads, limits ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["tcx/activity_5039744860.tcx", "gpx/activity_5039744860.gpx", "fit/4078723797.fit"]
)
def test_gzipped_uploads(client, me, samples, name):
    original = (samples / name).read_bytes()
    packed = gzip.compress(original)
    response = upload(client, me, packed, filename=Path(name).name + ".gz")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["file"] == {
        "name": Path(name).name + ".gz",
        "format": name[:3],
        "gzipped": True,
        "size": len(packed),
    }
    file = client.get(f"/api/v1/activities/{body['id']}/file", headers=me.headers)
    assert file.content == packed and file.headers["content-type"] == "application/gzip"
    fit = client.get(f"/api/v1/activities/{body['id']}/fit", headers=me.headers)
    assert fit.status_code == 200
    if name.startswith("fit/"):
        assert fit.content == original  # the original FIT, un-gzipped


def test_the_format_comes_from_the_content_not_the_name(client, me, samples):
    data = (samples / "gpx/activity_5039744860.gpx").read_bytes()
    body = upload(client, me, data, filename="ride.fit").json()
    assert body["file"]["format"] == "gpx"


ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<gpx><trk><name>&d;&d;&d;&d;</name></trk></gpx>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE TrainingCenterDatabase [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<TrainingCenterDatabase><Activities><Activity><Notes>&x;</Notes></Activity></Activities></TrainingCenterDatabase>"""


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "the file is empty"),
        (
            random.Random(1).randbytes(4096),  # fixed, so it cannot start like XML or gzip by chance
            "not a FIT, TCX or GPX file",
        ),
        (ENTITY_BOMB, "document type declaration"),
        (EXTERNAL_ENTITY, "document type declaration"),
        (b"<html><body>hello</body></html>", "neither TCX nor GPX"),
        (gzip.compress(b"not an activity"), "not a FIT, TCX or GPX file"),
        (gzip.compress(b"x" * 1000)[:-12], "truncated"),
        (b"PK\x03\x04" + bytes(100), "ZIP archive"),
    ],
)
def test_hostile_uploads_are_400_and_leave_nothing(client, me, db, settings, data, says):
    response = upload(client, me, data)
    assert response.status_code == 400, response.text
    assert says in response.json()["detail"]
    assert_nothing_stored(db, settings)


def test_a_gzip_bomb_is_refused_without_being_inflated(client, me, db, settings):
    bomb = gzip.compress(bytes(60 * 1024 * 1024), compresslevel=9)  # 60 MiB of zeros in ~60 kB
    assert len(bomb) < 100_000
    response = upload(client, me, bomb, filename="ride.fit.gz")
    assert response.status_code == 413
    assert "once decompressed" in response.json()["detail"]
    assert_nothing_stored(db, settings)


# Small gzipped FIT files that once cost seconds of CPU or gigabytes: a message can be a byte, a segment 14.
NO_FIELDS = definition(1, 200, [])  # its messages are a single byte
A_RECORD = definition(0, 20, [(253, 4, 0x86), (7, 2, 0x84)]) + struct.pack("<BIH", 0, T0, 200)
# Compressed speed and distance: only fitdecode, the slow decoder, reads them.
A_SLOW_RECORD = definition(0, 20, [(253, 4, 0x86), (8, 3, 0x0D)]) + struct.pack("<BI", 0, T0) + bytes(3)


@pytest.mark.parametrize(
    ("build", "says"),  # built in the test: megabytes each
    [
        (
            lambda: fit_segment(b"") * 1_000_000,  # 16 MB, 30 kB gzipped; was 22 s and 2.9 GB
            "this FIT file chains more than 100 segments and the first 100 hold no records "
            "(segment 101 starts at byte 1,600)",
        ),
        (
            lambda: fit_segment(A_RECORD + NO_FIELDS + b"\x01" * 20_000_000),  # 20 MB, 20 kB gzipped; was 5 s
            "this FIT file holds more messages than one activity may: decoding stopped at byte ",
        ),
        (
            lambda: fit_segment(A_SLOW_RECORD + NO_FIELDS + b"\x01" * 1_000_000),  # 1 kB gzipped; was 3 s
            "this FIT file needs the slow decoder (record field 8 expands into fields we read) and holds "
            "more than it may decode for one activity: decoding stopped at byte ",
        ),
    ],
    ids=["segments", "messages", "slow-decoder"],
)
def test_fit_files_that_would_cost_too_much_are_refused(client, me, db, settings, build, says):
    response = upload(client, me, gzip.compress(build(), mtime=0), filename="ride.fit.gz")
    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith(says)
    assert_nothing_stored(db, settings)


def test_a_ride_followed_by_endless_fit_segments_is_kept(client, me, samples):
    ride = (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()
    response = upload(client, me, gzip.compress(ride + fit_segment(b"") * 100_000), filename="ride.fit.gz")
    assert response.status_code == 201, response.text
    assert response.json()["warnings"] == [
        "the file chains more than 100 FIT segments; the rest of it was ignored "
        f"(segment 101 starts at byte {len(ride) + 99 * 16:,})",
        # This Edge 1000's own summary is inconsistent with its records, segments or not (see metrics tests).
        "the device's elapsed time (113 s) is not what its records give (at least 124 s); "
        "127 s from the records reported",
    ]


def test_a_field_defined_twice_is_read_without_the_slow_decoder(client, me, monkeypatch):
    """Once one duplicated field sent a whole 26 kB upload of a million records to fitdecode: 15 s of CPU."""

    monkeypatch.setattr("trainerday_server.activities.files.fit.read_body_with_fitdecode", no_fallback)
    twice = definition(0, 20, [(253, 4, 0x86), (7, 2, 0x84), (7, 2, 0x84)])
    records = b"".join(struct.pack("<BIHH", 0, T0 + second, 0xFFFF, 200) for second in range(3600))
    response = upload(client, me, gzip.compress(fit_segment(twice + records)), filename="ride.fit.gz")
    assert response.status_code == 201, response.text
    assert (response.json()["averagePower"], response.json()["elapsedSeconds"]) == (200.0, 3600)


def test_the_file_field_is_required(client, me, samples, db, settings):
    data = (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()
    response = upload(client, me, data, field="upload")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "file", "message": "is required"}]
    not_multipart = client.post(
        UPLOAD, headers={**me.headers, "Content-Type": "application/octet-stream"}, content=data
    )
    assert not_multipart.status_code == 400
    assert_nothing_stored(db, settings)


def test_uploads_over_the_limit_are_413(db, factory, samples, tmp_path):
    settings = Settings(
        data_dir=tmp_path / "small", database_url=db.url, secret_key=TEST_SECRET, max_upload_bytes=100_000
    )
    athlete = factory.athlete()
    caller = Caller(athlete, factory.key(athlete.id))
    with TestClient(create_app(settings, engine=db.engine)) as small:
        big = (samples / "fit/4078723797.fit").read_bytes()  # 330 kB
        response = upload(small, caller, big)
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert (
            upload(small, caller, (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()).status_code == 201
        )
        # Under the limit as sent, over it once decompressed.
        packed = gzip.compress((samples / "tcx/2020-02-05_17-25-14_Training-with-Notes.tcx").read_bytes())
        assert len(packed) < 100_000  # 31 kB of 1.1 MB
        response = upload(small, caller, packed)
        assert response.status_code == 413 and "once decompressed" in response.json()["detail"]
    assert activity_count(db) == 1
    assert len(stored_files(settings)) == 1


def test_a_failure_after_the_file_was_written_leaves_nothing(client, me, samples, db, settings, monkeypatch):
    day = "2020-06-01"
    client.post(
        "/api/v1/calendar/events",
        headers=me.headers,
        json={"calendarDate": day, "embedWorkout": {"title": "Z2", "segments": [[2, 60, 60]]}},
    )

    def broken(*_args: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(service, "bump_data_revision", broken)  # runs after the file is stored
    response = upload(client, me, (samples / "fit/2020-06-01-16-52-40.fit").read_bytes())
    assert response.status_code == 500
    assert_nothing_stored(db, settings)


# --- duplicates -----------------------------------------------------------------------------------------


def test_the_same_file_twice_is_a_conflict(client, me, samples, db, settings):
    data = (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()
    first = upload(client, me, data).json()
    again = upload(client, me, data, name="Again")
    assert again.status_code == 409
    assert again.json()["existingActivityId"] == first["id"]
    assert (
        again.json()["detail"]
        == f"this file was already uploaded as activity {first['id']}; nothing was stored"
    )
    assert activity_count(db) == 1 and len(stored_files(settings)) == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("fit/2020-06-01-16-52-40.fit", "tcx/activity_5039744860.tcx"),
        ("gpx/activity_5039744860.gpx", "fit/2020-06-01-16-52-40.fit"),
        ("fit/4078723797.fit", "gpx/4078723797_strava.gpx"),
    ],
)
def test_another_file_of_the_same_ride_is_a_conflict(client, me, samples, db, settings, first, second):
    existing = upload(client, me, (samples / first).read_bytes()).json()
    response = upload(client, me, (samples / second).read_bytes())
    assert response.status_code == 409
    assert response.json()["existingActivityId"] == existing["id"]
    assert activity_count(db) == 1 and len(stored_files(settings)) == 1


def test_the_same_external_id_is_a_conflict(client, me, samples, db):
    first = upload(client, me, (samples / "fit/2020-06-01-16-52-40.fit").read_bytes(), externalId="garmin-1")
    assert first.json()["externalId"] == "garmin-1"
    second = upload(client, me, (samples / "fit/4078723797.fit").read_bytes(), externalId="garmin-1")
    assert second.status_code == 409 and second.json()["existingActivityId"] == first.json()["id"]
    assert activity_count(db) == 1


def test_another_athlete_may_upload_the_same_ride(client, me, factory, samples):
    data = (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()
    other = factory.athlete()
    assert upload(client, me, data).status_code == 201
    assert upload(client, Caller(other, factory.key(other.id)), data).status_code == 201


# --- reading --------------------------------------------------------------------------------------------


@pytest.fixture
def three_rides(client, me, samples) -> list[dict[str, Any]]:
    names = ["fit/4078723797.fit", "fit/2020-06-01-16-52-40.fit", "gpx/6909869014.gpx"]
    return [upload(client, me, (samples / n).read_bytes(), filename=Path(n).name).json() for n in names]


def test_list_newest_first_with_pages_and_dates(client, me, three_rides):
    ids_by_start = [a["id"] for a in sorted(three_rides, key=lambda a: a["startTime"], reverse=True)]
    page = client.get("/api/v1/activities", headers=me.headers).json()
    assert (page["page"], page["pageSize"], page["total"]) == (1, 20, 3)
    assert [a["id"] for a in page["data"]] == ids_by_start
    item = page["data"][0]
    assert {"id", "name", "sport", "startTime", "tss", "normalizedPower", "distanceMeters"} <= set(item)
    assert "powerCurve" not in item and "timeInPowerZones" not in item
    second = client.get("/api/v1/activities?page=2&pageSize=2", headers=me.headers).json()
    assert [a["id"] for a in second["data"]] == ids_by_start[2:] and second["total"] == 3
    in_2019 = client.get("/api/v1/activities?startDate=2019-01-01&endDate=2019-12-31", headers=me.headers)
    assert [a["startTime"][:4] for a in in_2019.json()["data"]] == ["2019"]
    assert in_2019.json()["total"] == 1
    for query in (
        "pageSize=0",
        "pageSize=101",
        "page=0",
        "startDate=2020-1-1",
        "startDate=2020-02-02&endDate=2020-01-01",
    ):
        response = client.get(f"/api/v1/activities?{query}", headers=me.headers)
        assert response.status_code == 400, query


def test_detail_streams_and_power_curve(client, me, samples):
    data = (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()
    created = upload(client, me, data).json()
    url = f"/api/v1/activities/{created['id']}"
    detail = client.get(url, headers=me.headers).json()
    assert detail == created
    streams = client.get(f"{url}/streams?types=power,heartRate", headers=me.headers).json()
    recording = decode_upload(data).recording
    assert set(streams) == {"time", "power", "heartRate"}
    assert streams["time"] == recording.time.astype(int).tolist()
    power = recording.channels["power"]
    assert streams["power"] == [None if np.isnan(p) else int(p) for p in power]
    everything = client.get(f"{url}/streams", headers=me.headers).json()
    assert set(everything) == {"time", *recording.channels}
    curve = client.get(f"{url}/power-curve", headers=me.headers).json()
    assert curve == detail["powerCurve"] and curve["watts"] == sorted(curve["watts"], reverse=True)
    assert curve["seconds"][0] == 1 and curve["watts"][0] == 434.0
    unknown = client.get(f"{url}/streams?types=power,watts", headers=me.headers)
    assert unknown.status_code == 400 and "watts" in unknown.json()["detail"]


def test_a_stream_the_ride_did_not_record_is_null(client, me, samples):
    created = upload(client, me, (samples / "gpx/activity_5039744860.gpx").read_bytes()).json()
    streams = client.get(
        f"/api/v1/activities/{created['id']}/streams?types=power,heartRate", headers=me.headers
    )
    assert streams.json()["power"] is None and len(streams.json()["heartRate"]) == 96
    curve = client.get(f"/api/v1/activities/{created['id']}/power-curve", headers=me.headers).json()
    assert curve == {"seconds": [], "watts": []}


def test_the_original_file_comes_back_byte_for_byte(client, me, samples):
    for name in (
        "fit/14582164182.fit.gz",
        "tcx/2020-02-05_17-25-14_Training-with-Notes.tcx",
        "gpx/6909869014.gpx",
    ):
        data = (samples / name).read_bytes()
        created = upload(client, me, data, filename=Path(name).name).json()
        response = client.get(f"/api/v1/activities/{created['id']}/file", headers=me.headers)
        assert response.content == data
        assert response.headers["content-disposition"].startswith(f'attachment; filename="{Path(name).name}"')
    assert response.headers["content-type"] == "application/gpx+xml"


def test_fit_download_is_the_original_or_a_fit_of_the_streams(client, me, samples):
    fit = (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()
    created = upload(client, me, fit).json()
    response = client.get(f"/api/v1/activities/{created['id']}/fit", headers=me.headers)
    assert response.content == fit and response.headers["content-type"] == "application/vnd.ant.fit"

    tcx = (samples / "tcx/2010-04-05-21-45-04.tcx").read_bytes()
    created = upload(client, me, tcx, filename="ride.tcx").json()
    written = client.get(f"/api/v1/activities/{created['id']}/fit", headers=me.headers).content
    with fitdecode.FitReader(io.BytesIO(written), check_crc=fitdecode.CrcCheck.RAISE) as reader:
        messages = [f for f in reader if isinstance(f, fitdecode.FitDataMessage)]
    records = [m for m in messages if m.name == "record"]
    assert len(records) == decode_upload(tcx).recording.sample_count
    session = next(m for m in messages if m.name == "session")
    assert session.get_value("total_timer_time") == created["timerSeconds"]
    assert session.get_value("normalized_power") == round(created["normalizedPower"])
    assert session.get_value("threshold_power") == created["ftp"]


def test_rename_describe_and_delete(client, me, samples, settings):
    created = upload(client, me, (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()).json()
    url = f"/api/v1/activities/{created['id']}"
    changed = client.patch(url, headers=me.headers, json={"name": "Leiden loop", "description": "windy"})
    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["description"]) == ("Leiden loop", "windy")
    assert changed.json()["normalizedPower"] == created["normalizedPower"]
    assert client.get(url, headers=me.headers).json()["name"] == "Leiden loop"
    for bad in ({"name": None}, {"name": ""}, {"sport": "running"}, {"name": "x" * 201}):
        assert client.patch(url, headers=me.headers, json=bad).status_code == 400, bad
    assert len(stored_files(settings)) == 1
    assert client.delete(url, headers=me.headers).status_code == 204
    assert stored_files(settings) == []
    for path in ("", "/streams", "/fit", "/file", "/power-curve"):
        assert client.get(url + path, headers=me.headers).status_code == 404
    assert client.delete(url, headers=me.headers).status_code == 404


def test_names_default_to_the_files_then_the_time_of_day(client, me, samples):
    gpx = upload(client, me, (samples / "gpx/6909869014.gpx").read_bytes()).json()
    assert gpx["name"] == "Zwift Session"
    fit = upload(client, me, (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()).json()
    assert fit["name"] == "Afternoon Ride"  # 14:52 UTC
    named = upload(client, me, (samples / "fit/4078723797.fit").read_bytes(), name=" Hills ", description="d")
    assert (named.json()["name"], named.json()["description"]) == ("Hills", "d")
    tcx = upload(
        client, me, (samples / "tcx/2020-02-05_17-25-14_Training-with-Notes.tcx").read_bytes()
    ).json()
    assert tcx["description"].startswith("- immer noch den Muskelkater")


TCX_WITH_NOTES = """<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">
<Activities><Activity Sport="Biking"><Lap><Track>
<Trackpoint><Time>2024-05-01T17:00:00Z</Time><Cadence>80</Cadence></Trackpoint>
<Trackpoint><Time>2024-05-01T17:00:01Z</Time><Cadence>81</Cadence></Trackpoint>
</Track></Lap><Notes>{description}</Notes></Activity></Activities></TrainingCenterDatabase>"""
GPX_WITH_NAME = """<gpx xmlns="http://www.topografix.com/GPX/1/1"><trk><name>{name}</name><desc>{description}</desc>
<trkseg><trkpt lat="46.5" lon="6.6"><time>2024-05-02T17:00:00Z</time></trkpt>
<trkpt lat="46.5" lon="6.6"><time>2024-05-02T17:00:01Z</time></trkpt></trkseg></trk></gpx>"""


def test_a_files_long_name_and_description_are_cut_to_the_limits_of_patch(client, me):
    description = "Windy." * 2000
    tcx = upload(client, me, TCX_WITH_NOTES.format(description=description).encode(), filename="a.tcx").json()
    assert tcx["description"] == description[:10_000]
    gpx = GPX_WITH_NAME.format(name="N" * 300, description=description).encode()
    body = upload(client, me, gpx, filename="a.gpx").json()
    assert (body["name"], body["description"]) == ("N" * 200, description[:10_000])
    assert body["warnings"][:2] == [
        "the file's name of 300 characters was cut to its first 200",
        "the file's description of 12,000 characters was cut to its first 10,000",
    ]
    # The athlete's own take their place, and nothing of the file's is cut.
    client.delete(f"/api/v1/activities/{body['id']}", headers=me.headers)
    own = upload(client, me, gpx, filename="a.gpx", name="Mine", description="My notes").json()
    assert (own["name"], own["description"]) == ("Mine", "My notes")
    assert not [warning for warning in own["warnings"] if "was cut" in warning]


def test_upload_fields_are_checked(client, me, samples, db):
    data = (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()
    assert upload(client, me, data, name="x" * 201).status_code == 400
    assert upload(client, me, data, externalId="a\nb").status_code == 400
    assert activity_count(db) == 0


# --- who may do what ------------------------------------------------------------------------------------


def test_scopes(client, me, factory, samples):
    data = (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()
    reader = bearer(factory.key(me.athlete.id, "activities:read"))
    writer = bearer(factory.key(me.athlete.id, "activities:write"))
    denied = client.post(UPLOAD, headers=reader, files={"file": ("r.fit", data)})
    assert denied.status_code == 403 and denied.json()["scope"] == "activities:write"
    created = client.post(UPLOAD, headers=writer, files={"file": ("r.fit", data)})
    assert created.status_code == 201
    url = f"/api/v1/activities/{created.json()['id']}"
    assert client.get(url, headers=writer).status_code == 403
    assert client.get("/api/v1/activities", headers=writer).status_code == 403
    assert client.get(url, headers=reader).status_code == 200
    assert client.patch(url, headers=reader, json={"name": "n"}).status_code == 403
    assert client.delete(url, headers=reader).status_code == 403
    assert client.get(url).status_code == 401


def test_another_athletes_activity_is_not_found(client, me, factory, samples):
    created = upload(client, me, (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()).json()
    other = factory.athlete()
    headers = bearer(factory.key(other.id))
    url = f"/api/v1/activities/{created['id']}"
    for path in ("", "/streams", "/fit", "/file", "/power-curve"):
        assert client.get(url + path, headers=headers).status_code == 404, path
    assert client.patch(url, headers=headers, json={"name": "mine"}).status_code == 404
    assert client.delete(url, headers=headers).status_code == 404
    assert client.get("/api/v1/activities", headers=headers).json()["total"] == 0
    assert client.get(url, headers=me.headers).json()["name"] == created["name"]


# --- FTP, time zone and the plan ------------------------------------------------------------------------


def _set_profile(
    db: Any,
    athlete_id: int,
    *,
    timezone: str | None = None,
    lthr: int | None = None,
    ftps: dict[str, int] | None = None,
) -> None:
    with session_scope(make_session_factory(db.engine, writer=True)) as session:
        athlete = session.get(Athlete, athlete_id)
        assert athlete is not None
        if timezone:
            athlete.timezone = timezone
        if lthr:
            athlete.lthr = lthr
        for day, ftp in (ftps or {}).items():
            session.add(FtpHistory(athlete_id=athlete_id, effective_date=dt.date.fromisoformat(day), ftp=ftp))


def test_if_and_tss_use_the_ftp_in_force_on_the_rides_day(client, me, db, samples):
    _set_profile(db, me.athlete.id, ftps={"2019-01-01": 250, "2020-01-01": 300})
    ride_2019 = upload(client, me, (samples / "fit/4078723797.fit").read_bytes()).json()  # 2019-09-20
    ride_2020 = upload(client, me, (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()).json()
    assert (ride_2019["ftp"], ride_2020["ftp"]) == (250, 300)
    assert ride_2019["intensityFactor"] == pytest.approx(ride_2019["normalizedPower"] / 250, abs=0.001)
    assert ride_2020["intensityFactor"] == pytest.approx(ride_2020["normalizedPower"] / 300, abs=0.001)


def test_local_time_and_heart_rate_zones_follow_the_profile(client, me, db, samples):
    _set_profile(db, me.athlete.id, timezone="America/Los_Angeles", lthr=160)
    body = upload(client, me, (samples / "fit/14582164182.fit.gz").read_bytes()).json()
    assert body["startTime"] == "2025-02-19T00:10:45Z"
    assert body["startTimeLocal"] == "2025-02-18T16:10:45-08:00"
    assert body["timeInHeartRateZones"] is not None and len(body["timeInHeartRateZones"]) == 5
    assert body["name"] == "Afternoon Ride"
    in_range = client.get("/api/v1/activities?startDate=2025-02-18&endDate=2025-02-18", headers=me.headers)
    assert in_range.json()["total"] == 1  # the athlete's local date, not UTC's


def test_a_rides_local_time_stays_when_the_athlete_changes_time_zone(client, me, samples):
    # The local time is the ride's own (its wall clock where it was ridden, as Strava's start_date_local),
    # and its date is the one the date filter and the planned-workout link use: neither moves afterwards.
    profile = {"timezone": "America/Denver"}
    assert client.patch("/api/v1/athlete", headers=me.headers, json=profile).status_code == 200
    denver = upload(client, me, (samples / "fit/14582164182.fit.gz").read_bytes()).json()
    assert denver["startTimeLocal"] == "2025-02-18T17:10:45-07:00"

    profile = {"timezone": "Asia/Tokyo"}  # in Tokyo that start is 2025-02-19T09:10:45+09:00
    assert client.patch("/api/v1/athlete", headers=me.headers, json=profile).status_code == 200
    url = f"/api/v1/activities/{denver['id']}"
    assert client.get(url, headers=me.headers).json()["startTimeLocal"] == "2025-02-18T17:10:45-07:00"
    listed = client.get("/api/v1/activities?startDate=2025-02-18&endDate=2025-02-18", headers=me.headers)
    assert [a["startTimeLocal"] for a in listed.json()["data"]] == ["2025-02-18T17:10:45-07:00"]
    renamed = client.patch(url, headers=me.headers, json={"name": "Denver loop"}).json()
    assert renamed["startTimeLocal"] == "2025-02-18T17:10:45-07:00"

    tokyo = upload(client, me, (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()).json()
    assert tokyo["startTimeLocal"] == "2020-06-01T23:52:40+09:00"  # a ride uploaded since: Tokyo's


def test_the_fit_export_keeps_the_rides_local_time_when_the_athlete_moves(client, me, samples):
    """/fit of a TCX ride is written from its streams on each request; its local time is still the ride's."""
    assert client.patch("/api/v1/athlete", headers=me.headers, json={"timezone": "America/Denver"}).is_success
    tcx = samples / "tcx/activity_5039744860.tcx"
    ride = upload(client, me, tcx.read_bytes(), filename="activity_5039744860.tcx").json()
    offset = dt.datetime.fromisoformat(ride["startTimeLocal"]).utcoffset()
    assert offset is not None and offset <= -dt.timedelta(hours=6)  # Denver: UTC-7 or UTC-6
    assert client.patch("/api/v1/athlete", headers=me.headers, json={"timezone": "Asia/Tokyo"}).is_success

    exported = client.get(f"/api/v1/activities/{ride['id']}/fit", headers=me.headers)
    assert exported.status_code == 200
    with fitdecode.FitReader(io.BytesIO(exported.content)) as reader:
        (activity,) = [f for f in reader if isinstance(f, fitdecode.FitDataMessage) and f.name == "activity"]
    utc = activity.get_value("timestamp").replace(tzinfo=None)
    local = activity.get_value("local_timestamp").replace(tzinfo=None)  # FIT local_date_time: no zone
    assert local - utc == offset


def gpx_at(*times: str) -> bytes:
    points = "".join(f'<trkpt lat="1" lon="1"><time>{time}</time></trkpt>' for time in times)
    return (
        f'<gpx xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>{points}</trkseg></trk></gpx>'.encode()
    )


@pytest.mark.parametrize(
    ("times", "timezone"),
    [
        (("0001-01-01T00:00:00+23:59", "0001-01-01T00:00:01+23:59"), "UTC"),
        (("0001-01-01T00:00:00Z", "0001-01-01T00:00:01Z"), "America/New_York"),
        (("9999-12-31T23:00:00Z", "9999-12-31T23:00:01Z"), "Asia/Tokyo"),
    ],
)
def test_times_off_the_calendar_are_refused_not_a_server_error(client, me, db, settings, times, timezone):
    _set_profile(db, me.athlete.id, timezone=timezone)
    response = upload(client, me, gpx_at(*times), filename="a.gpx")
    assert response.status_code == 400
    says = f"line 1: <time> holds {times[0]!r}, which is not a time from 2000 to 2099"
    assert response.json()["detail"] == says
    assert_nothing_stored(db, settings)


def test_the_latest_time_works_everywhere_in_the_furthest_time_zone(client, me, db):
    _set_profile(db, me.athlete.id, timezone="Pacific/Kiritimati")  # UTC+14
    body = upload(client, me, gpx_at("2099-12-31T23:00:00Z", "2099-12-31T23:59:59Z"), filename="a.gpx").json()
    assert body["startTimeLocal"] == "2100-01-01T13:00:00+14:00"
    url = f"/api/v1/activities/{body['id']}"
    for path in ("", "/streams", "/fit", "/file", "/power-curve"):
        assert client.get(url + path, headers=me.headers).status_code == 200, path
    listed = client.get("/api/v1/activities?startDate=2100-01-01&endDate=2100-01-01", headers=me.headers)
    assert listed.json()["total"] == 1
    again = upload(client, me, gpx_at("2099-12-31T23:00:01Z", "2099-12-31T23:59:59Z"), filename="b.gpx")
    assert again.json()["existingActivityId"] == body["id"]  # the duplicate window reaches past 2100


def plan(client: TestClient, caller: Caller, day: str, minutes: float, title: str = "Plan") -> int:
    response = client.post(
        "/api/v1/calendar/events",
        headers=caller.headers,
        json={"calendarDate": day, "embedWorkout": {"title": title, "segments": [[minutes, 70, 70]]}},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def calendar(client: TestClient, caller: Caller, day: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/calendar?startDate={day}&endDate={day}", headers=caller.headers)
    assert response.status_code == 200
    return list(response.json()["data"])


def test_a_ride_completes_the_days_planned_workout(client, me, db, samples):
    _set_profile(db, me.athlete.id, timezone="America/Los_Angeles")
    note = client.post(
        "/api/v1/calendar/events", headers=me.headers, json={"calendarDate": "2025-02-18", "title": "rest?"}
    ).json()["id"]
    short = plan(client, me, "2025-02-18", 20, "Short")
    matching = plan(client, me, "2025-02-18", 45, "Long")  # the ride lasts 46 min
    before = calendar(client, me, "2025-02-18")  # cached now: the upload must change what it says
    assert all(e["completedActivity"] is None and e["compliance"] is None for e in before)

    ride = upload(client, me, (samples / "fit/14582164182.fit.gz").read_bytes()).json()
    assert ride["calendarEventId"] == matching
    events = {e["id"]: e for e in calendar(client, me, "2025-02-18")}
    done = events[matching]
    assert done["completedActivity"] == {
        "id": ride["id"],
        "name": ride["name"],
        "durationSeconds": ride["timerSeconds"],
        "tss": ride["tss"],
    }
    # 45 minutes planned at 70 % FTP: TSS 45/60 x 0.7^2 x 100 = 36.75.
    compliance = done["compliance"]
    assert compliance["durationRatio"] == pytest.approx(ride["timerSeconds"] / 2700, abs=0.001)
    assert compliance["tssRatio"] == pytest.approx(ride["tss"] / 36.75, abs=0.002)
    assert compliance["percent"] == compliance["tssPercent"] and compliance["status"] in (
        "green",
        "yellow",
        "orange",
    )
    assert events[short]["completedActivity"] is None and events[note]["completedActivity"] is None

    client.patch(f"/api/v1/activities/{ride['id']}", headers=me.headers, json={"name": "Zwift"})
    assert {e["id"]: e for e in calendar(client, me, "2025-02-18")}[matching]["completedActivity"][
        "name"
    ] == "Zwift"
    assert client.delete(f"/api/v1/activities/{ride['id']}", headers=me.headers).status_code == 204
    assert all(e["completedActivity"] is None for e in calendar(client, me, "2025-02-18"))


def test_a_second_ride_completes_the_next_free_plan_and_a_deleted_plan_unlinks(client, me, samples):
    first_plan = plan(client, me, "2019-09-20", 120)
    ride = upload(client, me, (samples / "fit/4078723797.fit").read_bytes()).json()
    assert ride["calendarEventId"] == first_plan
    other_day = upload(client, me, (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()).json()
    assert other_day["calendarEventId"] is None  # nothing planned on 2020-06-01
    client.delete(f"/api/v1/calendar/events/{first_plan}", headers=me.headers)
    assert (
        client.get(f"/api/v1/activities/{ride['id']}", headers=me.headers).json()["calendarEventId"] is None
    )


# --- a real server --------------------------------------------------------------------------------------


def test_upload_to_a_running_server(live_server, factory, samples):
    athlete = factory.athlete()
    caller = Caller(athlete, factory.key(athlete.id))
    with httpx.Client(base_url=live_server.base_url, timeout=60) as http:
        data = synthetic_ride_fit(hours=2)
        response = upload(http, caller, data, filename="long.fit")
        assert response.status_code == 201, response.text
        url = response.headers["location"]
        assert http.get(url, headers=caller.headers).json()["timerSeconds"] >= 7200
        assert http.get(url + "/file", headers=caller.headers).content == data
        packed = gzip.compress((samples / "gpx/6909869014.gpx").read_bytes())
        assert upload(http, caller, packed, filename="z.gpx.gz").status_code == 201
        assert upload(http, caller, b"nothing").status_code == 400
        assert http.delete(url, headers=caller.headers).status_code == 204
        assert http.get("/api/v1/activities", headers=caller.headers).json()["total"] == 1


def test_concurrent_uploads_of_one_ride_store_it_once(live_server, factory, samples, db):
    athlete = factory.athlete()
    caller = Caller(athlete, factory.key(athlete.id))
    files = [
        ("a.fit", (samples / "fit/4078723797.fit").read_bytes()),
        ("b.fit", (samples / "fit/4078723797.fit").read_bytes()),
        ("c.gpx", (samples / "gpx/4078723797_strava.gpx").read_bytes()),
        ("d.fit.gz", gzip.compress((samples / "fit/4078723797.fit").read_bytes())),
    ]
    files_before = live_server_files(live_server)
    with httpx.Client(base_url=live_server.base_url, timeout=60) as http, ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda f: upload(http, caller, f[1], filename=f[0]), files))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    created = next(r for r in responses if r.status_code == 201).json()["id"]
    assert {r.json()["existingActivityId"] for r in responses if r.status_code == 409} == {created}
    assert activity_count(db) == 1
    assert len(live_server_files(live_server) - files_before) == 1


def live_server_files(live_server: Any) -> set[Path]:
    """The files the running server (shared by the session's tests) has stored so far."""
    return {p for p in (Path(live_server.env["TRAINERDAY_DATA_DIR"]) / "files").rglob("*") if p.is_file()}
