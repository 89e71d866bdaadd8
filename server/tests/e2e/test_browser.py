"""What an athlete's real browser sees, against a real server process: the log-in and consent pages of the
OAuth flow, and the workout chart drawn by Chromium itself (an SVG that parses as XML may yet not render)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.conftest import PASSWORD, Database, Factory, LiveServer, bearer
from tests.oauth2.flow import REDIRECT_URI, pkce_pair, register_app
from trainerday_server.auth.scopes import SCOPES
from trainerday_server.web.routes import BAD_CREDENTIALS
from trainerday_server.workouts.chart import HEIGHT, WIDTH, ZONE_COLOURS

SCOPE = "athlete:read calendar:read"


def authorization_url(base_url: str, client_id: str, challenge: str, state: str) -> str:
    query = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPE,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{base_url}/oauth/authorize?{urlencode(query)}"


def stand_in_for_the_app(page: Any) -> None:
    """The app's redirect URI does not exist; the browser gets a small page there instead."""
    page.route(REDIRECT_URI + "*", lambda route: route.fulfill(status=200, body="back at the app"))


def log_in(page: Any, email: str, password: str = PASSWORD) -> None:
    """Fill the log-in form by its labels, as a screen-reader user would find the fields."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_an_athlete_connects_an_app_with_a_real_browser(
    page: Any, live_server: LiveServer, factory: Factory, db: Database
):
    base = live_server.base_url
    athlete = factory.athlete(ftp=260)
    app = register_app(db.engine, public=True, name="Zone Coach")
    verifier, challenge = pkce_pair()
    stand_in_for_the_app(page)

    page.goto(authorization_url(base, app.client_id, challenge, "s-1"))
    assert urlsplit(page.url).path == "/login"
    log_in(page, athlete.email, "not the password")
    assert page.get_by_role("alert").inner_text() == BAD_CREDENTIALS  # generic: never says which was wrong
    assert page.get_by_label("Email").input_value() == athlete.email  # what was typed is kept

    log_in(page, athlete.email)
    assert page.get_by_role("heading", level=1).inner_text() == "Connect Zone Coach to your account?"
    asked = [item.strip() for item in page.locator("ul.scopes li").all_inner_texts()]
    assert asked == [SCOPES["athlete:read"], SCOPES["calendar:read"]]
    cookies = page.context.cookies(base)
    assert cookies and all(c["httpOnly"] and c["sameSite"] == "Lax" for c in cookies)

    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(REDIRECT_URI + "?*")
    back = parse_qs(urlsplit(page.url).query)
    assert back["state"] == ["s-1"] and len(back["code"]) == 1

    token = httpx.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": back["code"][0],
            "redirect_uri": REDIRECT_URI,
            "client_id": app.client_id,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.text
    profile = httpx.get(f"{base}/api/v1/athlete", headers=bearer(token.json()["access_token"]))
    assert profile.status_code == 200 and profile.json()["ftp"] == 260


def test_deny_in_a_real_browser_sends_access_denied(
    page: Any, live_server: LiveServer, factory: Factory, db: Database
):
    athlete = factory.athlete()
    app = register_app(db.engine, public=True)
    _verifier, challenge = pkce_pair()
    stand_in_for_the_app(page)
    page.goto(authorization_url(live_server.base_url, app.client_id, challenge, "s-2"))
    log_in(page, athlete.email)
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(REDIRECT_URI + "?*")
    back = parse_qs(urlsplit(page.url).query)
    assert back["error"] == ["access_denied"] and back["state"] == ["s-2"] and "code" not in back


def test_a_browser_will_not_show_the_consent_page_inside_another_site(
    page: Any, live_server: LiveServer, factory: Factory, db: Database
):
    """Clickjacking: a hostile page frames the consent screen of a logged-in athlete. The browser must refuse
    to draw it (or the log-in page it would show without the session cookie), so nothing on it can be clicked
    through a disguise."""
    base = live_server.base_url
    athlete = factory.athlete()
    app = register_app(db.engine, public=True)
    _verifier, challenge = pkce_pair()
    consent_url = authorization_url(base, app.client_id, challenge, "s-3")
    page.goto(consent_url)
    log_in(page, athlete.email)
    assert page.get_by_role("button", name="Allow").is_visible()  # logged in, the page itself shows

    # Another site on this machine (loopback, so Chromium's private-network rules do not get in first).
    page_html = f'<!doctype html><title>Win a bike</title><iframe src="{consent_url}"></iframe>'.encode()

    class Hostile(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page_html)

        def log_message(self, *args: Any) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Hostile) as hostile:
        threading.Thread(target=hostile.serve_forever, daemon=True).start()
        try:
            page.goto(f"http://localhost:{hostile.server_address[1]}/")  # "localhost" is not "127.0.0.1"
            page.wait_for_load_state("load")
        finally:
            hostile.shutdown()
    framed = [frame for frame in page.frames if frame is not page.main_frame]
    assert len(framed) == 1
    assert framed[0].locator("button").count() == 0, "a page of ours was drawn inside another site"


def test_a_browser_draws_the_workout_chart_in_zone_colours(
    page: Any, live_server: LiveServer, factory: Factory
):
    athlete = factory.athlete(ftp=200)
    headers = bearer(factory.key(athlete.id))
    # Three equal blocks in zones 1, 4 and 6.
    workout = {"title": "Three zones", "segments": [[10, 50, 50], [10, 100, 100], [10, 130, 130]]}
    created = httpx.post(f"{live_server.base_url}/api/v1/workouts", json=workout, headers=headers)
    assert created.status_code == 201, created.text
    chart_url = f"{live_server.base_url}/api/v1/workouts/{created.json()['id']}/chart.svg"

    # Opened as a document, Chromium parses it as SVG (an XML error would show its own error page instead).
    page.set_extra_http_headers(headers)
    response = page.goto(chart_url)
    assert response.status == 200 and response.headers["content-type"] == "image/svg+xml"
    assert page.evaluate("document.documentElement.namespaceURI") == "http://www.w3.org/2000/svg"
    assert page.locator("parsererror").count() == 0
    assert page.evaluate("document.title") == "Three zones: 30:00 in 3 segments"

    # Used as an image, as the web pages will: decode it, paint it on a canvas and read the pixels back.
    svg = httpx.get(chart_url, headers=headers).text
    painted = page.evaluate(
        """async ([svg, width, height]) => {
            const image = new Image();
            image.src = URL.createObjectURL(new Blob([svg], {type: "image/svg+xml"}));
            await image.decode();
            const canvas = document.createElementNS("http://www.w3.org/1999/xhtml", "canvas");
            canvas.width = width; canvas.height = height;
            const context = canvas.getContext("2d");
            context.drawImage(image, 0, 0);
            const pixel = (x, y) => Array.from(context.getImageData(x, y, 1, 1).data.slice(0, 3));
            return {
                size: [image.naturalWidth, image.naturalHeight],
                blocks: [1, 3, 5].map(sixth => pixel(Math.round(width * sixth / 6), height - 5)),
                sky: pixel(Math.round(width / 6), 5),
            };
        }""",
        [svg, WIDTH, HEIGHT],
    )
    assert painted["size"] == [WIDTH, HEIGHT]
    assert painted["blocks"] == [rgb(ZONE_COLOURS[zone - 1]) for zone in (1, 4, 6)]
    assert painted["sky"] == [0, 0, 0]  # transparent above the zone-1 block: nothing drawn there


def rgb(colour: str) -> list[int]:
    return [int(colour[i : i + 2], 16) for i in (1, 3, 5)]


@pytest.mark.parametrize("path", ["/login", "/docs"])
def test_pages_load_in_a_browser_without_errors_or_outside_requests(page: Any, live_server: LiveServer, path):
    """No console errors, and nothing fetched from anywhere but this server (no CDN: it must work offline)."""
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))

    def note_outside(request: Any) -> None:
        if not request.url.startswith((live_server.base_url, "data:")):
            outside.append(request.url)

    page.on("request", note_outside)
    response = page.goto(live_server.base_url + path)
    page.wait_for_load_state("networkidle")
    assert response.status == 200
    assert errors == [] and outside == []
    if path == "/docs":  # Swagger UI has drawn the API from /openapi.json
        assert page.get_by_text("/api/v1/calendar/events", exact=True).first.is_visible()
