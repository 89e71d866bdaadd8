"""``trainerday mcp``: the server's MCP tools over standard input and output, for AI assistants that only run
local MCP servers.

A bridge, not a copy: a stdio MCP server built with the official SDK whose every listing, call and read is
forwarded to one client session with ``<base URL>/mcp``, authenticated with the athlete's API key. The tools,
their descriptions, schemas and answers are the server's own, so they can never drift from it; only what the
remote server offers (its capabilities) is offered here. Standard output carries the protocol and nothing
else; messages go to standard error.
"""

from __future__ import annotations

from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.lowlevel.server import Server
from mcp.server.stdio import stdio_server
from mcp_types import (
    CallToolRequestParams,
    CallToolResult,
    GetPromptRequestParams,
    GetPromptResult,
    Implementation,
    ListPromptsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    PaginatedRequestParams,
    ReadResourceRequestParams,
    ReadResourceResult,
)

from trainerday._version import __version__

# Generous: a tool may read a season of rides; the SDK client's own default would cut it off sooner.
TIMEOUT_SECONDS = 120


class KeyRefused(Exception):
    """The server refused the API key (401) or its Origin (403): raised from the HTTP layer, so the message
    says so instead of the SDK's bare "Server returned an error response"."""


async def _refused(response: httpx2.Response) -> None:
    if response.status_code not in (401, 403):
        return
    await response.aread()
    try:
        detail = str(response.json().get("error_description") or "")
    except (ValueError, AttributeError):
        detail = ""
    raise KeyRefused(
        f"the server refused the key ({response.status_code}{': ' + detail if detail else ''}); "
        "run `trainerday login` with a valid key"
    )


def _cursor(params: PaginatedRequestParams | None) -> str | None:
    return params.cursor if params is not None else None


def bridge(remote: Client) -> Server[Any]:
    """A local MCP server forwarding to ``remote``: the remote server's name, instructions and handlers."""
    capabilities = remote.server_capabilities
    info = remote.server_info
    handlers: dict[str, Any] = {}

    if capabilities.tools is not None:

        async def list_tools(ctx: Any, params: PaginatedRequestParams | None) -> ListToolsResult:
            return await remote.list_tools(cursor=_cursor(params))

        async def call_tool(ctx: Any, params: CallToolRequestParams) -> CallToolResult:
            return await remote.call_tool(params.name, params.arguments or {})

        handlers |= {"on_list_tools": list_tools, "on_call_tool": call_tool}

    if capabilities.resources is not None:

        async def list_resources(ctx: Any, params: PaginatedRequestParams | None) -> ListResourcesResult:
            return await remote.list_resources(cursor=_cursor(params))

        async def list_templates(
            ctx: Any, params: PaginatedRequestParams | None
        ) -> ListResourceTemplatesResult:
            return await remote.list_resource_templates(cursor=_cursor(params))

        async def read_resource(ctx: Any, params: ReadResourceRequestParams) -> ReadResourceResult:
            return await remote.read_resource(str(params.uri))

        handlers |= {
            "on_list_resources": list_resources,
            "on_list_resource_templates": list_templates,
            "on_read_resource": read_resource,
        }

    if capabilities.prompts is not None:

        async def list_prompts(ctx: Any, params: PaginatedRequestParams | None) -> ListPromptsResult:
            return await remote.list_prompts(cursor=_cursor(params))

        async def get_prompt(ctx: Any, params: GetPromptRequestParams) -> GetPromptResult:
            return await remote.get_prompt(params.name, params.arguments)

        handlers |= {"on_list_prompts": list_prompts, "on_get_prompt": get_prompt}

    return Server(
        info.name if info is not None else "trainerday",
        version=info.version if info is not None else __version__,
        title=info.title if info is not None else "TrainerDay",
        instructions=remote.instructions,
        **handlers,
    )


async def serve(api_key: str, base_url: str) -> None:
    """Connect to ``<base_url>/mcp`` with ``api_key``, then serve the bridge on standard input and output
    until the assistant closes it. Failing to connect (a wrong key, an unreachable server) raises before
    anything is served."""
    headers = {"Authorization": f"Bearer {api_key}", "User-Agent": f"trainerday-cli/{__version__} (mcp)"}
    async with (
        httpx2.AsyncClient(
            headers=headers, timeout=TIMEOUT_SECONDS, event_hooks={"response": [_refused]}
        ) as http,
        Client(
            streamable_http_client(f"{base_url}/mcp", http_client=http),
            client_info=Implementation(name="trainerday-cli", version=__version__),
        ) as remote,
    ):
        server = bridge(remote)
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
