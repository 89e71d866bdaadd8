"""Issue 9 through the API: text checks alike on SQLite and PostgreSQL, damaged rides salvaged."""

from __future__ import annotations

import struct

import pytest

from tests.activities.files.fitbytes import RECORD_TIMESTAMP_POWER, T0, definition, fit_segment
from tests.activities.test_activities_api import assert_nothing_stored, upload


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("name", "Hill\x00repeats"),
        ("name", "Hill\x07repeats"),
        ("name", "Hill\nrepeats"),
        ("description", "intervals\x00"),
        ("description", "intervals\x1b[31m"),
    ],
)
def test_12_control_characters_in_upload_text_are_refused(client, me, db, settings, samples, field, text):
    data = (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()
    response = upload(client, me, data, **{field: text})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    assert "control characters" in response.json()["errors"][0]["message"]
    assert_nothing_stored(db, settings)


def test_12_a_description_may_hold_line_breaks_and_tabs(client, me, samples):
    data = (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()
    response = upload(client, me, data, description="5 x 4 min\n\tat 110 %\r\n")
    assert response.status_code == 201, response.text
    assert response.json()["description"] == "5 x 4 min\n\tat 110 %\r\n"


@pytest.mark.parametrize(("field", "text"), [("name", "a\x07b"), ("description", "x\x00y")])
def test_12_patch_refuses_the_same_text(client, me, samples, field, text):
    created = upload(client, me, (samples / "fit/2020-06-01-16-52-40.fit").read_bytes()).json()
    url = f"/api/v1/activities/{created['id']}"
    response = client.patch(url, headers=me.headers, json={field: text})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == field
    assert client.get(url, headers=me.headers).json()[field] == created[field]


def test_5_nick_fit_has_no_power_figures_and_no_training_load(client, me, samples):
    body = upload(client, me, (samples / "damaged/nick.fit").read_bytes(), filename="nick.fit").json()
    assert body["elapsedSeconds"] > 4.6 * 3600 and body["timerSeconds"] > 3.9 * 3600
    for figure in ("averagePower", "maxPower", "normalizedPower", "intensityFactor", "tss", "workKj"):
        assert body[figure] is None, figure
    assert body["timeInPowerZones"] is None and body["powerCurve"] is None
    assert body["deviceSummary"] is None  # the file ends before its session message


def test_7_a_truncated_gzip_upload_is_salvaged(client, me, db, samples):
    data = (samples / "fit/14582164182.fit.gz").read_bytes()
    cut = data[: len(data) * 3 // 4]  # before: 400 "the gzip data is truncated"
    response = upload(client, me, cut, filename="ride.fit.gz")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["warnings"][0] == (
        f"the gzip data is truncated after {len(cut):,} bytes; the 55,694 bytes it inflates to were read"
    )
    assert body["warnings"][1].endswith("2,214 records recovered")
    assert body["file"] == {"name": "ride.fit.gz", "format": "fit", "gzipped": True, "size": len(cut)}
    stream = client.get(f"/api/v1/activities/{body['id']}/streams?types=power", headers=me.headers).json()
    assert len(stream["time"]) == 2214
    assert client.get(f"/api/v1/activities/{body['id']}/file", headers=me.headers).content == cut


def fit_records(times: list[int]) -> bytes:
    """A FIT activity: one record (timestamp, 200 W) at each FIT time."""
    body = definition(0, 20, RECORD_TIMESTAMP_POWER)
    for when in times:
        body += struct.pack("<BIH", 0, when, 200)
    return fit_segment(body)


def test_7_one_absurd_timestamp_drops_that_record_not_the_ride(client, me):
    sixty_four_years = 64 * 365 * 86400
    times = [T0 + i for i in range(600)]
    times[300] += sixty_four_years  # before: "the records span 23,376 days", 400
    response = upload(client, me, fit_records(times))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["warnings"] == ["1 record dated far from the rest (2085-08-23T01:51:40Z) left out"]
    assert (body["elapsedSeconds"], body["timerSeconds"], body["averagePower"]) == (600, 600, 200)


def test_7_records_really_spread_over_weeks_are_still_refused(client, me, db, settings):
    times = [T0 + i * 86400 for i in range(30)]  # a month, one record a day
    response = upload(client, me, fit_records(times))
    assert response.status_code == 400
    assert "one activity may span at most 7 days" in response.json()["detail"]
    assert_nothing_stored(db, settings)
