"""Everything a person can use on the pages is reachable with the Tab key alone, in a real browser."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD, Factory, LiveServer, bearer

# Every visible control, each marked with its index, so the focus walk can say which it reached.
MARK_CONTROLS = """() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary';
  const all = [...document.querySelectorAll(selector)].filter(e => e.checkVisibility() && !e.disabled);
  all.forEach((e, i) => e.setAttribute('data-control', String(i)));
  return all.length;
}"""
PAGES = (
    "/",
    "/developer",
    "/developer/apps",
    "/settings",
    "/calendar?month=2026-03",
    "/workouts",
    "/activities",
)


@pytest.mark.slow  # ~30 s: a Tab walk over seven pages; the journey test logs in by keyboard on every run
def test_every_control_of_every_page_is_reachable_by_tab(
    page: Any, live_server: LiveServer, factory: Factory
):
    base = live_server.base_url
    athlete = factory.athlete()
    note = {"calendarDate": "2026-03-03", "type": "note", "title": "Rest"}  # a cell with its Change controls
    created = httpx.post(f"{base}/api/v1/calendar/events", json=note, headers=bearer(factory.key(athlete.id)))
    assert created.status_code == 201, created.text
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(athlete.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")
    for path in PAGES:
        page.goto(base + path)
        count = page.evaluate(MARK_CONTROLS)
        reached: set[str] = set()
        for _ in range(count * 2 + 5):  # radio groups take one stop; a few extra stops cost nothing
            page.keyboard.press("Tab")
            marked = page.evaluate(
                "() => document.activeElement && document.activeElement.getAttribute('data-control')"
            )
            if marked is not None:
                reached.add(marked)
        radios = page.evaluate(
            "() => [...document.querySelectorAll('input[type=radio]:not(:checked)')]"
            ".map(e => e.getAttribute('data-control'))"
        )
        missing = set(map(str, range(count))) - reached - set(radios)  # arrow keys move within a radio group
        names = page.evaluate(
            "(ids) => ids.map(i => document.querySelector(`[data-control='${i}']`).outerHTML.slice(0, 120))",
            sorted(missing),
        )
        assert not missing, f"{path}: not reachable by Tab: {names}"
