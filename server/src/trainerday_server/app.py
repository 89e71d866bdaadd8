"""The application factory: configuration, database, authentication, error handling and every router."""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from trainerday_server import __version__, maintenance, ratelimit
from trainerday_server.activities.routes import router as activities_router
from trainerday_server.activities.storage import FileStorage, LocalFileStorage
from trainerday_server.analytics.routes import router as analytics_router
from trainerday_server.api_keys.resolver import ApiKeyResolver
from trainerday_server.athlete.routes import router as athlete_router
from trainerday_server.auth.bearer import Authenticator
from trainerday_server.cache import RevisionCache
from trainerday_server.calendar.routes import hot_router as calendar_hot_router
from trainerday_server.calendar.routes import router as calendar_router
from trainerday_server.config import Settings, get_settings
from trainerday_server.db import create_db_engine, make_session_factory
from trainerday_server.export.routes import router as export_router
from trainerday_server.fastlane import Application, FastLane
from trainerday_server.guards import install_guards, parse_origins
from trainerday_server.mcp.endpoint import router as mcp_metadata_router
from trainerday_server.mcp.server import McpEndpoint, build_server, mcp_route
from trainerday_server.middleware import BodySizeLimit, QueryStringGuard
from trainerday_server.models.base import utcnow
from trainerday_server.oauth2.connections import router as connections_router
from trainerday_server.oauth2.registration import router as registration_router
from trainerday_server.oauth2.resolver import OAuthTokenResolver
from trainerday_server.oauth2.routes import router as oauth_router
from trainerday_server.observability import metrics as observability_metrics
from trainerday_server.observability.middleware import Observability, RequestRecorder
from trainerday_server.observability.routes import router as observability_router
from trainerday_server.problems import install_problem_handlers
from trainerday_server.web.pages import install_pages
from trainerday_server.web.routes import router as web_router
from trainerday_server.web.templates import STATIC_DIR
from trainerday_server.webhooks.routes import router as webhooks_router
from trainerday_server.webhooks.worker import worker_from_settings
from trainerday_server.workouts.formats import MAX_FILE_BYTES as MAX_WORKOUT_FILE_BYTES
from trainerday_server.workouts.routes import router as workouts_router

JSON_BODY_LIMIT = 1024 * 1024  # plenty for any JSON this API takes; uploads have their own limit
UPLOAD_PATHS = ("/api/v1/activities/upload",)
WORKOUT_IMPORT_PATH = "/api/v1/workouts/import"
WEB_WORKOUT_IMPORT_PATH = "/workouts/import"  # the page forms that carry files
WEB_UPLOAD_PATH = "/activities/upload"
# Workout files are small; the multipart envelope around one adds a few hundred bytes.
WORKOUT_IMPORT_LIMIT = MAX_WORKOUT_FILE_BYTES + 64 * 1024

DESCRIPTION = """\
The TrainerDay API: your athlete profile and training zones, your training calendar, your workout library and
your rides.

**Authentication.** Send `Authorization: Bearer <token>` with a personal API key (`td_...`, created on
`/developer` or with `trainerday-server keys create`) or an OAuth 2.0 access token. Each operation names
the scope it needs.

**Errors** are `application/problem+json` (RFC 9457) with `type`, `title`, `status`, `detail`, and `errors`
listing each invalid field. Dates are `YYYY-MM-DD`; JSON fields are camelCase.
"""


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, file_storage: FileStorage | None = None
) -> FastAPI:
    """The app; ``file_storage`` keeps uploaded originals (default: a directory under ``data_dir``)."""
    settings = settings or get_settings()
    engine = engine or create_db_engine(settings.resolved_database_url)
    _configure_logging(settings.log_level)

    mcp_endpoint = McpEndpoint(build_server())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Webhook deliveries go out from every serving process unless a separate `trainerday-server worker`
        # does it (TRAINERDAY_WEBHOOKS_WORKER=false); the tests' app turns it on only where a test wants it.
        worker = worker_from_settings(engine, settings) if settings.webhooks_worker else None
        if worker is not None:
            worker.start()
        clean_up = _start_maintenance(app, settings)
        try:
            async with mcp_endpoint.running():
                yield
        finally:
            if clean_up is not None:
                clean_up.cancel()
            if worker is not None:
                worker.stop()
        engine.dispose()
        observability_metrics.process_exited(os.getpid())

    app = Application(
        title="TrainerDay API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # FastAPI's built-in OpenTelemetry costs a check on every request; nothing here configures a provider.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None,  # served below from vendored assets: the explorer must work without the internet
        redoc_url=None,
    )
    secret = settings.resolved_secret_key
    app.state.settings = settings
    app.state.secret_key = secret
    # Every expiry (OAuth codes and tokens, web sessions, log-in throttling) is judged by this clock, read at
    # each use, so tests can move time on by replacing it.
    app.state.clock = utcnow
    app.state.engine = engine
    app.state.read_sessions = make_session_factory(engine, writer=False)
    app.state.write_sessions = make_session_factory(engine, writer=True)
    app.state.authenticator = Authenticator([ApiKeyResolver(engine, secret)])
    app.state.authenticator.add(OAuthTokenResolver(engine, secret, clock=lambda: app.state.clock()))
    app.state.calendar_cache = RevisionCache(settings.response_cache_bytes)
    app.state.analytics_cache = RevisionCache(settings.response_cache_bytes)
    app.state.file_storage = file_storage or LocalFileStorage(settings.data_dir / "files")

    install_problem_handlers(app)
    app.include_router(calendar_hot_router)  # first: routes are matched in order, and this is the hottest
    # Next, /mcp: every tool call is one POST to it, and matching it after every other route cost ~0.1 ms
    # of CPU per call (FastAPI tries each route in turn).
    mcp = mcp_route(mcp_endpoint)
    app.router.routes.append(mcp)
    app.direct_routes = {mcp.path: mcp.app}  # see fastlane.Application
    app.include_router(athlete_router)
    app.include_router(connections_router)
    app.include_router(calendar_router)
    app.include_router(workouts_router)
    app.include_router(activities_router)
    app.include_router(analytics_router)
    app.include_router(oauth_router)
    app.include_router(webhooks_router)
    app.include_router(registration_router)
    app.include_router(mcp_metadata_router)
    app.include_router(web_router)
    app.include_router(observability_router)  # /readyz, /metrics
    app.include_router(export_router)  # GET /api/v1/athlete/export
    install_pages(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/docs", include_in_schema=False)
    def explorer() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Explore the API · TrainerDay",
            swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def explorer_oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    def limit_for(path: str) -> int:
        if path in (WORKOUT_IMPORT_PATH, WEB_WORKOUT_IMPORT_PATH):
            return WORKOUT_IMPORT_LIMIT
        if path == WEB_UPLOAD_PATH:  # several rides in one form: each is still held to max_upload_bytes
            return settings.max_upload_bytes * 2
        return settings.max_upload_bytes if path.startswith(UPLOAD_PATHS) else JSON_BODY_LIMIT

    app.add_middleware(BodySizeLimit, limit_for=limit_for)
    app.add_middleware(QueryStringGuard)
    # Rate limits inside the guards (so CORS sees a 429 too), then the request id, access log and metrics
    # outermost, so that every answer (429s and guards' refusals included) is logged and counted.
    ratelimit.install(app, settings)
    install_guards(app, parse_origins(settings.cors_origins))
    observability_metrics.watch_pool(engine)
    recorder = RequestRecorder(access_log=settings.access_log)
    app.add_middleware(Observability, recorder=recorder)
    # In front of everything: the hottest reads skip every layer, and answer as they would (see fastlane).
    app.fast_lane = FastLane(
        routes=calendar_hot_router.routes,
        recorder=recorder,
        limiter=app.state.rate_limiter,
        limit=app.state.rate_limits.api,
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _start_maintenance(app: FastAPI, settings: Settings) -> asyncio.Task[None] | None:
    """The periodic clean-up (see ``maintenance``), first run at a random point of its first interval so
    that processes started together do not all clean up at once."""
    interval = settings.maintenance_interval_seconds
    if interval <= 0:
        return None
    state = app.state

    def work() -> maintenance.Report:
        return maintenance.run_maintenance(state.write_sessions, state.file_storage, state.clock())

    first_delay = random.uniform(0.5, 1.0) * interval
    return asyncio.create_task(maintenance.periodic(interval, work, first_delay=first_delay))


def _configure_logging(level: str) -> None:
    """Our own loggers at the configured level, to standard error; other libraries' loggers are left alone."""
    logger = logging.getLogger("trainerday_server")
    logger.setLevel(level.upper())
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details: every error the API returns has this shape.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {
            "type": "string",
            "format": "uri",
            "examples": ["https://trainerday.example/problems/not-found"],
        },
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "On 400s: every invalid field, by its path in the request.",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
_PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_ERRORS = {
    "400": "Invalid request: `errors` lists each invalid field",
    "401": "No valid token (see the WWW-Authenticate challenge)",
    "403": "The token lacks this operation's scope",
    "404": "Not found, or not yours",
}


def _document_errors(operation: dict[str, Any], path: str) -> None:
    """Replace FastAPI's 422 (this API answers 400) with the problem responses the operation can give."""
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    wanted = []
    if operation.get("parameters") or operation.get("requestBody"):
        wanted.append("400")
    if operation.get("security"):
        wanted += ["401", "403"]
    # A path id, or a query parameter naming one of your resources (``subscriptionId``), can be another's.
    if "{" in path or any(p.get("name", "").endswith("Id") for p in operation.get("parameters", [])):
        wanted.append("404")
    for status in wanted:
        responses.setdefault(status, {"description": _ERRORS[status]})
    for status, response in responses.items():
        if status[0] in "45" and "content" not in response:
            response["content"] = _PROBLEM_CONTENT


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus personal API keys as an alternative to OAuth on every secured operation."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["personalApiKey"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API key, td_..., with the scopes chosen when it was created.",
    }
    schemes["oauthClient"] = {
        "type": "http",
        "scheme": "basic",
        "description": "An OAuth app's client_id and client_secret (webhook subscriptions).",
    }
    schemas = schema["components"].setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    for path, path_item in schema.get("paths", {}).items():
        for operation in path_item.values():
            requirements = operation.get("security")
            if requirements and all("oauth2" in r for r in requirements):
                operation["security"] = [*requirements, {"personalApiKey": []}]
            _document_errors(operation, path)
    app.openapi_schema = schema
    return schema
