"""Reading an HTML or OAuth form before a synchronous handler runs (form parsing is async)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

MAX_FIELDS = 100  # no form here has more than a dozen


async def _read_form(request: Request) -> AsyncIterator[FormData]:
    async with request.form(max_files=0, max_fields=MAX_FIELDS) as form:
        yield form


FormDep = Annotated[FormData, Depends(_read_form)]


def text(form: FormData, name: str) -> str:
    """A text field's value; empty when it is missing (or is not text)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""
