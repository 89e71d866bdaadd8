"""Every athlete page's router, and the redirect to /login (and back) for a logged-out visitor."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response

from trainerday_server.web import account, activities_page, calendar_page, developer, home, workouts_page
from trainerday_server.web.common import LoginRequired
from trainerday_server.web.routes import login_url, redirect

ROUTERS = (
    home.router,
    account.router,
    developer.router,
    calendar_page.router,
    workouts_page.router,
    activities_page.router,
)


async def _to_login(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return redirect(login_url(exc.next_path))


def install_pages(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(LoginRequired, _to_login)


__all__ = ["install_pages"]
