"""Every athlete page's router, and the redirect to /login (and back) for a logged-out visitor."""

from __future__ import annotations

import inspect

from fastapi import FastAPI, Request
from starlette.responses import Response

from trainerday_server.errors import TrainerDayError
from trainerday_server.web import (
    account,
    activities_page,
    calendar_page,
    developer,
    fitness_page,
    home,
    workouts_page,
)
from trainerday_server.web.common import LoginRequired
from trainerday_server.web.routes import login_url, redirect
from trainerday_server.web.sessions import Visitor, session_token
from trainerday_server.web.templates import render

ROUTERS = (
    home.router,
    account.router,
    developer.router,
    calendar_page.router,
    workouts_page.router,
    activities_page.router,
    fitness_page.router,
)


async def _to_login(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return redirect(login_url(exc.next_path))


# Paths of the pages: an error there is a page a person reads, not a problem+json document.
PAGE_PREFIXES = ("/developer", "/settings", "/calendar", "/workouts", "/activities", "/signup", "/fitness")


def install_pages(app: FastAPI) -> None:
    """The pages' routers and handlers; call after ``install_problem_handlers``, whose handler for domain
    errors this one wraps (API paths keep getting problem+json)."""
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(LoginRequired, _to_login)
    api_handler = app.exception_handlers[TrainerDayError]

    async def on_domain_error(request: Request, exc: Exception) -> Response:
        path = request.url.path
        if not isinstance(exc, TrainerDayError) or not path.startswith(PAGE_PREFIXES):
            answer = api_handler(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        # Rendered as a logged-out visitor, keeping the cookie: no database read here (the error may be the
        # database's own), and never a new session cookie that would log the browser out.
        visitor = Visitor(session_token(request) or "-", None)
        return render(request, "error.html", visitor, status=exc.status, title=exc.title, message=exc.detail)

    app.add_exception_handler(TrainerDayError, on_domain_error)


__all__ = ["install_pages"]
