"""docs/oauth.md runs as written: its shell and Python examples, against a real server process.

The guide's blocks run in order. ``<!-- test: register -->`` marks the operator's command (run with the
server's configuration), ``<!-- test: skip ... -->`` the reader's own settings (the test supplies its own),
and ``<!-- test: browser -->`` the point where the athlete approves in a browser (the test plays the browser).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.conftest import REPO_ROOT, Factory, LiveServer
from tests.oauth2.flow import approve_in_browser

DOC = REPO_ROOT / "docs" / "oauth.md"
_BLOCK = re.compile(r"```(?P<lang>\w+)\n(?P<code>.*?)```", re.S)
_MARKER = re.compile(r"<!-- test: (?P<what>\w+)")


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    marker: str | None  # the test marker right before it, if any
    after_browser: bool


def blocks() -> list[Block]:
    text = DOC.read_text()
    browser_at = text.index("<!-- test: browser -->")
    found = []
    for match in _BLOCK.finditer(text):
        before = text[: match.start()].rstrip()
        marker = _MARKER.search(before.splitlines()[-1]) if before else None
        what = marker["what"] if marker else None
        found.append(Block(match["lang"], match["code"], what, match.start() > browser_at))
    return found


def shell(script: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"{script}\n--- stderr:\n{result.stderr}"
    return result.stdout


@pytest.fixture
def doc_env(live_server: LiveServer, tmp_path: Path) -> dict[str, str]:
    for tool in ("curl", "jq", "openssl"):
        if shutil.which(tool) is None:
            pytest.skip(f"the guide's shell examples need {tool}")
    # The operator's command, `trainerday-server`, from this virtual environment, on the server's database.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return {**live_server.env, "PATH": path, "HOME": str(tmp_path)}


def register(env: dict[str, str]) -> dict[str, str]:
    [operator] = [b for b in blocks() if b.marker == "register"]
    credentials = json.loads(shell(operator.code, env))
    return {"CLIENT_ID": credentials["client_id"], "CLIENT_SECRET": credentials["client_secret"]}


def test_the_json_examples_are_json():
    for block in blocks():
        if block.lang == "json":
            json.loads(block.code)


def test_the_curl_walkthrough(live_server: LiveServer, doc_env: dict[str, str], factory: Factory):
    athlete = factory.athlete()
    env = {**doc_env, "TRAINERDAY": live_server.base_url, **register(doc_env)}
    steps = [b for b in blocks() if b.lang == "sh" and b.marker is None]
    before = "\n".join(b.code for b in steps if not b.after_browser)
    after = "\n".join(b.code for b in steps if b.after_browser)

    # Up to the browser; then hand every variable the steps set on to the steps after it.
    names = sorted(set(re.findall(r"^([A-Z_]+)=", before, re.M)))
    declared = shell(f"{before}\ndeclare -p {' '.join(names)}", env)
    variables = "\n".join(line for line in declared.splitlines() if line.startswith("declare "))
    authorize_url = re.search(r'AUTHORIZE_URL="([^"]+)"', variables)[1]

    callback = approve_in_browser(live_server.base_url, authorize_url, athlete.email)
    query = parse_qs(urlsplit(callback).query)
    state = re.search(r'STATE="([^"]+)"', variables)[1]
    assert query["state"] == [state]

    output = shell(f"{variables}\nCODE={query['code'][0]}\n{after}", env)
    tokens, profile, calendar, revoked, introspected = json_values(output)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 21600
    assert tokens["scope"] == "athlete:read calendar:read"
    assert profile["email"] == athlete.email
    assert calendar == {"data": []}  # called with the refreshed token
    assert revoked == 200  # the status code the revocation example prints
    assert introspected == {"active": False}


def json_values(output: str) -> list[object]:
    """Every JSON value printed, in order (curl prints no newline after a body)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while output[at:].strip():
        at += len(output[at:]) - len(output[at:].lstrip())  # skip whitespace between values
        value, at = decoder.raw_decode(output, at)
        values.append(value)
    return values


def test_the_python_example(
    live_server: LiveServer, doc_env: dict[str, str], factory: Factory, monkeypatch: pytest.MonkeyPatch
):
    athlete = factory.athlete()
    monkeypatch.setenv("TRAINERDAY", live_server.base_url)
    for name, value in register(doc_env).items():
        monkeypatch.setenv(name, value)
    [example] = [b for b in blocks() if b.lang == "python"]
    app: dict[str, object] = {}
    exec(compile(example.code, str(DOC), "exec"), app)  # noqa: S102 - our own documentation

    url, state, code_verifier = app["connect"]()
    callback_url = approve_in_browser(live_server.base_url, url, athlete.email)
    token = app["callback"](callback_url, state, code_verifier)
    saved: list[dict] = []

    def save_token(new: dict, refresh_token: str | None = None, access_token: str | None = None) -> None:
        saved.append(new)

    assert app["profile"](token, save_token)["email"] == athlete.email
    assert saved == []
    token["expires_at"] = int(time.time()) - 1  # as if six hours had passed: Authlib refreshes first
    assert app["profile"](token, save_token)["email"] == athlete.email
    [renewed] = saved
    assert renewed["refresh_token"] != token["refresh_token"]

    app["disconnect"](renewed)
    with pytest.raises(requests.HTTPError) as refused:
        app["profile"](renewed, save_token)
    assert refused.value.response.status_code == 401
