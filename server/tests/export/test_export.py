"""``GET /api/v1/athlete/export``: every resource as JSON and every original file byte for byte, only the
caller's, streamed in bounded chunks."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.conftest import Caller, Factory, bearer
from trainerday_server.export import service as export_service

RIDE = "fit/2019-02-17-062644-ELEMNT-297E-195-0.fit"
SMALL_RIDE = "fit/6449921903_ACTIVITY.fit"


def upload(client: TestClient, headers: dict[str, str], path: Path) -> int:
    response = client.post(
        "/api/v1/activities/upload", files={"file": (path.name, path.read_bytes())}, headers=headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_export_holds_everything_of_the_caller_and_nothing_of_others(
    client: TestClient, me: Caller, factory: Factory, samples: Path
) -> None:
    ride = samples / RIDE
    activity_id = upload(client, me.headers, ride)
    event = client.post(
        "/api/v1/calendar/events",
        json={"calendarDate": "2026-03-02", "title": "Rest", "notes": "legs up"},
        headers=me.headers,
    ).json()
    workout = client.post(
        "/api/v1/workouts", json={"title": "Sweet spot", "segments": [[10, 88, 92]]}, headers=me.headers
    )
    assert workout.status_code == 201, workout.text
    stranger = factory.athlete()
    stranger_key = factory.key(stranger.id)
    upload(client, bearer(stranger_key), samples / SMALL_RIDE)
    client.post(
        "/api/v1/calendar/events",
        json={"calendarDate": "2026-03-03", "title": "Not yours"},
        headers=bearer(stranger_key),
    )

    response = client.get("/api/v1/athlete/export", headers=me.headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert "attachment" in response.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None  # every entry's CRC checks out
    names = set(archive.namelist())
    assert names == {
        "athlete.json",
        "calendar.json",
        "workouts.json",
        "activities.json",
        "api_keys.json",
        "connections.json",
        f"files/{activity_id}.fit",
    }
    assert archive.read(f"files/{activity_id}.fit") == ride.read_bytes()
    athlete = json.loads(archive.read("athlete.json"))
    assert athlete["email"] == me.athlete.email and athlete["ftp"] == 200
    assert athlete["ftpHistory"] and "powerZones" in athlete
    calendar = json.loads(archive.read("calendar.json"))
    assert [e["id"] for e in calendar] == [event["id"]] and calendar[0]["notes"] == "legs up"
    assert [w["title"] for w in json.loads(archive.read("workouts.json"))] == ["Sweet spot"]
    activities = json.loads(archive.read("activities.json"))
    assert [a["id"] for a in activities] == [activity_id]
    assert activities[0] == client.get(f"/api/v1/activities/{activity_id}", headers=me.headers).json()
    keys = json.loads(archive.read("api_keys.json"))
    assert len(keys) == 1 and keys[0]["hint"] and me.key not in response.content.decode("latin-1")
    assert json.loads(archive.read("connections.json")) == []
    assert b"Not yours" not in response.content


def test_an_empty_account_exports_empty_lists(client: TestClient, me: Caller) -> None:
    archive = zipfile.ZipFile(io.BytesIO(client.get("/api/v1/athlete/export", headers=me.headers).content))
    for name in ("calendar.json", "workouts.json", "activities.json", "connections.json"):
        assert json.loads(archive.read(name)) == []


@pytest.mark.parametrize("missing", ["athlete:read", "calendar:read", "workout:read", "activities:read"])
def test_export_needs_every_read_scope(client: TestClient, factory: Factory, missing: str) -> None:
    scopes = {"athlete:read", "calendar:read", "workout:read", "activities:read"} - {missing}
    key = factory.key(factory.athlete().id, " ".join(sorted(scopes)))
    response = client.get("/api/v1/athlete/export", headers=bearer(key))
    assert response.status_code == 403
    assert response.json()["scope"] == missing


def test_export_needs_a_token(client: TestClient) -> None:
    assert client.get("/api/v1/athlete/export").status_code == 401


def test_the_archive_is_produced_in_bounded_chunks(
    client: TestClient, me: Caller, samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload(client, me.headers, samples / RIDE)  # 700 kB
    monkeypatch.setattr(export_service, "CHUNK_BYTES", 64 * 1024)
    state = client.app.state  # type: ignore[attr-defined]
    chunks = list(
        export_service.export_archive(state.read_sessions, state.file_storage, me.athlete.id, state.clock())
    )
    sizes = [len(c) for c in chunks]
    assert sum(sizes) > 10 * 64 * 1024  # the original alone is 700 kB
    assert max(sizes) <= 64 * 1024 + 4096  # never more than one chunk (and an entry header) at once
    zipfile.ZipFile(io.BytesIO(b"".join(chunks))).testzip()
