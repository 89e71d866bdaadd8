"""/mcp as single exchanges: one POSTed JSON-RPC message in, one JSON answer out, whatever the protocol era.

The SDK's stateless Streamable HTTP transport serves a handshake-era request (2025-11-25 and earlier) by
building a whole session for it: a transport, two pairs of memory streams, a JSON-RPC dispatcher and a task
group, torn down once the one answer has been written (~0.5 ms of CPU per request here, before any handler
runs). A stateless server with JSON answers needs none of it: nothing is ever sent to the client but the
answer. So every request is served here as the SDK serves a 2026-07-28 request: its ``serve_one`` runs the
low-level ``Server``'s registered handlers under its middleware, with its own validation of params and
results, on a born-ready ``Connection``; only the framing around it is ours, and the kept answers of
``server.RevisionCachedCalls``, given before the kernel runs.

What a client sees is what the SDK's transports answer: ``initialize`` negotiates the version as before;
notifications (and responses) are acknowledged with 202; errors are JSON-RPC errors (200 in the handshake
era, as its transport answers them; the 2026-07-28 status table otherwise); a 2026-07-28 request is checked
against its routing headers (``MCP-Protocol-Version``, ``Mcp-Method``, ``Mcp-Name``, ``Mcp-Param-*``) by the
SDK's own classifier. Nothing lives between requests, so any process can answer any request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import anyio
import orjson
from mcp.server.connection import Connection
from mcp.server.lowlevel.server import Server
from mcp.server.runner import modern_error_data, serve_one
from mcp.server.streamable_http import check_accept_headers
from mcp.shared.dispatcher import CallOptions
from mcp.shared.exceptions import NoBackChannelError
from mcp.shared.inbound import (
    ERROR_CODE_HTTP_STATUS,
    MCP_PARAM_HEADER_PREFIX,
    MCP_PROTOCOL_VERSION_HEADER,
    InboundLadderRejection,
    InboundModernRoute,
    classify_inbound_request,
    find_duplicated_routing_header,
    unsupported_protocol_version_rejection,
    validate_mcp_param_headers,
    x_mcp_header_map,
)
from mcp.shared.jsonrpc_dispatcher import handler_exception_to_error_data, progress_token_from_params
from mcp.shared.message import MessageMetadata, ServerMessageMetadata
from mcp.shared.transport_context import TransportContext
from mcp_types import (
    DEFAULT_NEGOTIATED_VERSION,
    HEADER_MISMATCH,
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCNotification,
    JSONRPCRequest,
    ProgressToken,
    RequestId,
)
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

_PARAM_PREFIX = MCP_PARAM_HEADER_PREFIX.lower()
NOT_ONE_MESSAGE = "Body must be one JSON-RPC request or notification"


# (request, protocol version, method, params) -> the JSON of the result already known for it, or None
KeptAnswers = Callable[[Request, str, str, Mapping[str, Any] | None], bytes | None]


@dataclass
class _OneExchange:
    """The SDK's ``DispatchContext`` for a request answered by one JSON body: nothing can be sent to the
    client before the answer, so server-to-client requests are refused and notifications (progress, logs)
    are dropped, as the SDK's transports do in JSON-response mode."""

    transport: TransportContext
    request_id: RequestId
    message_metadata: MessageMetadata
    progress_token: ProgressToken | None = None
    can_send_request: bool = field(default=False, init=False)
    _cancel: anyio.Event | None = field(default=None, init=False)

    @property
    def cancel_requested(self) -> anyio.Event:
        # Made only if something asks: no cancellation can reach a single exchange.
        if self._cancel is None:
            self._cancel = anyio.Event()
        return self._cancel

    async def send_raw_request(
        self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None
    ) -> dict[str, Any]:
        raise NoBackChannelError(method)

    async def notify(
        self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None
    ) -> None:
        return None

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        return None


def _answer(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _known_answer(request_id: RequestId, result: bytes) -> Response:
    """The JSON-RPC answer around a result's JSON, written as it is."""
    body = b'{"jsonrpc":"2.0","id":' + orjson.dumps(request_id) + b',"result":' + result + b"}"
    return Response(body, media_type="application/json")


class _Call(NamedTuple):
    """A JSON-RPC request's parts."""

    id: RequestId
    method: str
    params: dict[str, Any] | None


def _first_values(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The request's headers as ``dict(request.headers)`` has them (names lower-case, the first of repeated
    names), without a linear search per name."""
    headers: dict[str, str] = {}
    for name, value in raw:
        headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return headers


def _plainly_a_request(decoded: dict[str, Any]) -> bool:
    """What ``JSONRPCRequest`` accepts for certain (a stricter test, so a message it passes needs no model):
    version 2.0, an integer or string id, a string method, params an object or absent."""
    request_id = decoded.get("id")
    params = decoded.get("params")
    return (
        decoded.get("jsonrpc") == "2.0"
        and (type(request_id) is int or type(request_id) is str)
        and type(decoded.get("method")) is str
        and (params is None or type(params) is dict)
        and len(decoded) <= 4
    )


def _error(request_id: RequestId | None, error: ErrorData, status: int) -> Response:
    body = {"jsonrpc": "2.0", "id": request_id, "error": error.model_dump(mode="json", exclude_none=True)}
    return _answer(body, status)


def _refusal(request_id: RequestId | None, code: int, message: str, status: int) -> Response:
    return _error(request_id, ErrorData(code=code, message=message), status)


class SingleExchange:
    """ASGI app for POST /mcp: the low-level ``server``'s handlers, one request per exchange.

    ``lifespan_state`` is what the server's lifespan yielded (entered once, by ``McpEndpoint.running``);
    ``kept`` answers a request whose answer is already known (the kept answers of the server's own
    middleware, ``server.RevisionCachedCalls``) before the kernel runs, once its envelope has been checked."""

    def __init__(self, server: Server[Any], lifespan_state: Any, kept: KeptAnswers | None = None) -> None:
        self.server = server
        self.lifespan_state = lifespan_state
        self.kept = kept
        self._declares_headers: dict[str, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self._respond(request)
        except ClientDisconnect:  # gone (or cut off by the body limit, which has answered already)
            return
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        has_json, _ = check_accept_headers(request)
        if not has_json:
            return _refusal(None, INVALID_REQUEST, "Not Acceptable: Client must accept application/json", 406)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return _refusal(
                None, INVALID_REQUEST, "Unsupported Media Type: Content-Type must be application/json", 415
            )
        try:
            decoded = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _refusal(None, PARSE_ERROR, "Parse error", 400)

        version_header = request.headers.get(MCP_PROTOCOL_VERSION_HEADER)
        modern = version_header is not None and version_header not in HANDSHAKE_PROTOCOL_VERSIONS
        if not isinstance(decoded, dict):
            return _refusal(None, INVALID_REQUEST, NOT_ONE_MESSAGE, 400)
        if "method" not in decoded or "id" not in decoded:
            return self._acknowledge(decoded, version_header, modern)
        if _plainly_a_request(decoded):  # certain to pass the model: no need to build it
            call = _Call(decoded["id"], decoded["method"], decoded.get("params"))
        else:
            try:
                message = JSONRPCRequest.model_validate(decoded)
            except ValidationError:
                return _refusal(None, INVALID_REQUEST, NOT_ONE_MESSAGE, 400)
            call = _Call(message.id, message.method, message.params)

        envelope: InboundModernRoute | None = None
        if modern:
            verdict = self._modern_verdict(request, decoded, call)
            if isinstance(verdict, Response):
                return verdict
            envelope = verdict
            version = envelope.protocol_version
        else:
            # The header (or the specification's default when there is none) is the version; initialize
            # negotiates its own answer.
            version = version_header or DEFAULT_NEGOTIATED_VERSION

        if self.kept is not None:  # known already: answered before the connection and kernel are built
            known = self.kept(request, version, call.method, call.params)
            if known is not None:
                return _known_answer(call.id, known)

        # Born ready, as the SDK's stateless transport makes it.
        if envelope is not None:
            connection = Connection.from_envelope(version, envelope.client_info, envelope.client_capabilities)
        else:
            connection = Connection.from_envelope(version, None, None)
        dispatch = _OneExchange(
            transport=TransportContext(
                kind="streamable-http", can_send_request=False, headers=request.headers
            ),
            request_id=call.id,
            message_metadata=ServerMessageMetadata(request_context=request, can_send_request=False),
            progress_token=progress_token_from_params(call.params),
        )
        try:
            result = await serve_one(
                self.server,
                dispatch,
                call.method,
                call.params,
                connection=connection,
                lifespan_state=self.lifespan_state,
            )
        except Exception as exc:  # the SDK's mapping: MCPError and ValidationError as such, else -32603
            error = handler_exception_to_error_data(exc) or modern_error_data(exc)
            # The handshake era's transport answers every JSON-RPC error with 200; 2026-07-28 maps codes.
            status = ERROR_CODE_HTTP_STATUS.get(error.code, 200) if modern else 200
            return _error(call.id, error, status)
        return _answer({"jsonrpc": "2.0", "id": call.id, "result": result})

    def _acknowledge(self, decoded: dict[str, Any], version_header: str | None, modern: bool) -> Response:
        """A notification (or, in the handshake era, a response): 202 and dropped, as both of the SDK's
        transports do when no session lives on to act on it."""
        if "method" in decoded:
            try:
                JSONRPCNotification.model_validate(decoded)
            except ValidationError:
                return _refusal(None, INVALID_REQUEST, NOT_ONE_MESSAGE, 400)
            if modern and (rejection := unsupported_protocol_version_rejection(version_header or "")):
                return _rejected(None, rejection)
            return Response(status_code=202)
        if not modern and "id" in decoded and ("result" in decoded or "error" in decoded):
            return Response(status_code=202)
        return _refusal(None, INVALID_REQUEST, NOT_ONE_MESSAGE, 400)

    def _modern_verdict(
        self, request: Request, decoded: dict[str, Any], call: _Call
    ) -> InboundModernRoute | Response:
        """The per-request envelope of 2026-07-28, checked as the SDK's entry checks it."""
        duplicated = find_duplicated_routing_header(request.headers.items())
        if duplicated is not None:
            message_text = f"{duplicated} header appears more than once"
            return _rejected(call.id, InboundLadderRejection(code=HEADER_MISMATCH, message=message_text))
        verdict = classify_inbound_request(decoded, headers=_first_values(request.scope["headers"]))
        if isinstance(verdict, InboundLadderRejection):
            return _rejected(call.id, verdict)
        refused = self._param_header_rejection(request, call)
        if refused is not None:
            return _rejected(call.id, refused)
        return verdict

    def _param_header_rejection(self, request: Request, call: _Call) -> InboundLadderRejection | None:
        """``Mcp-Param-*`` headers of a tools/call against the tool's input schema (the SDK's check)."""
        lookup = self.server.get_tool_input_schema
        params = call.params or {}
        if call.method != "tools/call" or lookup is None or not isinstance(params.get("name"), str):
            return None
        arguments = params.get("arguments")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, Mapping):
            return None
        if not arguments and not any(name.startswith(_PARAM_PREFIX) for name in request.headers):
            return None
        name = params["name"]
        declares = self._declares_headers.get(name)
        if declares is None:
            # The tools are fixed once the server is built: whether a tool's schema declares any header
            # (x-mcp-header) is worked out once; a schema that declares none has nothing to validate.
            schema = lookup(name)
            declares = schema is not None and bool(x_mcp_header_map(schema))
            self._declares_headers[name] = declares
        if not declares:
            return None
        schema = lookup(name)
        return None if schema is None else validate_mcp_param_headers(schema, arguments, request.headers)


def _rejected(request_id: RequestId | None, rejection: InboundLadderRejection) -> Response:
    """A refusal of the SDK's inbound checks, with the status its table gives the code."""
    error = ErrorData(code=rejection.code, message=rejection.message, data=rejection.data)
    return _error(request_id, error, ERROR_CODE_HTTP_STATUS.get(rejection.code, 400))
