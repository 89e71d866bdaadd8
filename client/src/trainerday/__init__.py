"""The TrainerDay API from Python.

    from trainerday import Client

    with Client(api_key="td_...") as client:
        client.athlete.update(ftp=265)
        for ride in client.activities.iter_all():
            print(ride.name, ride.tss)

Everything public is importable from ``trainerday`` itself; the modules starting with ``_`` are private.
"""

from trainerday._client import AsyncClient, Client
from trainerday._exceptions import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    ConflictError,
    FieldError,
    NotFoundError,
    OAuthError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TrainerDayError,
    ValidationError,
)
from trainerday._models import (
    Activity,
    ActivityFile,
    Athlete,
    CalendarEvent,
    CompletedActivity,
    Compliance,
    Connection,
    DoneTotals,
    DownloadedFile,
    FindPage,
    Fitness,
    FitnessDay,
    FtpChange,
    FtpEstimate,
    FtpEvidence,
    HeartRateZone,
    Model,
    Page,
    PlannedTotals,
    PlannedWorkout,
    PowerCurve,
    PowerZone,
    SeasonPowerCurve,
    SeasonPowerPoint,
    SummaryPeriod,
    TrainingSummary,
    Workout,
    WorkoutMetrics,
)
from trainerday._oauth import AuthorizationRequest, OAuthApp, Tokens
from trainerday._version import __version__

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "Activity",
    "ActivityFile",
    "AsyncClient",
    "Athlete",
    "AuthenticationError",
    "AuthorizationRequest",
    "CalendarEvent",
    "Client",
    "CompletedActivity",
    "Compliance",
    "ConflictError",
    "Connection",
    "DoneTotals",
    "DownloadedFile",
    "FieldError",
    "FindPage",
    "Fitness",
    "FitnessDay",
    "FtpChange",
    "FtpEstimate",
    "FtpEvidence",
    "HeartRateZone",
    "Model",
    "NotFoundError",
    "OAuthApp",
    "OAuthError",
    "Page",
    "PermissionDeniedError",
    "PlannedTotals",
    "PlannedWorkout",
    "PowerCurve",
    "PowerZone",
    "RateLimitError",
    "SeasonPowerCurve",
    "SeasonPowerPoint",
    "ServerError",
    "SummaryPeriod",
    "Tokens",
    "TrainerDayError",
    "TrainingSummary",
    "ValidationError",
    "Workout",
    "WorkoutMetrics",
    "__version__",
]

# Public classes say they live in ``trainerday``, not in the private module that defines them.
for _name in __all__:
    _member = globals()[_name]
    if hasattr(_member, "__module__") and not isinstance(_member, str):
        _member.__module__ = "trainerday"
del _name, _member
