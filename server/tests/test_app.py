"""Cross-cutting HTTP behaviour: problem+json for routing errors, body limits, OpenAPI and the explorer."""

from __future__ import annotations

from tests.conftest import Caller

PROBLEM = "application/problem+json"


def test_unknown_route_is_a_404_problem(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/not-found")


def test_wrong_method_is_a_405_problem(client, me: Caller):
    response = client.post("/api/v1/athlete", headers=me.headers, json={})
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert "allow" in response.headers


def test_oversized_json_body_is_413_before_it_is_read(client, me: Caller):
    body = b'{"calendarDate":"2026-01-01","notes":"' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = client.post(
        "/api/v1/calendar/events", headers={**me.headers, "Content-Type": "application/json"}, content=body
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["limit"] == 1024 * 1024


def test_oversized_chunked_body_is_413(client, me: Caller):
    def chunks():
        yield b'{"calendarDate":"2026-01-01","notes":"'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    response = client.post(
        "/api/v1/calendar/events",
        headers={**me.headers, "Content-Type": "application/json"},
        content=chunks(),
    )
    assert response.status_code == 413


def test_openapi_documents_every_route_with_its_scope(client):
    schema = client.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["oauth2"]["type"] == "oauth2"
    assert set(schemes["oauth2"]["flows"]["authorizationCode"]["scopes"]) == {
        "athlete:read", "athlete:write", "workout:read", "workout:write",
        "calendar:read", "calendar:write", "activities:read", "activities:write",
    }  # fmt: skip
    assert schemes["personalApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API key, td_..., with the scopes chosen when it was created.",
    }
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1")
        for method, op in item.items()
    ]
    assert len(operations) >= 8
    for path, method, op in operations:
        security = op.get("security")
        assert security, f"{method} {path} documents no security"
        if path.startswith("/api/v1/webhooks"):  # an app's own resource: its client credentials, or a key
            assert security == [{"oauthClient": []}, {"personalApiKey": []}], f"{method} {path}"
            continue
        oauth = [s["oauth2"] for s in security if "oauth2" in s]
        assert len(oauth) == 1 and len(oauth[0]) == 1, f"{method} {path}: {security}"
        assert {"personalApiKey": []} in security


def test_openapi_fields_are_camel_case(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert "calendarDate" in schemas["EventIn"]["properties"]
    assert "embedWorkout" in schemas["EventIn"]["properties"]
    assert "weightKg" in schemas["AthleteOut"]["properties"]
    for name, schema in schemas.items():
        for field in schema.get("properties", {}):
            assert "_" not in field, f"{name}.{field} is not camelCase"


def test_calendar_query_parameters_are_documented(client):
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/calendar"]["get"]
    names = {p["name"]: p for p in operation["parameters"]}
    assert names["startDate"]["required"] and names["endDate"]["required"]


def test_interactive_explorer_works_without_the_internet(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert "<title>Explore the API · TrainerDay</title>" in response.text
    assert "/openapi.json" in response.text
    assert "http://" not in response.text.replace("http://127", "") and "https://" not in response.text
    for asset in (
        "/static/swagger-ui/swagger-ui-bundle.js",
        "/static/swagger-ui/swagger-ui.css",
        "/static/favicon.svg",
    ):
        assert asset in response.text
        assert client.get(asset).status_code == 200
    assert client.get("/docs/oauth2-redirect").status_code == 200


def test_openapi_documents_the_errors_the_api_really_gives(client):
    schema = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert set(schema["components"]["schemas"]["Problem"]["required"]) == {
        "type",
        "title",
        "status",
        "detail",
    }
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "422" not in responses, f"{method} {path}"
            if path.startswith("/api/v1"):
                assert {"401", "403"} <= set(responses), f"{method} {path}"
                if "{" in path:
                    assert "404" in responses, f"{method} {path}"
            for status, response in responses.items():
                if status[0] in "45":
                    assert response["content"] == problem, f"{method} {path} {status}"
