"""``trainerday-server``: serve, migrate, and manage athletes, their API keys and OAuth apps.

Every command prints a clear error on standard error and exits non-zero on bad input. Output meant for
scripts (a new key, a new id) is printed alone on standard output; everything else goes to standard error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Column, Table
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from trainerday_server.config import SecretKeyError, get_settings
from trainerday_server.db import create_db_engine, make_session_factory, session_scope
from trainerday_server.errors import NotFound, TrainerDayError

app = typer.Typer(
    help="TrainerDay API server administration.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Athlete accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="Personal API keys.", no_args_is_help=True)
clients_app = typer.Typer(help="OAuth apps (clients) that athletes can connect.", no_args_is_help=True)


def _print_version(value: bool) -> None:
    if value:
        from trainerday_server import __version__

        out.print(f"trainerday-server {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    """TrainerDay API server administration."""


app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(clients_app, name="clients")

out = Console()
err = Console(stderr=True)
DEMO_EMAIL = "demo@trainerday.local"
T = TypeVar("T")


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def open_database() -> Engine:
    """An engine on the configured database, which must exist, answer and be migrated; else a clear error."""
    from trainerday_server.migrate import is_up_to_date

    url = get_settings().resolved_database_url
    try:
        engine = create_db_engine(url)
    except (ValueError, sa.exc.ArgumentError) as exc:
        raise fail(f"TRAINERDAY_DATABASE_URL is not usable: {exc}") from None
    try:
        migrated = is_up_to_date(engine)
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        where = engine.url.render_as_string(hide_password=True)
        raise fail(f"cannot open the database {where}: {getattr(exc, 'orig', exc)}") from None
    if not migrated:
        engine.dispose()
        raise fail("the database is not migrated: run `trainerday-server db upgrade` first")
    return engine


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A writer session on the configured database, committed when the command succeeds."""
    engine = open_database()
    try:
        with session_scope(make_session_factory(engine, writer=True)) as session:
            yield session
    except TrainerDayError as exc:
        raise fail(exc.detail) from None
    finally:
        engine.dispose()


def run(action: Callable[[Session], T]) -> T:
    with unit_of_work() as session:
        return action(session)


def _athlete_id(session: Session, email: str) -> int:
    from trainerday_server.accounts.service import find_by_email

    athlete = find_by_email(session, email)
    if athlete is None:
        raise NotFound(f"no athlete with email {email}")
    return athlete.id


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
) -> None:
    """Serve the API, the explorer (/docs) and the web pages."""
    import uvicorn

    settings = get_settings()
    open_database().dispose()
    settings.resolved_secret_key  # noqa: B018 - create the secret once, before workers race to
    err.print(f"TrainerDay API on http://{host}:{port}  (docs: http://{host}:{port}/docs)")
    uvicorn.run(
        "trainerday_server.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest version."""
    from trainerday_server.migrate import upgrade

    settings = get_settings()
    settings.resolved_secret_key  # noqa: B018 - created now, with the database, not by a later race
    try:
        upgrade(settings.resolved_database_url)
    except Exception as exc:
        raise fail(f"migration failed: {exc}") from None
    err.print("database is up to date")


@users_app.command("create")
def users_create(
    email: str,
    password: Annotated[
        str | None,
        typer.Option(
            help="At least 8 characters; asked for (not echoed) when omitted: then it stays out of `ps`."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name (default: from the email).")] = None,
    ftp: Annotated[int, typer.Option(help="Functional threshold power in watts.")] = 200,
) -> None:
    """Create an athlete; prints the new athlete's id."""
    from trainerday_server.accounts.service import create_athlete

    if password is None:  # prompts on standard error: standard output carries only the new id
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)

    athlete_id = run(lambda s: create_athlete(s, email, password, name=name, ftp=ftp).id)
    out.print(athlete_id)


@keys_app.command("create")
def keys_create(
    email: str,
    name: Annotated[str, typer.Option(help="What the key is for.")] = "default",
    scopes: Annotated[
        str | None, typer.Option(help='Space-separated, e.g. "calendar:read athlete:read" (default: all).')
    ] = None,
) -> None:
    """Create a personal API key; prints the key (shown only this once) alone on standard output."""
    from trainerday_server.api_keys.service import create_key
    from trainerday_server.auth.scopes import parse_scopes

    secret = get_settings().resolved_secret_key

    def create(session: Session) -> str:
        return create_key(
            session, secret, _athlete_id(session, email), name=name, scopes=parse_scopes(scopes)
        ).plaintext

    plaintext = run(create)
    err.print("Store this key now: it cannot be shown again.")
    print(plaintext)


@keys_app.command("list")
def keys_list(email: str) -> None:
    """List an athlete's keys (never the keys themselves)."""
    from trainerday_server.api_keys.service import list_keys

    keys = run(lambda s: list_keys(s, _athlete_id(s, email)))
    table = Table("id", "name", "key", "scopes", "created", "last used", "revoked")
    for k in keys:
        table.add_row(
            str(k.id),
            k.name,
            k.hint + "…",
            k.scopes,
            _when(k.created_at),
            _when(k.last_used_at),
            _when(k.revoked_at),
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: int) -> None:
    """Revoke a key: it stops working at once, on every server."""
    from trainerday_server.api_keys.service import revoke_key

    run(lambda s: revoke_key(s, key_id))
    err.print(f"key {key_id} revoked")


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Option(help="The app's name, shown to athletes when they approve it.")],
    redirect_uri: Annotated[
        list[str], typer.Option(help="Where athletes return to (matched exactly); repeat for several.")
    ],
    scopes: Annotated[
        str | None, typer.Option(help='The most it may ask for, e.g. "calendar:read" (default: all).')
    ] = None,
    public: Annotated[
        bool, typer.Option("--public", help="An app that cannot keep a secret (mobile, desktop, browser).")
    ] = False,
) -> None:
    """Register an app; prints {"client_id", "client_secret"} as JSON (no secret for a public app)."""
    from trainerday_server.auth.scopes import parse_scopes
    from trainerday_server.oauth2.service import create_client

    secret_key = get_settings().resolved_secret_key

    def create(session: Session) -> dict[str, str]:
        new = create_client(
            session,
            secret_key,
            name=name,
            redirect_uris=redirect_uri,
            scopes=parse_scopes(scopes),
            public=public,
        )
        return _credentials(new.client.client_id, new.secret)

    credentials = run(create)
    if not public:
        err.print("Store the client secret now: it cannot be shown again.")
    print(json.dumps(credentials))


@clients_app.command("list")
def clients_list() -> None:
    """List registered apps (never their secrets)."""
    from trainerday_server.oauth2.service import list_clients

    # The id is what operators copy: never wrapped, whatever the terminal's width.
    table = Table(
        Column("client_id", no_wrap=True, min_width=24), "name", "type", "redirect URIs", "scopes", "created"
    )
    for c in run(list_clients):
        kind = "public" if c.secret_hash is None else "confidential"
        table.add_row(c.client_id, c.name, kind, "\n".join(c.redirect_uris), c.scopes, _when(c.created_at))
    out.print(table)


@clients_app.command("rotate-secret")
def clients_rotate_secret(client_id: str) -> None:
    """Give an app a new secret and stop the old one at once; prints the new credentials as JSON."""
    from trainerday_server.oauth2.service import rotate_secret

    secret_key = get_settings().resolved_secret_key
    secret = run(lambda s: rotate_secret(s, secret_key, client_id))
    err.print("The old secret no longer works. Store the new one now: it cannot be shown again.")
    print(json.dumps(_credentials(client_id, secret)))


@clients_app.command("delete")
def clients_delete(client_id: str) -> None:
    """Delete an app: every token it holds stops working at once."""
    from trainerday_server.oauth2.service import delete_client

    run(lambda s: delete_client(s, client_id))
    err.print(f"app {client_id} deleted; all its tokens are revoked")


@clients_app.command("applications")
def clients_applications(
    all_: Annotated[bool, typer.Option("--all", help="Also those already approved or rejected.")] = False,
) -> None:
    """List athletes' applications for an app (made on /developer/apps): pending ones unless --all."""
    from trainerday_server.models import Athlete
    from trainerday_server.oauth2.applications import PENDING, list_all

    def listing(session: Session) -> list[tuple[Any, str]]:
        found = list_all(session, None if all_ else PENDING)
        ids = {a.athlete_id for a in found}
        found_emails = session.execute(sa.select(Athlete.id, Athlete.email).where(Athlete.id.in_(ids)))
        emails = {row.id: row.email for row in found_emails}
        return [(a, emails.get(a.athlete_id, "?")) for a in found]

    rows = run(listing)
    if not rows:
        err.print("no applications" if all_ else "no pending applications")
        return
    # One block each, never a table: descriptions and redirect URIs are long, and must be read whole.
    for a, email in rows:
        status = a.status + (f" ({a.reason})" if a.reason else "")
        out.print(
            f"#{a.id}  {a.name}  [{status}]  by {email}, applied {_when(a.created_at)}\n"
            f"    website:       {a.website}\n"
            f"    client type:   {'public' if a.public else 'confidential'}\n"
            f"    scopes:        {a.scopes}\n"
            f"    redirect URIs: {' '.join(a.redirect_uris)}\n"
            f"    description:   {a.description}\n",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    if not all_:
        err.print("approve: trainerday-server clients approve ID; reject: clients reject ID --reason TEXT")


@clients_app.command("approve")
def clients_approve(application_id: int) -> None:
    """Approve an application: creates its app; the applicant sees the client_id on /developer/apps (and
    creates the client secret there, shown to them once). Prints the client_id."""
    from trainerday_server.models.base import utcnow
    from trainerday_server.oauth2.applications import approve

    secret_key = get_settings().resolved_secret_key

    def decide(session: Session) -> str:
        decision = approve(session, secret_key, application_id, utcnow())
        assert decision.client is not None
        return decision.client.client_id

    client_id = run(decide)
    err.print(f"application {application_id} approved: the applicant finds the client_id on /developer/apps")
    print(client_id)


@clients_app.command("reject")
def clients_reject(
    application_id: int,
    reason: Annotated[str, typer.Option(help="Why: the applicant reads it on /developer/apps.")],
) -> None:
    """Reject a pending application, with a reason."""
    from trainerday_server.models.base import utcnow
    from trainerday_server.oauth2.applications import reject

    run(lambda s: reject(s, application_id, reason, utcnow()))
    err.print(f"application {application_id} rejected")


def _credentials(client_id: str, secret: str | None) -> dict[str, str]:
    return {"client_id": client_id} if secret is None else {"client_id": client_id, "client_secret": secret}


@app.command()
def demo() -> None:
    """Create the demo athlete and print an API key for it, the first time only."""
    import secrets

    from trainerday_server.accounts.service import create_athlete, find_by_email
    from trainerday_server.api_keys.service import create_key
    from trainerday_server.auth.scopes import ALL_SCOPES

    secret = get_settings().resolved_secret_key
    password = secrets.token_urlsafe(12)

    def ensure(session: Session) -> str | None:
        if find_by_email(session, DEMO_EMAIL) is not None:
            return None
        athlete = create_athlete(session, DEMO_EMAIL, password, name="Demo Athlete", ftp=250)
        return create_key(session, secret, athlete.id, name="demo", scopes=ALL_SCOPES).plaintext

    key = run(ensure)
    if key is None:
        err.print(
            f"Demo athlete {DEMO_EMAIL} exists. For a new key: trainerday-server keys create {DEMO_EMAIL}",
            highlight=False,
            soft_wrap=True,
        )
        return
    err.print(
        f"\nDemo athlete: {DEMO_EMAIL}  password: {password}\nAPI key (shown once):\n\n  {key}\n\n"
        f'Try: curl -H "Authorization: Bearer {key}" http://127.0.0.1:8000/api/v1/athlete\n',
        highlight=False,
        soft_wrap=True,  # never break the key or the command across lines: they are meant to be copied
    )


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def main() -> None:
    try:
        app()
    except SecretKeyError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
