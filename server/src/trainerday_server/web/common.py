"""What every athlete page shares: who is logged in (or the redirect to /login and back), form fields read
safely, and domain errors turned into messages a person can act on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from trainerday_server.db import session_scope
from trainerday_server.errors import TrainerDayError, ValidationFailed
from trainerday_server.web.sessions import Visitor, VisitorDep, current_visitor

MAX_FIELD = 10_000  # no field of any page form is longer; a longer one is refused, not cut


class LoginRequired(Exception):
    """Raised by ``AthletePage`` for a logged-out visitor: answered with a redirect to /login?next=..."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


@dataclass(frozen=True)
class AthletePage:
    """A logged-in visitor and their athlete id."""

    visitor: Visitor
    athlete_id: int


def _athlete_page(request: Request, visitor: VisitorDep) -> AthletePage:
    if visitor.athlete_id is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        # A form sent after the session ended: back to its section's page afterwards (a GET of the form's
        # own address would be a 405), never a replay of what was sent.
        raise LoginRequired(path if request.method == "GET" else "/" + request.url.path.split("/")[1])
    return AthletePage(visitor, visitor.athlete_id)


AthletePageDep = Annotated[AthletePage, Depends(_athlete_page)]


def _athlete_page_outside_transaction(request: Request) -> AthletePage:
    """As ``AthletePageDep``, but the session lookup runs in a read transaction of its own, closed at once:
    for the upload forms, whose services open their own write transactions (a request transaction held
    open meanwhile would block them on SQLite's single writer)."""
    with session_scope(request.app.state.read_sessions) as session:
        visitor = current_visitor(request, session)
    return _athlete_page(request, visitor)


UploaderDep = Annotated[AthletePage, Depends(_athlete_page_outside_transaction)]
MAX_UPLOAD_FILES = 20


async def _read_upload_form(request: Request) -> AsyncIterator[FormData]:
    async with request.form(max_files=MAX_UPLOAD_FILES, max_fields=20) as form:
        yield form


UploadFormDep = Annotated[FormData, Depends(_read_upload_form)]


def field(form: FormData, name: str, *, max_length: int = MAX_FIELD) -> str:
    """A text field, refused (not cut) when absurd: too long, or carrying NUL (PostgreSQL text cannot)."""
    value = form.get(name)
    text = value if isinstance(value, str) else ""
    if len(text) > max_length:
        raise ValidationFailed.single(name, f"must be at most {max_length} characters")
    if "\x00" in text:
        raise ValidationFailed.single(name, "contains a NUL character")
    return text


def optional_number(form: FormData, name: str, *, whole: bool = True) -> int | float | None:
    """An optional number field: empty is None; anything else must be a number."""
    text = field(form, name, max_length=32).strip()
    if not text:
        return None
    try:
        return int(text) if whole else float(text)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise ValidationFailed.single(name, f"must be {kind}") from None


def error_message(exc: TrainerDayError) -> str:
    """The error as one sentence for a page: each invalid field and why."""
    if isinstance(exc, ValidationFailed) and exc.errors:
        return "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
    return exc.detail
