"""``trainerday-server clients applications|approve|reject`` as an operator runs them, on a real database."""

from __future__ import annotations

import sqlalchemy as sa

from tests.conftest import Database, server_env
from tests.test_cli import cli
from trainerday_server.config import Settings
from trainerday_server.db import make_session_factory, session_scope
from trainerday_server.models import OAuthApplication, OAuthClient
from trainerday_server.models.base import utcnow
from trainerday_server.oauth2 import applications


def application(db: Database, settings: Settings, athlete_id: int, name: str) -> int:
    draft = applications.ApplicationDraft(
        name, "https://a.example", "Does things", ["https://a.example/cb"], frozenset({"athlete:read"}), True
    )
    with session_scope(make_session_factory(db.engine, writer=True)) as session:
        made = applications.apply(
            session, settings.resolved_secret_key, athlete_id, draft, auto_approve=False, now=utcnow()
        )
        return made.application.id


def test_an_operator_lists_approves_and_rejects_applications(
    db: Database, settings: Settings, factory, tmp_path
):
    athlete = factory.athlete("dev@example.com")
    first = application(db, settings, athlete.id, "First App")
    second = application(db, settings, athlete.id, "Second App")
    env = server_env(db.url, tmp_path, "http://127.0.0.1:1")

    listed = cli(env, "clients", "applications")
    assert listed.returncode == 0, listed.stderr
    assert (
        "First App" in listed.stdout and "Second App" in listed.stdout and "dev@example.com" in listed.stdout
    )

    approved = cli(env, "clients", "approve", str(first))
    assert approved.returncode == 0, approved.stderr
    with db.engine.connect() as conn:
        client_id = conn.scalar(sa.select(OAuthClient.client_id))
    assert approved.stdout.strip() == client_id

    rejected = cli(env, "clients", "reject", str(second), "--reason", "Not a real website")
    assert rejected.returncode == 0, rejected.stderr
    again = cli(env, "clients", "approve", str(second))
    assert again.returncode == 1 and "already rejected" in again.stderr
    missing = cli(env, "clients", "reject", "999", "--reason", "x")
    assert missing.returncode == 1 and "no application with id 999" in missing.stderr

    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(OAuthApplication.status, OAuthApplication.reason).order_by(OAuthApplication.id)
        )
        assert rows.all() == [("approved", None), ("rejected", "Not a real website")]
    assert "no pending applications" in cli(env, "clients", "applications").stderr
    assert "Second App" in cli(env, "clients", "applications", "--all").stdout
