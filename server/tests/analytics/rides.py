"""Rides for analytics tests: synthetic 1 Hz recordings as FIT files, started when a test needs them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import Caller
from trainerday_server.activities.fitexport import recording_to_fit
from trainerday_server.activities.synthetic import synthetic_ride

UPLOAD = "/api/v1/activities/upload"


def ride_file(start: dt.datetime, *, minutes: int = 60, seed: int = 0, watts_scale: float = 1.0) -> bytes:
    """A ride of ``minutes`` starting at ``start``, its power scaled by ``watts_scale``."""
    recording = synthetic_ride(minutes / 60, seed=seed, pauses=0)
    channels = dict(recording.channels)
    channels["power"] = (channels["power"] * watts_scale).round()
    return recording_to_fit(dataclasses.replace(recording, start_time=start, channels=channels), ftp=250)


def upload_ride(client: TestClient, caller: Caller, start: dt.datetime, **kwargs: Any) -> dict[str, Any]:
    response = client.post(
        UPLOAD, headers=caller.headers, files={"file": ("ride.fit", ride_file(start, **kwargs))}
    )
    assert response.status_code == 201, response.text
    return response.json()


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)
