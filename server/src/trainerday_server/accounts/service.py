"""Accounts: creating athletes and checking their passwords. No HTTP here."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from trainerday_server.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from trainerday_server.errors import Conflict, NotFound, ValidationFailed
from trainerday_server.models import (
    Activity,
    Athlete,
    FtpHistory,
    OAuthApplication,
    OAuthClient,
    OAuthToken,
    WebSession,
)

if TYPE_CHECKING:
    from trainerday_server.activities.storage import FileStorage

logger = logging.getLogger(__name__)
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; this bounds the work one request can ask for

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
    check_password_rules(password, email=email)
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


def check_password_rules(password: str, *, email: str | None = None) -> None:
    """Sane rules, no theatre: long enough, not absurdly long, not all blank, not the email itself."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed.single("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed.single("password", f"must be at most {MAX_PASSWORD_LENGTH} characters")
    if not password.strip():
        raise ValidationFailed.single("password", "cannot be only spaces")
    if email is not None and password.strip().lower() == email.strip().lower():
        raise ValidationFailed.single("password", "cannot be your email address")


def change_password(session: Session, athlete_id: int, current: str, new: str) -> None:
    """Replace the password after checking the current one; every other browser session is logged out."""
    athlete = session.get(Athlete, athlete_id)
    if athlete is None:
        raise NotFound("athlete not found")
    if not verify_password(athlete.password_hash, current):
        raise ValidationFailed.single("currentPassword", "is not your current password")
    check_password_rules(new, email=athlete.email)
    athlete.password_hash = hash_password(new)
    session.execute(sa.delete(WebSession).where(WebSession.athlete_id == athlete_id))
    session.flush()


def delete_account(session: Session, storage: FileStorage, athlete_id: int) -> None:
    """Delete an athlete and everything that is theirs: rows (by ON DELETE CASCADE from ``athletes``: keys,
    OAuth codes and tokens, sessions, calendar, workouts, activities, applications), the OAuth apps they own
    (with every token those apps hold), and their stored activity files.

    The files are deleted only once the transaction has committed: a failed or rolled-back deletion must
    not leave rows that point at files already gone. A crash between the two leaves orphan files, never
    missing ones."""
    if session.get(Athlete, athlete_id) is None:
        raise NotFound("athlete not found")
    file_keys = list(session.scalars(sa.select(Activity.file_key).where(Activity.athlete_id == athlete_id)))
    owned_clients = sa.select(OAuthApplication.client_pk).where(
        OAuthApplication.athlete_id == athlete_id, OAuthApplication.client_pk.is_not(None)
    )
    # Explicit, not only by cascade: PostgreSQL and SQLite both cascade, but tokens must go even where a
    # database was created with foreign keys off.
    session.execute(sa.delete(OAuthToken).where(OAuthToken.athlete_id == athlete_id))
    session.execute(sa.delete(OAuthClient).where(OAuthClient.id.in_(owned_clients)))
    session.execute(sa.delete(WebSession).where(WebSession.athlete_id == athlete_id))
    session.execute(sa.delete(Athlete).where(Athlete.id == athlete_id))
    session.flush()

    def delete_files(_session: Session) -> None:
        for key in file_keys:
            try:
                storage.delete(key)
            except OSError:  # the account is gone either way; an orphan file is only disk space
                logger.warning("could not delete stored file %s of deleted athlete %s", key, athlete_id)

    sa.event.listen(session, "after_commit", delete_files, once=True)
