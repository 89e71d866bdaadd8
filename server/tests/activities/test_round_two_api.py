"""Issue 9 through the API: text checks alike on SQLite and PostgreSQL, damaged rides salvaged."""

from __future__ import annotations

import pytest

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
