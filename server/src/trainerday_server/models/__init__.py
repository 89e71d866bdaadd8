"""All ORM tables, imported here so that metadata (and Alembic) sees every one of them."""

from trainerday_server.models.api_key import ApiKey
from trainerday_server.models.athlete import Athlete, FtpHistory
from trainerday_server.models.base import Base
from trainerday_server.models.calendar_event import CalendarEvent
from trainerday_server.models.idempotency import IdempotencyRecord
from trainerday_server.models.workout import LibraryWorkout

__all__ = ["ApiKey", "Athlete", "Base", "CalendarEvent", "FtpHistory", "IdempotencyRecord", "LibraryWorkout"]
