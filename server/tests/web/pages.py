"""Helpers for the web page tests: a logged-in browser, and forms posted as a browser posts them."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from tests.conftest import PASSWORD
from tests.oauth2.flow import csrf_of, log_in

_NOTICE = re.compile(r'<p class="(?:notice|error)"[^>]*>(.*?)</p>', re.S)


def logged_in(browser: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Client:
    response = log_in(browser, email, password)
    assert response.status_code == 303, response.text
    return browser


def submit(
    browser: httpx.Client, page_url: str, action: str, data: dict[str, Any] | None = None
) -> httpx.Response:
    """Open ``page_url`` and post to ``action`` with the CSRF token found on the page."""
    page = browser.get(page_url)
    assert page.status_code == 200, page.text
    return browser.post(action, data={"csrf_token": csrf_of(page.text), **(data or {})})


def messages(page: str) -> list[str]:
    """The notices and errors shown on a page, as text."""
    return [html.unescape(re.sub(r"<[^>]+>", "", m)).strip() for m in _NOTICE.findall(page)]
