"""/api/v1/athlete: the profile, FTP and training zones of the athlete the token belongs to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from trainerday_server.athlete import service
from trainerday_server.athlete.schemas import AthleteOut, AthletePatch, FtpHistoryOut
from trainerday_server.auth.principal import Principal
from trainerday_server.deps import SessionDep, require_scope

router = APIRouter(prefix="/api/v1/athlete", tags=["athlete"])


@router.get("", response_model=AthleteOut, summary="Your profile with power and heart-rate zones")
def read_athlete(session: SessionDep, me: Annotated[Principal, require_scope("athlete:read")]) -> AthleteOut:
    return AthleteOut.model_validate(service.profile(service.get_athlete(session, me.athlete_id)))


@router.patch("", response_model=AthleteOut, summary="Change your profile (only the fields sent)")
def update_athlete(
    changes: AthletePatch, session: SessionDep, me: Annotated[Principal, require_scope("athlete:write")]
) -> AthleteOut:
    athlete = service.update_profile(session, me.athlete_id, changes.model_dump(exclude_unset=True))
    return AthleteOut.model_validate(service.profile(athlete))


@router.get("/ftp-history", response_model=FtpHistoryOut, summary="Your FTP over time")
def read_ftp_history(
    session: SessionDep, me: Annotated[Principal, require_scope("athlete:read")]
) -> FtpHistoryOut:
    return FtpHistoryOut.model_validate({"data": service.ftp_history(session, me.athlete_id)})
