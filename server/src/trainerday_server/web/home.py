"""``/``: the public API page of this server - what the API offers, its endpoints and scopes, a Quick Start
with this server's own address, and the OAuth flow. The endpoint table is built from the app's OpenAPI
schema, itself built from the route table, so it cannot drift from the API."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response

from trainerday_server.auth.scopes import SCOPES
from trainerday_server.web.sessions import VisitorDep
from trainerday_server.web.templates import render

router = APIRouter(include_in_schema=False)

_METHOD_ORDER = {"get": 0, "post": 1, "put": 2, "patch": 3, "delete": 4}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    scope: str | None


def endpoints(schema: dict[str, Any]) -> list[Endpoint]:
    """Every documented operation, with the one scope it requires (None: no bearer token needed)."""
    found = []
    for path, item in schema.get("paths", {}).items():
        for method, operation in sorted(item.items(), key=lambda kv: _METHOD_ORDER.get(kv[0], 9)):
            if method not in _METHOD_ORDER:
                continue
            scopes = sorted(
                {s for requirement in operation.get("security", []) for s in requirement.get("oauth2", [])}
            )
            found.append(
                Endpoint(method.upper(), path, operation.get("summary", ""), " ".join(scopes) or None)
            )
    return found


@cache
def _endpoints_of(app: FastAPI) -> tuple[Endpoint, ...]:
    return tuple(endpoints(app.openapi()))


@router.get("/")
def api_page(request: Request, visitor: VisitorDep) -> Response:
    base_url = request.app.state.settings.base_url.rstrip("/")
    return render(
        request,
        "home.html",
        visitor,
        base_url=base_url,
        endpoints=_endpoints_of(request.app),
        scopes=SCOPES,
    )
