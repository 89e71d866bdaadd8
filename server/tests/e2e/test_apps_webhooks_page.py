"""/developer/apps with a disabled webhook subscription, as Chromium draws it: screenshotted for a person to
look at, and its Enable again button pressed in the browser (a real form post with the page's CSRF token).

The browser's requests to https://testserver are answered by the app in process (through the test client,
which holds the owner's session), so the receiver and worker fixtures of the web tests apply unchanged.
"""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.conftest import Database, Factory
from tests.e2e.test_web_journey import OUTPUT
from tests.web import test_apps_webhooks as section
from tests.webhooks.receiver import Receiver
from trainerday_server.webhooks.worker import DeliveryWorker

settings, owner = section.settings, section.owner
receiver, worker, worker_clock = section.receiver, section.worker, section.worker_clock


def served_by(client: TestClient) -> Any:
    """A Playwright route handler answering each request from the app through ``client``."""

    def handle(route: Any) -> None:
        request = route.request
        answer = client.request(
            request.method,
            request.url,
            content=request.post_data_buffer,
            headers={k: v for k, v in request.headers.items() if k.lower() in ("content-type", "accept")},
        )
        route.fulfill(status=answer.status_code, headers=dict(answer.headers), body=answer.content)

    return handle


def test_the_disabled_subscription_as_chromium_draws_it_and_enabled_from_the_browser(
    page: Any,
    owner: section.OwnedApp,
    receiver: Receiver,
    worker: DeliveryWorker,
    worker_clock: section.WorkerClock,
    factory: Factory,
    db: Database,
):
    section.plan(owner.browser, owner.athlete, factory, "Easy")
    section.plan(owner.browser, owner.athlete, factory, "Tempo")
    section.fail_until_disabled(receiver, worker, worker_clock)
    page.route("https://testserver/**", served_by(owner.browser))
    OUTPUT.mkdir(parents=True, exist_ok=True)

    page.goto("https://testserver/developer/apps")
    card = page.locator("section.webhook")
    assert card.locator(".status-disabled").inner_text() == "disabled"
    assert "HTTP 500" in card.locator("p.error").inner_text()
    assert card.locator("tbody tr").count() == 2  # the dead one, and the one that waits behind it
    page.screenshot(path=str(OUTPUT / "apps-webhook-disabled.png"), full_page=True)

    card.get_by_role("button", name="Enable again").click()
    page.wait_for_url("**/developer/apps?done=webhook-enabled")
    assert page.locator("section.webhook .status-active").inner_text() == "active"
    page.screenshot(path=str(OUTPUT / "apps-webhook-enabled.png"), full_page=True)
    assert section.subscription_row(db, owner.subscription_id).disabled_at is None
