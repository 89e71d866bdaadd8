"""All ORM tables, imported here so that metadata (and Alembic) sees every one of them."""

from trainerday_server.models.activity import Activity
from trainerday_server.models.activity_power_curve import ActivityPowerCurve
from trainerday_server.models.api_key import ApiKey
from trainerday_server.models.athlete import Athlete, FtpHistory
from trainerday_server.models.base import Base
from trainerday_server.models.calendar_event import CalendarEvent
from trainerday_server.models.idempotency import IdempotencyRecord
from trainerday_server.models.login_attempt import LoginAttempt
from trainerday_server.models.oauth_application import CalendarFeed, OAuthApplication
from trainerday_server.models.oauth_authorization_code import OAuthAuthorizationCode
from trainerday_server.models.oauth_client import OAuthClient
from trainerday_server.models.oauth_token import OAuthToken
from trainerday_server.models.web_session import WebSession
from trainerday_server.models.workout import LibraryWorkout

__all__ = [
    "Activity",
    "ActivityPowerCurve",
    "ApiKey",
    "Athlete",
    "Base",
    "CalendarEvent",
    "CalendarFeed",
    "FtpHistory",
    "IdempotencyRecord",
    "LibraryWorkout",
    "LoginAttempt",
    "OAuthApplication",
    "OAuthAuthorizationCode",
    "OAuthClient",
    "OAuthToken",
    "WebSession",
]
