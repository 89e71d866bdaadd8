"""Accounts: creating athletes and checking their passwords. No HTTP here."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from trainerday_server.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from trainerday_server.errors import Conflict, ValidationFailed
from trainerday_server.models import Athlete, FtpHistory

DEFAULT_FTP = 200
# Deliberately loose: one @, something on each side, a dot in the domain. Delivery is the real test.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationFailed.single("email", f"{email!r} is not an email address")
    return email


def find_by_email(session: Session, email: str) -> Athlete | None:
    return session.scalar(sa.select(Athlete).where(Athlete.email == email.strip().lower()))


def create_athlete(
    session: Session, email: str, password: str, *, name: str | None = None, ftp: int = DEFAULT_FTP
) -> Athlete:
    """A new athlete with the given log-in; their FTP history starts today."""
    email = normalise_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed.single("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if not 1 <= ftp <= 2000:
        raise ValidationFailed.single("ftp", "must be a whole number of watts from 1 to 2000")
    name = (name or email.split("@")[0]).strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed.single("name", "must be 1 to 100 characters")
    if find_by_email(session, email) is not None:
        raise Conflict(f"an account with email {email} already exists")
    athlete = Athlete(email=email, password_hash=hash_password(password), name=name, ftp=ftp)
    session.add(athlete)
    session.flush()
    session.add(FtpHistory(athlete_id=athlete.id, effective_date=dt.datetime.now(dt.UTC).date(), ftp=ftp))
    session.flush()
    return athlete


def authenticate(session: Session, email: str, password: str) -> Athlete | None:
    """The athlete whose email and password these are, or None; equally slow either way."""
    athlete = find_by_email(session, email)
    ok = verify_password(athlete.password_hash if athlete else None, password)
    return athlete if ok and athlete is not None else None
