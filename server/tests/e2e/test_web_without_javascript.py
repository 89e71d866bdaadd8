"""The pages work with JavaScript turned off: log in, create a key, upload a ride, move a planned workout on
the calendar. (Only the copy button, the upload progress bar and chart hover values need the script.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD, Factory, LiveServer, bearer

RIDE = "fit/Edge810-Vector-2013-08-16-15-35-10.fit"


@pytest.fixture
def page_without_script(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(java_script_enabled=False)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_the_pages_work_without_javascript(
    page_without_script: Any, live_server: LiveServer, factory: Factory, samples: Path
):
    page, base = page_without_script, live_server.base_url
    athlete = factory.athlete()
    page.goto(f"{base}/developer")
    page.get_by_label("Email").fill(athlete.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/developer")

    page.get_by_label("Name").fill("no-script key")
    page.get_by_role("checkbox", name=re.compile("workout:write")).check()
    page.get_by_role("checkbox", name=re.compile("calendar:write")).check()
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_role("textbox", name="API key").input_value()
    api = httpx.Client(base_url=base, headers=bearer(key), timeout=30)

    page.goto(f"{base}/activities")
    page.get_by_label(re.compile("FIT, TCX or GPX files")).set_input_files(str(samples / RIDE))
    page.get_by_role("button", name="Upload").click()
    assert "Created" in page.locator("table.results").inner_text()

    workout = api.post("/api/v1/workouts", json={"title": "Tempo", "segments": [[30, 85, 85]]}).json()
    event = api.post(
        "/api/v1/calendar/events", json={"calendarDate": "2013-08-20", "workoutId": workout["id"]}
    )
    assert event.status_code == 201, event.text
    page.goto(f"{base}/calendar?month=2013-08")
    page.get_by_text("Change").click()  # <details>: opens without any script
    page.get_by_label("Move to").fill("2013-08-16")
    page.get_by_role("button", name="Move").click()
    moved = api.get(f"/api/v1/calendar/events/{event.json()['id']}").json()
    assert moved["calendarDate"] == "2013-08-16"
    assert moved["completedActivity"] is not None  # the ride of that day now completes it
