"""Base for every API schema: camelCase on the wire, snake_case in Python, unknown fields refused."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Strict, field_validator
from pydantic.alias_generators import to_camel

from trainerday_server.errors import ValidationFailed

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL, and no field has a use for one: refuse it for every field alike,
        # on both databases, instead of a 500 from the driver on one of them.
        reject_nul(value)
        return value


def reject_nul(value: Any) -> None:
    """Raise ValueError if ``value``, or any string inside it, holds a NUL character."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
    elif isinstance(value, list | tuple):
        for item in value:
            reject_nul(item)
    elif isinstance(value, dict):
        for item in value.values():
            reject_nul(item)


class ApiOut(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


# JSON numbers only, as the API documents: no "250" strings, no true/false, and for whole numbers no 250.5.
WholeNumber = Annotated[int, Strict()]
Number = Annotated[float, Strict()]


def _iso_date(value: Any) -> Any:
    # Pydantic would also take Unix timestamps and datetimes; the API promises ISO 8601 dates only.
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("must be a date as YYYY-MM-DD")
    if isinstance(value, int | float):
        raise ValueError("must be a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]


def parse_iso_date(value: str | None, field: str) -> dt.date:
    """A YYYY-MM-DD query value, for routes that read their parameters by hand."""
    if value is None:
        raise ValidationFailed.single(field, "is required")
    try:
        if not _ISO_DATE.match(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed.single(field, f"{value!r} is not a date as YYYY-MM-DD") from None


# Ids in URLs: the id columns are 32-bit INTEGER on PostgreSQL, so anything larger cannot exist, and must not
# reach the database driver (PostgreSQL refuses such a bound value, "integer out of range": a 500).
MAX_ID = 2**31 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def wire_timestamp(value: dt.datetime) -> str:
    """A stored timestamp as the API shows it: UTC, milliseconds, ``Z``."""
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
