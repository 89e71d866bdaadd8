"""OAuth 2.0 state in the database: registered clients, code and token families, athletes' connections.

No HTTP and no Authlib here: the authorization server (``oauth2.server``), the CLI and the connections API
build on these functions. Every secret (client secrets, codes, tokens) is stored only as an HMAC with the
server secret (``auth.tokens.token_hash``): they are 256-bit random values, so a slow password hash (argon2)
would add cost and nothing else, and the key means a stolen database alone cannot even confirm a guess.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import InstrumentedAttribute, Session

from trainerday_server.auth.scopes import format_scopes
from trainerday_server.auth.tokens import new_token, token_hash
from trainerday_server.errors import NotFound, ValidationFailed
from trainerday_server.models import OAuthAuthorizationCode, OAuthClient, OAuthToken
from trainerday_server.webhooks import outbox

Clock = Callable[[], dt.datetime]

# Prefixes say what a credential is (and let secret scanners find leaked ones). Access tokens must not start
# with "td_": the bearer dependency routes each token to its resolver by prefix.
ACCESS_TOKEN_PREFIX = "tdo_"  # noqa: S105 - a prefix, not a secret
REFRESH_TOKEN_PREFIX = "tdr_"  # noqa: S105
CODE_PREFIX = "tdc_"
CLIENT_SECRET_PREFIX = "tds_"  # noqa: S105

ACCESS_TOKEN_SECONDS = 6 * 3600
CODE_SECONDS = 600  # RFC 6749 4.1.2: "a maximum authorization code lifetime of 10 minutes is RECOMMENDED"
# Each refresh issues a new refresh token, so this is how long an app may stay unused, not connected.
REFRESH_TOKEN_SECONDS = 90 * 24 * 3600

CLIENT_ID_ALPHABET = string.ascii_letters + string.digits
MAX_REDIRECT_URI_LENGTH = 2000
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def unix_seconds(moment: dt.datetime) -> int:
    return int(moment.timestamp())


# --- clients -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewClient:
    client: OAuthClient
    secret: str | None  # shown once; None for a public client


def _new_client_id() -> str:
    # Letters and digits only: an id starting with "-" would read as an option on the CLI. Not a secret, but
    # unguessable all the same: 24 characters carry ~143 random bits.
    return "".join(secrets.choice(CLIENT_ID_ALPHABET) for _ in range(24))


def validate_redirect_uri(uri: str) -> str:
    """Accept what RFC 8252 and RFC 9700 allow: https, http only to the loopback interface (native apps), or
    a private-use scheme in reverse-domain form (``com.example.app:/callback``). Never a fragment."""
    where = "redirect_uri"
    if len(uri) > MAX_REDIRECT_URI_LENGTH or any(c.isspace() or not c.isprintable() for c in uri):
        raise ValidationFailed.single(where, f"{uri[:80]!r} is not a valid URI")
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise ValidationFailed.single(where, f"{uri!r} is not a valid URI") from None
    if parts.fragment or uri.endswith("#"):
        raise ValidationFailed.single(where, f"{uri!r} must not contain a fragment (#...)")
    if parts.scheme == "https" and parts.hostname:
        return uri
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return uri
    if "." in parts.scheme and parts.scheme not in ("http", "https") and (parts.path or parts.netloc):
        return uri
    raise ValidationFailed.single(
        where,
        f"{uri!r} must be https://..., http:// to localhost or 127.0.0.1 (native apps), "
        "or a private-use scheme such as com.example.app:/callback",
    )


def create_client(
    session: Session,
    secret_key: bytes,
    *,
    name: str,
    redirect_uris: Sequence[str],
    scopes: frozenset[str],
    public: bool,
) -> NewClient:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed.single("name", "must be 1 to 100 characters")
    if not redirect_uris:
        raise ValidationFailed.single("redirect_uri", "at least one redirect URI is required")
    uris = list(dict.fromkeys(validate_redirect_uri(u) for u in redirect_uris))
    secret = None if public else new_token(CLIENT_SECRET_PREFIX)
    client = OAuthClient(
        client_id=_new_client_id(),
        name=name,
        secret_hash=None if secret is None else token_hash(secret_key, secret),
        redirect_uris=uris,
        scopes=format_scopes(scopes),
    )
    session.add(client)
    session.flush()
    return NewClient(client, secret)


def find_client(session: Session, client_id: str) -> OAuthClient | None:
    return session.scalar(sa.select(OAuthClient).where(OAuthClient.client_id == client_id))


def get_client(session: Session, client_id: str) -> OAuthClient:
    client = find_client(session, client_id)
    if client is None:
        raise NotFound(f"no OAuth client with client_id {client_id}")
    return client


def list_clients(session: Session) -> list[OAuthClient]:
    return list(session.scalars(sa.select(OAuthClient).order_by(OAuthClient.id)))


def rotate_secret(session: Session, secret_key: bytes, client_id: str) -> str:
    """A new secret for a confidential client; the old one stops working at once. Tokens already issued
    stay valid: rotating is for a leaked secret, deleting the client is for a compromised app."""
    client = get_client(session, client_id)
    if client.secret_hash is None:
        raise ValidationFailed.single("client_id", f"{client_id} is a public client: it has no secret")
    secret = new_token(CLIENT_SECRET_PREFIX)
    client.secret_hash = token_hash(secret_key, secret)
    session.flush()
    return secret


def delete_client(session: Session, client_id: str) -> None:
    """Delete a client; its codes and every token it holds go with it (ON DELETE CASCADE)."""
    session.delete(get_client(session, client_id))
    session.flush()


# --- codes and token families ----------------------------------------------------------------------------


def claim_code(session: Session, code_id: int, now: dt.datetime) -> bool:
    """Mark a code used: True for exactly one of any number of concurrent redemptions."""
    return _claim(session, OAuthAuthorizationCode, code_id, OAuthAuthorizationCode.used_at, now)


def claim_refresh_token(session: Session, token_id: int, now: dt.datetime) -> bool:
    """Mark a refresh token used (rotated): True for exactly one of any number of concurrent refreshes."""
    return _claim(session, OAuthToken, token_id, OAuthToken.refresh_used_at, now)


def _claim(
    session: Session,
    model: type[OAuthAuthorizationCode | OAuthToken],
    row_id: int,
    used: InstrumentedAttribute[dt.datetime | None],
    now: dt.datetime,
) -> bool:
    # A conditional UPDATE and its row count, not a read then a write: on PostgreSQL a concurrent transaction
    # waits for the first to commit, then re-checks the condition and changes nothing; SQLite writers queue.
    result = session.execute(
        sa.update(model)
        .where(model.id == row_id, used.is_(None))
        .values({used.key: now})
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount == 1


def revoke_family(session: Session, authorization_code_id: int, now: dt.datetime) -> None:
    """Revoke every token issued from one authorization: from its code and from each refresh since."""
    session.execute(
        sa.update(OAuthToken)
        .where(OAuthToken.authorization_code_id == authorization_code_id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def find_code(
    session: Session, secret_key: bytes, code: str, client_pk: int
) -> OAuthAuthorizationCode | None:
    """The code issued to this client, used or not (a used one must still be found, to detect replay)."""
    return session.scalar(
        sa.select(OAuthAuthorizationCode).where(
            OAuthAuthorizationCode.code_hash == token_hash(secret_key, code),
            OAuthAuthorizationCode.client_pk == client_pk,
        )
    )


@dataclass(frozen=True)
class FoundToken:
    row: OAuthToken
    kind: str  # "access_token" | "refresh_token"
    # What the token grants. An access token may be narrower than its grant; a refresh token always keeps
    # the whole grant's scope (RFC 6749 6), which is its authorization code's.
    scope: str


def find_token(session: Session, secret_key: bytes, token: str) -> FoundToken | None:
    """The token row, which of its tokens this is, and its scope, whatever its state.

    The prefix says which it is, so a ``token_type_hint`` is never needed."""
    if token.startswith(ACCESS_TOKEN_PREFIX):
        column, kind = OAuthToken.access_token_hash, "access_token"
    elif token.startswith(REFRESH_TOKEN_PREFIX):
        column, kind = OAuthToken.refresh_token_hash, "refresh_token"
    else:
        return None
    found = session.execute(
        sa.select(OAuthToken, OAuthAuthorizationCode.scope)
        .join(OAuthAuthorizationCode, OAuthAuthorizationCode.id == OAuthToken.authorization_code_id)
        .where(column == token_hash(secret_key, token))
    ).first()
    if found is None:
        return None
    row, grant_scope = found
    return FoundToken(row, kind, row.scope if kind == "access_token" else grant_scope)


# --- an athlete's connected apps -------------------------------------------------------------------------


@dataclass(frozen=True)
class Connection:
    client_id: str
    name: str
    scopes: list[str]  # what it may get at its next refresh: the whole of each grant still in force
    connected_at: dt.datetime  # when the athlete first approved it (of the approvals still in force)
    last_used_at: dt.datetime | None  # its last API call


def _live(now: dt.datetime) -> sa.ColumnElement[bool]:
    """Tokens that still grant something: not revoked, and an unexpired access or unused refresh token."""
    seconds = unix_seconds(now)
    return sa.and_(
        OAuthToken.revoked_at.is_(None),
        sa.or_(
            OAuthToken.expires_at > seconds,
            sa.and_(OAuthToken.refresh_used_at.is_(None), OAuthToken.refresh_expires_at > seconds),
        ),
    )


def connections(session: Session, athlete_id: int, now: dt.datetime) -> list[Connection]:
    """The apps that can currently act for this athlete, in the order they were connected."""
    rows = session.execute(
        sa.select(
            OAuthClient.client_id,
            OAuthClient.name,
            OAuthAuthorizationCode.scope,
            OAuthAuthorizationCode.created_at,
            OAuthToken.last_used_at,
        )
        .join(OAuthClient, OAuthClient.id == OAuthToken.client_pk)
        .join(OAuthAuthorizationCode, OAuthAuthorizationCode.id == OAuthToken.authorization_code_id)
        .where(OAuthToken.athlete_id == athlete_id, _live(now))
        .order_by(OAuthAuthorizationCode.created_at, OAuthToken.id)
    ).all()
    by_client: dict[str, list[Any]] = {}
    for row in rows:
        by_client.setdefault(row.client_id, []).append(row)
    return [
        Connection(
            client_id=client_id,
            name=tokens[0].name,
            scopes=sorted({scope for t in tokens for scope in t.scope.split()}),
            connected_at=min(t.created_at for t in tokens),
            last_used_at=max((t.last_used_at for t in tokens if t.last_used_at), default=None),
        )
        for client_id, tokens in by_client.items()
    ]


def disconnect(session: Session, athlete_id: int, client_id: str, now: dt.datetime) -> None:
    """Revoke every token this app holds for this athlete, and void the codes it has yet to redeem (marked
    used, so redeeming one is refused); NotFound if it holds nothing that still works."""
    client_pk = session.scalar(sa.select(OAuthClient.id).where(OAuthClient.client_id == client_id))
    if client_pk is None:
        raise NotFound(f"no connected app with client id {client_id}")
    # Codes first: a redemption racing this has either claimed its code (this UPDATE then waits for it to
    # commit, and the next one revokes the tokens it issued) or will find the code used.
    codes = session.execute(
        sa.update(OAuthAuthorizationCode)
        .where(
            OAuthAuthorizationCode.athlete_id == athlete_id,
            OAuthAuthorizationCode.client_pk == client_pk,
            OAuthAuthorizationCode.used_at.is_(None),
            OAuthAuthorizationCode.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    outbox.emit(
        session,
        athlete_id,
        "connection.revoked",
        {"clientId": client_id, "reason": "disconnected"},
        client_pk=client_pk,
    )
    tokens = session.execute(
        sa.update(OAuthToken)
        .where(OAuthToken.athlete_id == athlete_id, OAuthToken.client_pk == client_pk, _live(now))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    voided = cast(CursorResult[Any], codes).rowcount + cast(CursorResult[Any], tokens).rowcount
    if voided == 0:
        raise NotFound(f"no connected app with client id {client_id}")
