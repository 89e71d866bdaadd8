"""The athlete's profile, zones and FTP history. No HTTP here."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from trainerday_server.athlete.zones import Zone, heart_rate_zones, power_zones
from trainerday_server.errors import NotFound, ValidationFailed
from trainerday_server.models import Athlete, FtpHistory
from trainerday_server.models.athlete import new_data_revision

# Fields that may be cleared with null; the others must keep a value.
_NULLABLE = frozenset({"weight_kg", "lthr", "max_heart_rate", "resting_heart_rate", "ctl_start", "atl_start"})


def get_athlete(session: Session, athlete_id: int) -> Athlete:
    athlete = session.get(Athlete, athlete_id)
    if athlete is None:  # a credential outliving its athlete; treat as gone
        raise NotFound("athlete not found")
    return athlete


def current_ftp(session: Session, athlete_id: int) -> int:
    """The FTP planned workouts are shown at: the athlete's current one."""
    ftp = session.scalar(sa.select(Athlete.ftp).where(Athlete.id == athlete_id))
    if ftp is None:
        raise NotFound("athlete not found")
    return ftp


def bump_data_revision(session: Session, athlete_id: int) -> None:
    """Mark everything this athlete reads as changed; call in the transaction that changes it."""
    session.execute(
        sa.update(Athlete).where(Athlete.id == athlete_id).values(data_revision=new_data_revision())
    )


def today_for(athlete: Athlete) -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(athlete.timezone)).date()


def update_profile(session: Session, athlete_id: int, changes: dict[str, Any]) -> Athlete:
    """Apply the fields given; an FTP change is recorded as in force from the athlete's today."""
    athlete = get_athlete(session, athlete_id)
    for field, value in changes.items():
        if value is None and field not in _NULLABLE:
            raise ValidationFailed.single(field, "cannot be null")
    merged = {
        f: changes.get(f, getattr(athlete, f)) for f in ("lthr", "max_heart_rate", "resting_heart_rate")
    }
    if merged["max_heart_rate"] is not None:
        if (
            merged["resting_heart_rate"] is not None
            and merged["resting_heart_rate"] >= merged["max_heart_rate"]
        ):
            raise ValidationFailed.single("restingHeartRate", "must be below maxHeartRate")
        if merged["lthr"] is not None and merged["lthr"] > merged["max_heart_rate"]:
            raise ValidationFailed.single("lthr", "cannot be above maxHeartRate")
    new_ftp = changes.get("ftp")
    for field, value in changes.items():
        setattr(athlete, field, value)
    athlete.data_revision = new_data_revision()  # zones, metrics, calendar: all may read anew
    if new_ftp is not None:
        _record_ftp(session, athlete.id, today_for(athlete), new_ftp)
    session.flush()
    return athlete


def _record_ftp(session: Session, athlete_id: int, day: dt.date, ftp: int) -> None:
    entry = session.scalar(
        sa.select(FtpHistory).where(FtpHistory.athlete_id == athlete_id, FtpHistory.effective_date == day)
    )
    if entry is None:
        session.add(FtpHistory(athlete_id=athlete_id, effective_date=day, ftp=ftp))
    else:  # several changes on one day: the last one is the day's FTP
        entry.ftp = ftp


def ftp_history(session: Session, athlete_id: int) -> list[FtpHistory]:
    return list(
        session.scalars(
            sa.select(FtpHistory)
            .where(FtpHistory.athlete_id == athlete_id)
            .order_by(FtpHistory.effective_date)
        )
    )


def ftp_on(session: Session, athlete_id: int, day: dt.date) -> int:
    """The FTP in force on ``day``: the latest change on or before it, else the earliest one known."""
    ftp = session.scalar(
        sa.select(FtpHistory.ftp)
        .where(FtpHistory.athlete_id == athlete_id, FtpHistory.effective_date <= day)
        .order_by(FtpHistory.effective_date.desc())
        .limit(1)
    )
    if ftp is None:
        ftp = session.scalar(
            sa.select(FtpHistory.ftp)
            .where(FtpHistory.athlete_id == athlete_id)
            .order_by(FtpHistory.effective_date)
            .limit(1)
        )
    return ftp if ftp is not None else get_athlete(session, athlete_id).ftp


def profile(athlete: Athlete) -> dict[str, Any]:
    """The profile as the API shows it, zones included."""

    def zones_out(zones: list[Zone], unit: str) -> list[dict[str, Any]]:
        return [
            {"zone": z.number, "name": z.name, f"min_{unit}": z.low, f"max_{unit}": z.high} for z in zones
        ]

    return {
        "id": athlete.id,
        "name": athlete.name,
        "email": athlete.email,
        "weight_kg": athlete.weight_kg,
        "ftp": athlete.ftp,
        "lthr": athlete.lthr,
        "max_heart_rate": athlete.max_heart_rate,
        "resting_heart_rate": athlete.resting_heart_rate,
        "timezone": athlete.timezone,
        "units": athlete.units,
        "ctl_start": athlete.ctl_start,
        "atl_start": athlete.atl_start,
        "power_zones": zones_out(power_zones(athlete.ftp), "watts"),
        "heart_rate_zones": zones_out(heart_rate_zones(athlete.lthr), "bpm") if athlete.lthr else [],
    }
