"""A real browser for the end-to-end tests: Playwright driving the machine's Chromium (Debian's
``/usr/bin/chromium``; ``TRAINERDAY_TEST_CHROMIUM`` points elsewhere).

Where no Chromium is installed the browser tests are skipped with the reason, so ``make test`` still runs on a
machine with only Python; CI installs Chromium and sets ``TRAINERDAY_TEST_BROWSER=required``, which turns that
skip into a failure, so the browser tests cannot silently stop running there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("TRAINERDAY_TEST_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = os.environ.get("TRAINERDAY_TEST_BROWSER") == "required"


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"TRAINERDAY_TEST_BROWSER=required but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (make install-test installs it)")
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set TRAINERDAY_TEST_CHROMIUM)")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser profile (no cookies) per test."""
    context = chromium.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()
