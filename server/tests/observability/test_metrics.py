"""``/metrics``: Prometheus text with request counts and latency by route template and status, uploads,
rate-limit refusals and the database pool; optionally behind a token."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.conftest import Caller, Database
from trainerday_server.app import create_app
from trainerday_server.config import Settings


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in the exposition text (0 when absent), found without our own parser."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.rsplit(" ", 1)[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


COUNT = "trainerday_http_request_duration_seconds_count"


def test_requests_are_counted_by_route_template_and_status(client: TestClient, me: Caller) -> None:
    route = "/api/v1/activities/{activity_id}"
    before = client.get("/metrics").text
    for activity_id in (1, 2, 3):
        assert client.get(f"/api/v1/activities/{activity_id}", headers=me.headers).status_code == 404
    client.get("/api/v1/calendar?startDate=2026-01-01&endDate=2026-01-02", headers=me.headers)
    after = client.get("/metrics")
    assert after.status_code == 200
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    assert (
        sample(text, COUNT, method="GET", route=route, status="404")
        - sample(before, COUNT, method="GET", route=route, status="404")
        == 3
    )
    assert (
        sample(text, COUNT, method="GET", route="/api/v1/calendar", status="200")
        - sample(before, COUNT, method="GET", route="/api/v1/calendar", status="200")
        == 1
    )
    assert "/api/v1/activities/1" not in text  # templates only: no unbounded label values
    assert "trainerday_db_pool_connections_in_use" in text
    assert "trainerday_rate_limited_total" in text or "# HELP trainerday_rate_limited_total" in text


def test_unmatched_paths_share_one_label(client: TestClient) -> None:
    before = client.get("/metrics").text
    client.get("/no/such/thing-1")
    client.get("/no/such/thing-2")
    text = client.get("/metrics").text
    delta = sample(text, COUNT, method="GET", route="unmatched", status="404") - sample(
        before, COUNT, method="GET", route="unmatched", status="404"
    )
    assert delta == 2
    assert "thing-1" not in text


def test_metrics_token(settings: Settings, db: Database) -> None:
    app = create_app(settings.model_copy(update={"metrics_token": "scrape-me-please"}), engine=db.engine)
    with TestClient(app) as client:
        refused = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
    assert refused.status_code == 401 and wrong.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert allowed.status_code == 200 and COUNT in allowed.text
