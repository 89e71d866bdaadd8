"""Typed domain errors. Each carries its HTTP status and a problem type; one handler renders them all.

Services raise these; they never build responses. The API renders them as RFC 9457
``application/problem+json`` (see ``trainerday_server.problems``); the CLI prints their ``detail``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid input: where it is (a JSON-pointer-like dotted path) and what is wrong with it."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class TrainerDayError(Exception):
    """Base of every error a service may raise on purpose."""

    detail: str
    extra: dict[str, Any] = field(default_factory=dict)

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __str__(self) -> str:
        return self.detail


@dataclass
class ValidationFailed(TrainerDayError):
    """Input that is well-formed but wrong: lists every offending field."""

    errors: Sequence[FieldError] = ()

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "validation-error"
    title: ClassVar[str] = "Invalid request"

    @classmethod
    def single(cls, field_name: str, message: str) -> ValidationFailed:
        return cls(detail=f"{field_name}: {message}", errors=[FieldError(field_name, message)])


@dataclass
class NotFound(TrainerDayError):
    status: ClassVar[int] = 404
    slug: ClassVar[str] = "not-found"
    title: ClassVar[str] = "Not found"


@dataclass
class Conflict(TrainerDayError):
    status: ClassVar[int] = 409
    slug: ClassVar[str] = "conflict"
    title: ClassVar[str] = "Conflict"


@dataclass
class PayloadTooLarge(TrainerDayError):
    status: ClassVar[int] = 413
    slug: ClassVar[str] = "payload-too-large"
    title: ClassVar[str] = "Payload too large"


@dataclass
class ActivityFileError(TrainerDayError):
    """An uploaded activity file with nothing usable in it: not FIT, TCX or GPX, no samples, no time.

    ``detail`` says what is wrong and where (byte offset, or XML line and column) when that is known.
    """

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "invalid-activity-file"
    title: ClassVar[str] = "Invalid activity file"
