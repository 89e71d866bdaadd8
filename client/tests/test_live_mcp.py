"""``trainerday mcp`` as an assistant runs it: the installed command started by the official MCP SDK's stdio
client, bridging to the real server's /mcp with the athlete's key. The tools are the server's own (listed and
called through the bridge), writes land where the REST API sees them, and a wrong key fails before anything
is served."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

TRAINERDAY = Path(sys.executable).parent / "trainerday"
SEGMENTS = [[10, 50, 50], [20, 90, 90], [10, 50, 50]]


def stdio(base_url: str, api_key: str, home: Path) -> StdioServerParameters:
    env = {"TRAINERDAY_API_KEY": api_key, "XDG_CONFIG_HOME": str(home / "config")}
    return StdioServerParameters(command=str(TRAINERDAY), args=["mcp", "--base-url", base_url], env=env)


def test_the_bridge_serves_the_servers_own_tools_over_stdio(live_server, account, tmp_path: Path):
    remote_tools = httpx.post(
        live_server.base_url + "/mcp",
        headers={"Authorization": f"Bearer {account.api_key}", "Accept": "application/json"},
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
    ).json()["result"]["tools"]

    async def scenario() -> dict[str, Any]:
        async with Client(stdio(live_server.base_url, account.api_key, tmp_path), mode="legacy") as client:
            assert client.server_info is not None and client.server_info.name == "trainerday"
            assert client.instructions and "get_profile" in client.instructions
            tools = (await client.list_tools()).tools
            assert [t.name for t in tools] == [t["name"] for t in remote_tools]  # no copy: the server's
            by_name = {t.name: t for t in tools}
            assert by_name["plan_workout"].input_schema == next(
                t["inputSchema"] for t in remote_tools if t["name"] == "plan_workout"
            )
            profile = await client.call_tool("get_profile", {})
            assert not profile.is_error and profile.structured_content["ftp"] == 250  # type: ignore[index]
            planned = await client.call_tool(
                "plan_workout", {"date": "2026-12-08", "title": "Sweet spot", "segments": SEGMENTS}
            )
            assert not planned.is_error, planned.content
            refused = await client.call_tool(
                "get_calendar", {"startDate": "2026-01-01", "endDate": "2027-12-31"}
            )
            assert refused.is_error and "366" in refused.content[0].text  # type: ignore[union-attr]
            bad = await client.call_tool("get_calendar", {"startDate": 5})
            assert bad.is_error and "startDate" in bad.content[0].text  # type: ignore[union-attr]
            [resource] = (await client.list_resources()).resources
            text = (await client.read_resource(str(resource.uri))).contents[0]
            assert "% of the athlete's FTP" in text.text  # type: ignore[union-attr]
            with pytest.raises(MCPError) as missing:  # a JSON-RPC error of the server's comes through as one
                await client.read_resource("trainerday://docs/no-such-thing")
            assert "no-such-thing" in str(missing.value)
            prompts = [p.name for p in (await client.list_prompts()).prompts]
            assert "plan_week" in prompts
            week = await client.get_prompt("plan_week", {"startDate": "2026-12-07"})
            assert "2026-12-07" in week.messages[0].content.text  # type: ignore[union-attr]
            assert planned.structured_content is not None
            return planned.structured_content

    planned = asyncio.run(scenario())
    event = planned["event"]
    shown = httpx.get(
        f"{live_server.base_url}/api/v1/calendar/events/{event['id']}",
        headers={"Authorization": f"Bearer {account.api_key}"},
    )
    assert shown.status_code == 200 and shown.json()["embedWorkout"]["segments"] == SEGMENTS


def test_the_2026_protocol_works_through_the_bridge_too(live_server, account, tmp_path: Path):
    async def scenario() -> None:
        async with Client(stdio(live_server.base_url, account.api_key, tmp_path)) as client:
            assert client.protocol_version == "2026-07-28"
            calendar = await client.call_tool(
                "get_calendar", {"startDate": "2026-12-01", "endDate": "2026-12-31"}
            )
            assert not calendar.is_error and calendar.structured_content is not None

    asyncio.run(scenario())


def test_a_wrong_key_fails_at_once_with_a_message_and_nothing_on_stdout(live_server, tmp_path: Path):
    done = subprocess.run(
        [str(TRAINERDAY), "mcp", "--base-url", live_server.base_url],
        env={
            "TRAINERDAY_API_KEY": "td_0_wrongwrongwrongwrongwrongwrongwrong0000",
            "PATH": "/usr/bin:/bin",
            "XDG_CONFIG_HOME": str(tmp_path),
        },
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: cannot serve MCP from") and "401" in done.stderr, done.stderr


def test_without_a_key_it_says_how_to_log_in(tmp_path: Path):
    done = subprocess.run(
        [str(TRAINERDAY), "mcp"],
        env={"PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and "trainerday login" in done.stderr and done.stdout == ""
