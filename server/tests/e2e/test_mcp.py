"""The MCP endpoint driven by the official ``mcp`` SDK's own client against a real server process over HTTP:
the handshake, every tool (each write checked through the REST API), scopes, the 401 that starts discovery,
and the whole OAuth flow an MCP client goes through (registration, PKCE, consent, a token for /mcp)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from mcp.shared.exceptions import MCPError

from tests.conftest import Database, Factory, LiveServer, bearer, free_port, run_async, server_env, serving
from tests.oauth2.flow import csrf_of, log_in, pkce_pair, register_app

TOOLS = {
    "get_profile",
    "get_calendar",
    "get_event",
    "plan_workout",
    "add_note",
    "move_event",
    "delete_event",
    "find_workouts",
    "list_activities",
    "get_activity",
    "get_fitness",
    "get_season_power_curve",
}
SWEET_SPOT = [[10, 50, 50], [20, 90, 90], [10, 50, 50]]


@pytest.fixture(scope="module")
def mcp_server(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``trainerday-server serve`` with MCP clients allowed to register themselves."""
    base_url = f"http://127.0.0.1:{free_port()}"
    env = {
        **server_env(database.url, tmp_path_factory.mktemp("mcp-data"), base_url),
        "TRAINERDAY_MCP_CLIENTS": "open",
    }
    with serving(env, base_url, tmp_path_factory.mktemp("mcp-log") / "server.log") as server:
        yield server


@asynccontextmanager
async def connect(base_url: str, token: str | None, mode: str = "legacy") -> AsyncIterator[Client]:
    headers = bearer(token) if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        transport = streamable_http_client(base_url + "/mcp", http_client=http)
        async with Client(transport, mode=mode) as client:  # type: ignore[arg-type]
            yield client


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """A tool's structured content; fails the test on a tool error, showing its text."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.content and result.content[0].type == "text" and result.content[0].text
    assert result.structured_content is not None
    return result.structured_content


def rest(base_url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers=bearer(key), timeout=30)


# --- the handshake ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_the_sdk_client_connects_and_lists_the_tools_with_typed_outputs(
    mcp_server: LiveServer, factory: Factory, mode: str
):
    athlete = factory.athlete()
    key = factory.key(athlete.id)

    async def scenario() -> None:
        async with connect(mcp_server.base_url, key, mode) as client:
            # legacy: the initialize handshake (2025-11-25); auto: the stateless 2026 envelope
            assert client.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
            listed = (await client.list_tools()).tools
            assert {t.name for t in listed} == TOOLS
            for tool in listed:
                assert tool.output_schema and tool.output_schema["type"] == "object", tool.name
                assert "Needs " in (tool.description or ""), tool.name  # every tool names its scope
            plan = next(t for t in listed if t.name == "plan_workout")
            segments_help = plan.input_schema["properties"]["segments"]["description"]
            assert "% FTP" in segments_help and "minutes" in segments_help
            resources = (await client.list_resources()).resources
            assert [str(r.uri) for r in resources] == ["trainerday://docs/workout-format"]
            text = (await client.read_resource("trainerday://docs/workout-format")).contents[0]
            assert "% of the athlete's FTP" in text.text  # type: ignore[union-attr]

    run_async(scenario())


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_the_prompts_teach_the_steps_and_the_workout_format(
    mcp_server: LiveServer, factory: Factory, mode: str
):
    key = factory.key(factory.athlete().id)

    async def scenario() -> None:
        async with connect(mcp_server.base_url, key, mode) as client:
            prompts = {p.name: p for p in (await client.list_prompts()).prompts}
            assert set(prompts) == {"plan_week", "review_last_ride"}
            assert {a.name for a in prompts["plan_week"].arguments or []} == {
                "goal",
                "hoursAvailable",
                "startDate",
            }
            assert not any(a.required for a in prompts["plan_week"].arguments or [])
            week = await client.get_prompt(
                "plan_week", {"goal": "a 40 km time trial", "hoursAvailable": "6", "startDate": "2026-12-07"}
            )
            text = week.messages[0].content.text  # type: ignore[union-attr]
            assert week.messages[0].role == "user"
            assert "2026-12-07" in text and "a 40 km time trial" in text and "about 6 hours" in text
            assert "get_profile" in text and "plan_workout" in text and "idempotencyKey" in text
            assert "% of the athlete's FTP" in text  # the workout format, whole
            default = (await client.get_prompt("plan_week", {})).messages[0].content.text  # type: ignore[union-attr]
            assert "the coming Monday" in default
            review = await client.get_prompt("review_last_ride", {})
            assert "list_activities" in review.messages[0].content.text  # type: ignore[union-attr]
            with pytest.raises(MCPError) as refused:
                await client.get_prompt("plan_week", {"startDate": "next week"})
            assert "startDate" in str(refused.value)

    run_async(scenario())


# --- every tool, checked against the REST API --------------------------------------------------------------


def test_each_tool_reads_and_writes_what_the_rest_api_shows(
    mcp_server: LiveServer, factory: Factory, samples: Path
):
    base = mcp_server.base_url
    athlete = factory.athlete(ftp=250)
    key = factory.key(athlete.id)
    api = rest(base, key)
    library = api.post("/api/v1/workouts", json={"title": "Over-unders", "segments": [[30, 95, 95]]})
    assert library.status_code == 201
    upload = api.post(
        "/api/v1/activities/upload",
        files={"file": ("ride.fit", (samples / "fit" / "2020-06-01-16-52-40.fit").read_bytes())},
    )
    assert upload.status_code == 201, upload.text
    ride = upload.json()

    async def scenario() -> None:
        async with connect(base, key) as client:
            profile = await call(client, "get_profile")
            assert profile["ftp"] == 250
            assert profile["powerZones"] == api.get("/api/v1/athlete").json()["powerZones"]

            planned = await call(
                client, "plan_workout", date="2026-12-08", title="Sweet spot", segments=SWEET_SPOT
            )
            event = planned["event"]
            assert planned["replayed"] is False and event["embedWorkout"]["segments"] == SWEET_SPOT
            # work: 10 min at 125 W, 20 at 225 W, 10 at 125 W
            assert event["metrics"]["workKj"] == pytest.approx(
                (600 * 125 + 1200 * 225 + 600 * 125) / 1000, abs=0.5
            )
            assert event["metrics"]["durationSeconds"] == 2400

            again = await call(
                client, "plan_workout", date="2026-12-08", title="Sweet spot", segments=SWEET_SPOT
            )
            assert again["replayed"] is True and again["event"]["id"] == event["id"]

            from_library = await call(
                client, "plan_workout", date="2026-12-09", workoutId=library.json()["id"]
            )
            note = await call(client, "add_note", date="2026-12-10", title="Rest day", notes="Legs up")
            moved = await call(client, "move_event", eventId=note["event"]["id"], date="2026-12-11")
            assert moved["calendarDate"] == "2026-12-11" and moved["notes"] == "Legs up"

            calendar = await call(client, "get_calendar", startDate="2026-12-01", endDate="2026-12-31")
            month = {"startDate": "2026-12-01", "endDate": "2026-12-31"}
            full = {e["id"]: e for e in api.get("/api/v1/calendar", params=month).json()["data"]}
            assert [e["id"] for e in calendar["data"]] == list(full)
            for entry in calendar["data"]:  # one line per event: the REST event, summarised
                event_rest = full[entry["id"]]
                for name in ("calendarDate", "type", "title", "notes", "workoutId"):
                    assert entry[name] == event_rest[name]
                if event_rest["metrics"] is None:
                    assert entry["planned"] is None
                else:
                    assert entry["planned"]["tss"] == event_rest["metrics"]["tss"]
                    assert entry["planned"]["durationSeconds"] == event_rest["metrics"]["durationSeconds"]
            seen = {e["id"]: e for e in calendar["data"]}
            assert seen[event["id"]]["calendarDate"] == "2026-12-08"
            assert seen[from_library["event"]["id"]]["workoutId"] == library.json()["id"]
            assert seen[note["event"]["id"]]["calendarDate"] == "2026-12-11"
            one = await call(client, "get_event", eventId=event["id"])
            assert one == api.get(f"/api/v1/calendar/events/{event['id']}").json()
            assert len(calendar["data"]) == 3  # the retried plan did not duplicate

            deleted = await call(client, "delete_event", eventId=event["id"])
            assert deleted == {"deletedEventId": event["id"]}
            assert api.get(f"/api/v1/calendar/events/{event['id']}").status_code == 404

            found = await call(client, "find_workouts", workoutName="over")
            assert [w["id"] for w in found["data"]] == [library.json()["id"]] and found["total"] == 1

            rides = await call(client, "list_activities")
            assert [a["id"] for a in rides["data"]] == [ride["id"]]
            detail = await call(client, "get_activity", activityId=ride["id"])
            assert detail == api.get(f"/api/v1/activities/{ride['id']}").json()
            assert "streams" not in detail and "power" not in detail

            day = ride["startTimeLocal"][:10]
            span = {"startDate": day, "endDate": day}
            fitness = await call(client, "get_fitness", **span)
            assert fitness == api.get("/api/v1/athlete/fitness", params=span).json()
            assert fitness["days"][0]["tss"] == pytest.approx(ride["tss"], abs=0.05)
            curve = await call(client, "get_season_power_curve", **span)
            assert curve == api.get("/api/v1/athlete/power-curve", params=span).json()
            assert curve["points"] and curve["points"][0]["activityId"] == ride["id"]

    run_async(scenario())


def test_a_tool_error_names_the_argument_and_writes_nothing(mcp_server: LiveServer, factory: Factory):
    athlete = factory.athlete()
    key = factory.key(athlete.id)

    async def scenario() -> None:
        async with connect(mcp_server.base_url, key) as client:
            bad = await client.call_tool(
                "plan_workout", {"date": "2026-12-08", "title": "x", "segments": [[10, 50]]}
            )
            assert bad.is_error and "segments[0]" in bad.content[0].text  # type: ignore[union-attr]
            missing = await client.call_tool("delete_event", {"eventId": 999999})
            assert missing.is_error and "no calendar event with id 999999" in missing.content[0].text  # type: ignore[union-attr]
            wide = await client.call_tool(
                "get_calendar", {"startDate": "2026-01-01", "endDate": "2027-12-31"}
            )
            assert wide.is_error and "366" in wide.content[0].text  # type: ignore[union-attr]

    run_async(scenario())
    calendar = rest(mcp_server.base_url, key).get(
        "/api/v1/calendar", params={"startDate": "2026-12-01", "endDate": "2026-12-31"}
    )
    assert calendar.json() == {"data": []}


def test_a_read_only_token_cannot_write(mcp_server: LiveServer, factory: Factory):
    athlete = factory.athlete()
    read_only = factory.key(athlete.id, "calendar:read athlete:read")
    planner = factory.key(athlete.id, "calendar:read calendar:write")

    async def scenario() -> None:
        async with connect(mcp_server.base_url, read_only) as client:
            assert (await call(client, "get_calendar", startDate="2026-12-01", endDate="2026-12-31"))[
                "data"
            ] == []
            refused = await client.call_tool(
                "plan_workout", {"date": "2026-12-08", "title": "x", "segments": SWEET_SPOT}
            )
            assert refused.is_error and "calendar:write" in refused.content[0].text  # type: ignore[union-attr]
            refused = await client.call_tool("list_activities", {})
            assert refused.is_error and "activities:read" in refused.content[0].text  # type: ignore[union-attr]
        async with connect(mcp_server.base_url, planner) as client:
            # planning a library workout reads the library: it needs workout:read as well
            refused = await client.call_tool("plan_workout", {"date": "2026-12-08", "workoutId": 1})
            assert refused.is_error and "workout:read" in refused.content[0].text  # type: ignore[union-attr]

    run_async(scenario())
    calendar = rest(mcp_server.base_url, read_only).get(
        "/api/v1/calendar", params={"startDate": "2026-12-01", "endDate": "2026-12-31"}
    )
    assert calendar.json() == {"data": []}


# --- authorization ---------------------------------------------------------------------------------------


def test_no_token_is_a_401_naming_the_resource_metadata(mcp_server: LiveServer):
    base = mcp_server.base_url
    response = httpx.post(base + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    metadata_url = f"{base}/.well-known/oauth-protected-resource/mcp"
    assert challenge.startswith("Bearer ") and f'resource_metadata="{metadata_url}"' in challenge
    metadata = httpx.get(metadata_url).json()
    assert metadata["resource"] == base + "/mcp" and metadata["authorization_servers"] == [base]
    server = httpx.get(base + "/.well-known/oauth-authorization-server").json()
    assert server["issuer"] == base and server["registration_endpoint"] == base + "/oauth/register"

    async def scenario() -> None:
        async with connect(base, None):
            pass

    with pytest.raises(BaseException) as refused:  # without an auth handler, the SDK client gives up
        run_async(scenario())
    assert "Server returned an error response" in repr(refused.value)


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Athlete:
    """The athlete's browser: opens the authorization URL the assistant shows, logs in, reads the consent
    page and allows; the assistant's loopback listener then receives the redirect."""

    def __init__(self, base_url: str, email: str) -> None:
        self.base_url = base_url
        self.email = email
        self.consent_page = ""
        self.callback = ""

    async def open(self, authorization_url: str) -> None:
        """The SDK's redirect handler: the browser works in a thread, as a separate program would."""
        await anyio.to_thread.run_sync(self.approve, authorization_url)

    def approve(self, authorization_url: str) -> None:
        with httpx.Client(base_url=self.base_url, follow_redirects=False) as browser:
            to_login = browser.get(authorization_url)
            assert to_login.status_code == 303, to_login.text
            next_url = parse_qs(urlsplit(to_login.headers["location"]).query)["next"][0]
            assert log_in(browser, self.email, next_url=next_url).status_code == 303
            consent = browser.get(next_url)
            assert consent.status_code == 200
            self.consent_page = consent.text
            decided = browser.post(next_url, data={"csrf_token": csrf_of(consent.text), "decision": "allow"})
            assert decided.status_code == 303
            self.callback = decided.headers["location"]

    async def redirected(self) -> AuthorizationCodeResult:
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.callback).query).items()}
        return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))


def test_an_mcp_client_registers_gets_consent_and_a_token_for_mcp_only(
    mcp_server: LiveServer, factory: Factory
):
    base = mcp_server.base_url
    athlete = factory.athlete(ftp=300)
    browser = Athlete(base, athlete.email)
    storage = MemoryStorage()
    auth = OAuthClientProvider(
        server_url=base + "/mcp",
        client_metadata=OAuthClientMetadata(
            client_name="Claude (test)",
            redirect_uris=["http://127.0.0.1:33418/callback"],  # type: ignore[list-item]
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=browser.open,
        callback_handler=browser.redirected,
    )

    async def scenario() -> None:
        async with (
            httpx2.AsyncClient(auth=auth, timeout=30) as http,
            Client(streamable_http_client(base + "/mcp", http_client=http), mode="legacy") as client,
        ):  # type: ignore[arg-type]
            profile = await call(client, "get_profile")
            assert profile["ftp"] == 300 and profile["email"] == athlete.email

    run_async(scenario())
    assert storage.client is not None and storage.client.token_endpoint_auth_method == "none"
    assert "Claude (test)" in browser.consent_page and "registered itself" in browser.consent_page
    assert "iss=" in browser.callback and "code=" in browser.callback
    assert storage.tokens is not None
    token = storage.tokens.access_token

    # The token is bound to /mcp (RFC 8707): the REST API refuses it.
    refused = httpx.get(base + "/api/v1/athlete", headers=bearer(token))
    assert refused.status_code == 401 and "another resource" in refused.json()["detail"]

    # The athlete sees the assistant among their connected apps, and can disconnect it.
    key = factory.key(athlete.id)
    api = rest(base, key)
    connections = api.get("/api/v1/athlete/connections").json()["data"]
    assert [c["name"] for c in connections] == ["Claude (test)"]
    assert api.delete(f"/api/v1/athlete/connections/{storage.client.client_id}").status_code == 204
    after = httpx.post(
        base + "/mcp", headers=bearer(token), json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    )
    assert after.status_code == 401 and 'error="invalid_token"' in after.headers["www-authenticate"]


def test_a_token_for_the_rest_api_is_refused_at_mcp(mcp_server: LiveServer, factory: Factory, db: Database):
    base = mcp_server.base_url
    athlete = factory.athlete()
    app = register_app(db.engine, public=True, redirect_uris=("http://127.0.0.1:33418/callback",))
    browser = Athlete(base, athlete.email)
    verifier, challenge = pkce_pair()
    params = {
        "client_id": app.client_id,
        "response_type": "code",
        "redirect_uri": app.redirect_uri,
        "scope": "athlete:read",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    browser.approve(base + "/oauth/authorize?" + str(httpx.QueryParams(params)))
    code = parse_qs(urlsplit(browser.callback).query)["code"][0]
    tokens = httpx.post(
        base + "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": app.redirect_uri,
            "code_verifier": verifier,
            "client_id": app.client_id,
        },
    ).json()
    token = tokens["access_token"]
    assert httpx.get(base + "/api/v1/athlete", headers=bearer(token)).status_code == 200
    at_mcp = httpx.post(
        base + "/mcp", headers=bearer(token), json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    )
    assert at_mcp.status_code == 401
    assert "resource=" + base + "/mcp" in at_mcp.json()["error_description"]
    assert "resource_metadata=" in at_mcp.headers["www-authenticate"]


def test_concurrent_retries_of_one_plan_plan_it_once(mcp_server: LiveServer, factory: Factory):
    athlete = factory.athlete()
    key = factory.key(athlete.id)
    arguments = {"date": "2026-12-08", "title": "Threshold", "segments": [[10, 50, 50], [20, 100, 100]]}

    async def scenario() -> list[dict[str, Any]]:
        async with connect(mcp_server.base_url, key) as client:
            return await asyncio.gather(*(call(client, "plan_workout", **arguments) for _ in range(8)))

    answers = run_async(scenario())
    assert len({a["event"]["id"] for a in answers}) == 1
    assert sorted(a["replayed"] for a in answers) == [False] + [True] * 7
    calendar = rest(mcp_server.base_url, key).get(
        "/api/v1/calendar", params={"startDate": "2026-12-01", "endDate": "2026-12-31"}
    )
    assert len(calendar.json()["data"]) == 1


# --- several processes -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def second_mcp_server(
    mcp_server: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Another ``serve`` process on the same database, as a load balancer's second backend."""
    base_url = f"http://127.0.0.1:{free_port()}"
    env = {**mcp_server.env, "TRAINERDAY_BASE_URL": base_url}
    with serving(env, base_url, tmp_path_factory.mktemp("mcp-log-2") / "server.log") as server:
        yield server


def test_any_process_answers_and_none_serves_a_stale_calendar(
    mcp_server: LiveServer, second_mcp_server: LiveServer, factory: Factory
):
    key = factory.key(factory.athlete().id)
    month = {"startDate": "2026-12-01", "endDate": "2026-12-31"}

    async def scenario() -> None:
        async with (
            connect(mcp_server.base_url, key, "auto") as first,
            connect(second_mcp_server.base_url, key, "legacy") as second,
        ):
            for client in (first, second, first, second):  # each process keeps its answer...
                assert (await call(client, "get_calendar", **month))["data"] == []
            planned = await call(first, "plan_workout", date="2026-12-08", title="Tempo", segments=SWEET_SPOT)
            # ...and the other process sees the write at once: the athlete's data revision changed
            [seen] = (await call(second, "get_calendar", **month))["data"]
            assert seen["id"] == planned["event"]["id"]
            assert await call(second, "delete_event", eventId=seen["id"]) == {"deletedEventId": seen["id"]}
            assert (await call(first, "get_calendar", **month))["data"] == []

    run_async(scenario())
