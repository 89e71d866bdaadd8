"""The access log: one JSON line per request, with its request id, route template, status, duration and
caller, and never a credential. Lines are read from the process's real standard error (file descriptor 2)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import Caller

SECRET = "td_ThisIsASecretTokenValue0123456789abcdef"


def _lines(capfd: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    err = capfd.readouterr().err
    return [json.loads(line) for line in err.splitlines() if line.startswith('{"time"')]


def _only_line(capfd: pytest.CaptureFixture[str]) -> dict[str, Any]:
    lines = _lines(capfd)
    assert len(lines) == 1, lines
    return lines[0]


def test_one_line_per_request_with_route_status_caller_and_id(
    client: TestClient, me: Caller, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    response = client.get("/api/v1/calendar?startDate=2026-01-01&endDate=2026-01-31", headers=me.headers)
    assert response.status_code == 200
    line = _only_line(capfd)
    assert line["event"] == "request"
    assert line["method"] == "GET"
    assert line["route"] == "/api/v1/calendar"
    assert line["status"] == 200
    assert line["athleteId"] == me.athlete.id
    assert line["credential"].startswith("api_key:")
    assert isinstance(line["durationMs"], float | int) and line["durationMs"] >= 0
    assert line["requestId"] == response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", line["requestId"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    assert line["query"] == "startDate=2026-01-01&endDate=2026-01-31"
    assert line["bytes"] == len(response.content)


def test_route_template_not_the_path(
    client: TestClient, me: Caller, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    assert client.get("/api/v1/activities/987654", headers=me.headers).status_code == 404
    line = _only_line(capfd)
    assert line["route"] == "/api/v1/activities/{activity_id}"
    assert "987654" not in json.dumps(line)


def test_request_id_from_the_proxy_is_kept(client: TestClient, capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    response = client.get("/healthz", headers={"X-Request-Id": "edge-42.abc"})
    assert response.headers["x-request-id"] == "edge-42.abc"
    assert _only_line(capfd)["requestId"] == "edge-42.abc"


@pytest.mark.parametrize("sent", ["has space", "x" * 129, 'quote"d', "semi;colon", "\xfcn\xefcode"])
def test_a_request_id_that_could_forge_a_log_line_is_replaced(
    client: TestClient, capfd: pytest.CaptureFixture[str], sent: str
) -> None:
    capfd.readouterr()
    response = client.get("/healthz", headers={"X-Request-Id": sent.encode("latin-1")})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert _only_line(capfd)["requestId"] == response.headers["x-request-id"]


def test_every_request_gets_a_different_id(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(20)}
    assert len(ids) == 20


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", f"/api/v1/athlete?access_token={SECRET}"),
        ("GET", f"/api/v1/calendar?startDate=2026-01-01&endDate=2026-01-02&access_token={SECRET}"),
        ("POST", f"/oauth/token?client_secret={SECRET}&grant_type=client_credentials"),
        ("POST", f"/oauth/token?code={SECRET}&refresh_token={SECRET}"),
        ("POST", f"/login?password={SECRET}"),
        ("GET", f"/no/such/page/{SECRET}"),
        ("GET", f"/no/such/page?whatever={SECRET}"),
    ],
)
def test_secrets_in_the_url_never_reach_the_log(
    client: TestClient, capfd: pytest.CaptureFixture[str], method: str, url: str
) -> None:
    capfd.readouterr()
    client.request(method, url)
    err = capfd.readouterr().err
    assert '"event":"request"' in err
    assert SECRET not in err
    assert SECRET[3:20] not in err  # nor a part of it
    assert "[REDACTED]" in err


def test_a_refused_token_in_the_header_is_not_logged(
    client: TestClient, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    assert client.get("/api/v1/athlete", headers={"Authorization": f"Bearer {SECRET}"}).status_code == 401
    err = capfd.readouterr().err
    assert '"status":401' in err
    assert SECRET[3:20] not in err


def test_the_access_log_can_be_turned_off(settings: Any, db: Any, capfd: pytest.CaptureFixture[str]) -> None:
    from trainerday_server.app import create_app

    app = create_app(settings.model_copy(update={"access_log": False}), engine=db.engine)
    with TestClient(app) as quiet:
        capfd.readouterr()
        response = quiet.get("/healthz")
    assert response.headers["x-request-id"]  # the id is still given
    assert _lines(capfd) == []


def test_an_mcp_request_is_logged_with_its_route_and_caller_never_its_token(
    client: TestClient, me: Caller, capfd: pytest.CaptureFixture[str]
) -> None:
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    capfd.readouterr()
    assert client.post("/mcp", json=body, headers={**headers, **me.headers}).status_code == 200
    line = _only_line(capfd)
    assert line["route"] == "/mcp" and line["status"] == 200
    assert line["athleteId"] == me.athlete.id and line["credential"].startswith("api_key:")
    assert me.key not in json.dumps(line)
    refused = client.post("/mcp", json=body, headers={**headers, "Authorization": f"Bearer {SECRET}"})
    assert refused.status_code == 401
    line = _only_line(capfd)
    assert line["route"] == "/mcp" and "athleteId" not in line and SECRET not in json.dumps(line)


def test_an_unexpected_error_is_answered_with_its_request_id_and_logged_with_its_size(
    app: Any, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The 500 is where the id matters most: it finds the traceback in the log."""

    async def broken() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/api/v1/broken-for-test", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        capfd.readouterr()
        answer = client.get("/api/v1/broken-for-test", headers={"X-Request-Id": "find-me-1"})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith("/internal-error")
    assert answer.headers["x-request-id"] == "find-me-1"
    assert answer.headers["x-content-type-options"] == "nosniff"
    captured = capfd.readouterr().err
    line = next(json.loads(x) for x in captured.splitlines() if x.startswith('{"time"'))
    assert (line["status"], line["requestId"], line["bytes"]) == (500, "find-me-1", len(answer.content))
    tracebacks = [r for r in caplog.records if r.exc_info and str(r.exc_info[1]) == "boom"]
    assert len(tracebacks) == 1  # logged once, not by each layer
