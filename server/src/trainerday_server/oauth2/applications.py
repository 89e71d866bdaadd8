"""Applications for OAuth clients: an athlete applies on /developer/apps, an operator approves or rejects
(``trainerday-server clients applications|approve|reject``), and the applicant then manages the client.

No HTTP here. The client secret is never stored: approving creates the client with a secret that nobody
sees, and the applicant asks for a new one on the page (``new_secret``), which is shown that once. Under
``TRAINERDAY_APP_APPROVAL=auto`` the application is approved as it is made and its secret shown then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from trainerday_server.auth.scopes import format_scopes, parse_scopes
from trainerday_server.errors import Conflict, NotFound, ValidationFailed
from trainerday_server.models import OAuthApplication, OAuthClient
from trainerday_server.oauth2 import service

MAX_REDIRECT_URIS = 10
MAX_DESCRIPTION = 2000
MAX_WEBSITE = 500
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


@dataclass(frozen=True)
class ApplicationDraft:
    name: str
    website: str
    description: str
    redirect_uris: Sequence[str]
    scopes: frozenset[str]
    public: bool


@dataclass(frozen=True)
class Decision:
    application: OAuthApplication
    client: OAuthClient | None
    secret: str | None  # shown once, when the decision creates a confidential client


def parse_redirect_uris(text: str) -> list[str]:
    """One URI a line (blank lines ignored), each checked as the OAuth server checks it, duplicates merged."""
    uris = [line.strip() for line in text.splitlines() if line.strip()]
    if not uris:
        raise ValidationFailed.single("redirectUris", "at least one redirect URI is required")
    if len(uris) > MAX_REDIRECT_URIS:
        raise ValidationFailed.single("redirectUris", f"at most {MAX_REDIRECT_URIS} redirect URIs")
    return list(dict.fromkeys(service.validate_redirect_uri(u) for u in uris))


def _check(draft: ApplicationDraft) -> ApplicationDraft:
    name = draft.name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed.single("name", "must be 1 to 100 characters")
    website = draft.website.strip()
    parts = urlsplit(website) if len(website) <= MAX_WEBSITE else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or " " in website:
        raise ValidationFailed.single("website", "must be an http:// or https:// address")
    description = draft.description.strip()
    if not 1 <= len(description) <= MAX_DESCRIPTION:
        raise ValidationFailed.single("description", f"must be 1 to {MAX_DESCRIPTION} characters")
    if not draft.scopes:
        raise ValidationFailed.single("scopes", "choose at least one scope")
    parse_scopes(format_scopes(draft.scopes))  # unknown scopes are refused with the list of valid ones
    uris = list(dict.fromkeys(service.validate_redirect_uri(u) for u in draft.redirect_uris))
    if not uris:
        raise ValidationFailed.single("redirectUris", "at least one redirect URI is required")
    return ApplicationDraft(name, website, description, uris, draft.scopes, draft.public)


def apply(
    session: Session,
    secret_key: bytes,
    athlete_id: int,
    draft: ApplicationDraft,
    *,
    auto_approve: bool,
    now: dt.datetime,
) -> Decision:
    """Record an application; approved at once when the server says so."""
    draft = _check(draft)
    application = OAuthApplication(
        athlete_id=athlete_id,
        name=draft.name,
        website=draft.website,
        description=draft.description,
        redirect_uris=list(draft.redirect_uris),
        scopes=format_scopes(draft.scopes),
        public=draft.public,
        status=PENDING,
        created_at=now,
    )
    session.add(application)
    session.flush()
    if auto_approve:
        return approve(session, secret_key, application.id, now)
    return Decision(application, None, None)


def list_for_athlete(session: Session, athlete_id: int) -> list[tuple[OAuthApplication, OAuthClient | None]]:
    rows = session.execute(
        sa.select(OAuthApplication, OAuthClient)
        .outerjoin(OAuthClient, OAuthClient.id == OAuthApplication.client_pk)
        .where(OAuthApplication.athlete_id == athlete_id)
        .order_by(OAuthApplication.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def list_all(session: Session, status: str | None = None) -> list[OAuthApplication]:
    query = sa.select(OAuthApplication).order_by(OAuthApplication.id)
    if status is not None:
        query = query.where(OAuthApplication.status == status)
    return list(session.scalars(query))


def _get(session: Session, application_id: int, athlete_id: int | None = None) -> OAuthApplication:
    query = sa.select(OAuthApplication).where(OAuthApplication.id == application_id)
    if athlete_id is not None:
        query = query.where(OAuthApplication.athlete_id == athlete_id)
    application = session.scalar(query.with_for_update())
    if application is None:
        raise NotFound(f"no application with id {application_id}")
    return application


def approve(session: Session, secret_key: bytes, application_id: int, now: dt.datetime) -> Decision:
    """Create the OAuth client the application asked for. Only a pending application can be approved."""
    application = _get(session, application_id)
    if application.status != PENDING:
        raise Conflict(f"application {application_id} is already {application.status}")
    new = service.create_client(
        session,
        secret_key,
        name=application.name,
        redirect_uris=application.redirect_uris,
        scopes=frozenset(application.scopes.split()),
        public=application.public,
    )
    application.status = APPROVED
    application.client_pk = new.client.id
    application.decided_at = now
    session.flush()
    return Decision(application, new.client, new.secret)


def reject(session: Session, application_id: int, reason: str, now: dt.datetime) -> OAuthApplication:
    """Refuse a pending application, with a reason the applicant reads on /developer/apps."""
    reason = reason.strip()
    if not 1 <= len(reason) <= MAX_DESCRIPTION:
        raise ValidationFailed.single("reason", f"must be 1 to {MAX_DESCRIPTION} characters")
    application = _get(session, application_id)
    if application.status != PENDING:
        raise Conflict(f"application {application_id} is already {application.status}")
    application.status = REJECTED
    application.reason = reason
    application.decided_at = now
    session.flush()
    return application


def _own_client(session: Session, athlete_id: int, application_id: int) -> OAuthClient:
    application = _get(session, application_id, athlete_id)
    client = session.get(OAuthClient, application.client_pk) if application.client_pk is not None else None
    if application.status != APPROVED or client is None:
        raise NotFound(f"application {application_id} has no client (it is {application.status})")
    return client


def own_client(session: Session, athlete_id: int, application_id: int) -> OAuthClient:
    """The client of the athlete's own approved application; NotFound for anyone else's, or none yet."""
    return _own_client(session, athlete_id, application_id)


def new_secret(session: Session, secret_key: bytes, athlete_id: int, application_id: int) -> tuple[str, str]:
    """A new secret for the applicant's own confidential client (the old one stops at once): client_id and
    the secret, which is shown this once."""
    client = _own_client(session, athlete_id, application_id)
    return client.client_id, service.rotate_secret(session, secret_key, client.client_id)


def set_redirect_uris(
    session: Session, athlete_id: int, application_id: int, uris: Sequence[str]
) -> OAuthClient:
    """Replace the redirect URIs of the applicant's own client (and of the application, to match)."""
    checked = list(dict.fromkeys(service.validate_redirect_uri(u) for u in uris))
    if not checked:
        raise ValidationFailed.single("redirectUris", "at least one redirect URI is required")
    if len(checked) > MAX_REDIRECT_URIS:
        raise ValidationFailed.single("redirectUris", f"at most {MAX_REDIRECT_URIS} redirect URIs")
    client = _own_client(session, athlete_id, application_id)
    client.redirect_uris = checked
    application = _get(session, application_id, athlete_id)
    application.redirect_uris = checked
    session.flush()
    return client
