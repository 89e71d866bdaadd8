"""The athlete's whole journey through the web pages in a real browser (Debian's Chromium, Playwright),
against a real server process: sign up, log in, a key made on /developer and used from here, rides uploaded,
the calendar, a ride's charts, an app applied for, approved with the CLI, connected, disconnected, the key
revoked. Every page is checked with axe-core (no serious or critical violation) and photographed into
``test-output/screenshots`` (``TRAINERDAY_TEST_OUTPUT`` elsewhere) for a person to look at."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.conftest import PASSWORD, REPO_ROOT, LiveServer, bearer
from tests.oauth2.flow import pkce_pair

OUTPUT = Path(os.environ.get("TRAINERDAY_TEST_OUTPUT", REPO_ROOT / "test-output")) / "screenshots"
RIDES = (
    "fit/Edge810-Vector-2013-08-16-15-35-10.fit",
    "fit/Karoo-Botley_BW_Swanmore_Wickham-2025-05-09-1238.fit",
)
APP_REDIRECT = "https://coach.example/callback"


@pytest.fixture(scope="module")
def axe() -> Any:
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        pytest.skip("axe-playwright-python is not installed (make install-test installs it)")
    return Axe()


class Journey:
    """The browser page, with a check of every page it lands on."""

    def __init__(self, page: Any, base: str, axe: Any) -> None:
        self.page, self.base, self.axe = page, base, axe
        self.seen: list[str] = []
        OUTPUT.mkdir(parents=True, exist_ok=True)

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def check(self, name: str) -> None:
        """Screenshot the page, and fail on any serious or critical accessibility violation."""
        self.page.wait_for_load_state("load")
        self.page.screenshot(path=str(OUTPUT / f"{len(self.seen) + 1:02d}-{name}.png"), full_page=True)
        self.seen.append(name)
        violations = self.axe.run(self.page).response["violations"]
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]
        assert not bad, f"{name}: " + "; ".join(bad)


def test_an_athletes_journey_through_the_web_pages(
    page: Any, live_server: LiveServer, samples: Path, axe: Any
):
    base = live_server.base_url
    journey = Journey(page, base, axe)
    email = f"rider-{uuid.uuid4().hex[:8]}@example.com"
    page.route(APP_REDIRECT + "*", lambda route: route.fulfill(status=200, body="back at the app"))

    # The public API page, then sign up.
    journey.go("/")
    assert page.get_by_role("heading", level=1).inner_text() == "TrainerDay API"
    assert page.get_by_role("link", name="Get your API key").get_attribute("href") == "/developer"
    journey.check("api-page")
    page.get_by_role("link", name="Sign up").click()
    journey.check("signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Name").fill("Journey Rider")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(base + "/developer")

    # Log out and in again, by keyboard only.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(base + "/login")
    journey.check("login")
    page.get_by_label("Email").fill(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/")
    journey.go("/developer")
    journey.check("developer")

    # A key, shown once, copied with the button, used from here.
    page.get_by_label("Name").fill("journey script")
    for scope in ("athlete:write", "workout:write", "calendar:write", "activities:write"):
        page.get_by_role("checkbox", name=re.compile(scope)).check()
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_role("textbox", name="API key").input_value()
    assert key.startswith("td_")
    page.get_by_role("button", name="Copy").click()
    # The clipboard answers asynchronously: wait for the label to change (up to 5 s), then check it.
    page.get_by_role("button", name="Copied").wait_for(state="visible", timeout=5000)
    assert page.get_by_role("button", name="Copied").is_visible()
    journey.check("developer-new-key")
    api = httpx.Client(base_url=base, headers=bearer(key), timeout=30)
    assert api.get("/api/v1/athlete").json()["email"] == email

    # Two rides uploaded in one form.
    journey.go("/activities")
    journey.check("activities-empty")
    page.get_by_label(re.compile("FIT, TCX or GPX files")).set_input_files([str(samples / r) for r in RIDES])
    page.get_by_role("button", name="Upload").click()
    page.get_by_role("table", name="Upload results").wait_for()
    outcomes = page.locator("table.results tbody tr").all_inner_texts()
    assert len(outcomes) == 2 and all("Created" in o for o in outcomes), outcomes
    journey.check("activities-uploaded")
    rides = api.get("/api/v1/activities").json()["data"]
    edge = next(r for r in rides if r["startTimeLocal"].startswith("2013-08-16"))

    # A planned workout on the day of the first ride: the ride completes it.
    workout = api.post(
        "/api/v1/workouts",
        json={
            "title": "Sweet spot 3x12",
            "segments": [[10, 50, 65], [12, 90, 90], [4, 55, 55], [12, 90, 90], [10, 60, 40]],
        },
    ).json()
    planned = api.post(
        "/api/v1/calendar/events", json={"calendarDate": "2013-08-16", "workoutId": workout["id"]}
    )
    assert planned.status_code == 201 and planned.json()["completedActivity"]["id"] == edge["id"]
    journey.go("/calendar?month=2013-08")
    cell = page.locator(".event.workout", has_text="Sweet spot 3x12")
    assert cell.locator("svg.mini polygon").count() == 5
    assert "Done: " + edge["name"] in cell.inner_text()
    journey.check("calendar")

    # The ride's page and its charts, drawn by the browser.
    cell.get_by_role("link", name=re.compile("Done:")).click()
    page.wait_for_url(f"{base}/activities/{edge['id']}")
    for label in (
        "Power over time",
        "Heart rate over time",
        "Mean-max power curve",
        "Route outline",
        "Time in zones",
    ):
        chart = page.locator(f'svg[aria-label^="{label}"]').first
        box = chart.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 50, label
    power = page.locator("figure.chart", has_text="Power").first
    power.locator("svg").hover()
    assert re.fullmatch(r"\d+:\d\d(:\d\d)? \d+ W", power.locator("output").inner_text()), "no hover value"
    journey.check("activity")

    journey.go("/workouts")
    journey.check("workouts")
    page.get_by_role("link", name="Sweet spot 3x12").click()
    journey.check("workout")
    journey.go("/settings")
    journey.check("settings")
    if importlib.util.find_spec("trainerday_server.analytics") is not None:
        journey.go("/fitness?days=365")
        assert page.locator("svg.chart").first.bounding_box()["width"] > 200
        journey.check("fitness")

    # An app: applied for, approved by the operator, connected through OAuth.
    journey.go("/developer/apps")
    journey.check("apps-empty")
    page.get_by_label("App name").fill("Journey Coach")
    page.get_by_label("Website").fill("https://coach.example")
    page.get_by_label("What does it do?").fill("Plans the journey's training.")
    page.get_by_label("Redirect URIs (one a line)").fill(APP_REDIRECT)
    page.get_by_role("checkbox", name=re.compile("athlete:read")).check()
    page.get_by_role("button", name="Apply").click()
    assert "an administrator will review it" in page.get_by_role("status").inner_text()
    application_id = re.search(r"Application #(\d+)", page.content()).group(1)
    approved = subprocess.run(
        [sys.executable, "-m", "trainerday_server.cli", "clients", "approve", application_id],
        env=live_server.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert approved.returncode == 0, approved.stderr
    client_id = approved.stdout.strip()
    journey.go("/developer/apps")
    page.get_by_role("button", name="Create a new client secret").click()
    secret = page.get_by_label("client_secret").input_value()
    assert page.get_by_label("client_id").input_value() == client_id
    journey.check("apps-approved")

    verifier, challenge = pkce_pair()
    query = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": APP_REDIRECT,
        "scope": "athlete:read",
        "state": "j-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    journey.go("/oauth/authorize?" + urlencode(query))
    journey.check("consent")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(APP_REDIRECT + "?*")
    code = parse_qs(urlsplit(page.url).query)["code"][0]
    token = httpx.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": APP_REDIRECT,
            "code_verifier": verifier,
        },
        auth=(client_id, secret),
    )
    assert token.status_code == 200, token.text
    access = token.json()["access_token"]
    assert httpx.get(f"{base}/api/v1/athlete", headers=bearer(access)).status_code == 200

    journey.go("/developer")
    row = page.locator("tr", has_text="Journey Coach")
    assert "athlete:read" in row.inner_text()
    journey.check("developer-connected")
    row.get_by_role("button", name="Disconnect Journey Coach").click()
    assert "disconnected" in page.get_by_role("status").inner_text()
    assert httpx.get(f"{base}/api/v1/athlete", headers=bearer(access)).status_code == 401

    # The key revoked: it stops working.
    page.get_by_role("button", name="Revoke key journey script").click()
    assert "revoked" in page.get_by_role("status").inner_text()
    assert api.get("/api/v1/athlete").status_code == 401
    journey.check("developer-revoked")
