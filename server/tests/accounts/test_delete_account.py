"""accounts.service.delete_account: every row of the athlete, the tokens, the apps they own, and their stored
files - and, when the transaction does not commit, nothing at all."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.conftest import Caller, Database, bearer
from tests.oauth2.flow import Authorization, RegisteredApp, log_in
from trainerday_server.accounts.service import delete_account
from trainerday_server.activities.storage import LocalFileStorage
from trainerday_server.config import Settings
from trainerday_server.db import make_session_factory, session_scope
from trainerday_server.errors import NotFound
from trainerday_server.models import Athlete, Base, OAuthClient
from trainerday_server.models.base import utcnow
from trainerday_server.oauth2 import applications

RIDE = "fit/20130717_143733.fit"


def stored_files(settings: Settings) -> list[str]:
    root = settings.data_dir / "files"
    return sorted(str(p) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def rows_of(db: Database, athlete_id: int) -> dict[str, int]:
    """How many rows of each table with an ``athlete_id`` column belong to the athlete."""
    counts = {}
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if "athlete_id" in table.c:
                counts[table.name] = conn.scalar(
                    sa.select(sa.func.count()).select_from(table).where(table.c.athlete_id == athlete_id)
                )
    return counts


@pytest.fixture
def rich_athlete(
    client: TestClient, factory, db: Database, samples, settings: Settings
) -> tuple[Caller, str]:
    """An athlete with a ride (and its file), a planned note, a library workout, an app they own and
    connected, a web session: something in most tables. Returns them and the app's access token."""
    athlete = factory.athlete()
    caller = Caller(athlete, factory.key(athlete.id))
    data = (samples / RIDE).read_bytes()
    assert (
        client.post(
            "/api/v1/activities/upload", headers=caller.headers, files={"file": ("r.fit", data)}
        ).status_code
        == 201
    )
    note = {"calendarDate": "2026-12-07", "type": "note", "title": "Rest"}
    assert client.post("/api/v1/calendar/events", headers=caller.headers, json=note).status_code == 201
    workout = {"title": "Z2", "segments": [[60, 65, 65]]}
    assert client.post("/api/v1/workouts", headers=caller.headers, json=workout).status_code == 201
    with session_scope(make_session_factory(db.engine, writer=True)) as session:
        draft = applications.ApplicationDraft(
            "Own App",
            "https://own.example",
            "mine",
            ["https://own.example/cb"],
            frozenset({"athlete:read"}),
            False,
        )
        decision = applications.apply(
            session, settings.resolved_secret_key, athlete.id, draft, auto_approve=True, now=utcnow()
        )
        app = RegisteredApp(decision.client.client_id, decision.secret, "https://own.example/cb")
    with TestClient(client.app, base_url="https://testserver", follow_redirects=False) as browser:
        log_in(browser, athlete.email)
        token = Authorization(browser, app).tokens(scope="athlete:read")["access_token"]
    return caller, token


def test_deleting_removes_rows_files_tokens_and_owned_apps(
    client: TestClient, rich_athlete, factory, db, settings
):
    caller, app_token = rich_athlete
    other = factory.athlete()
    other_key = factory.key(other.id)
    before = rows_of(db, caller.athlete.id)
    assert before["activities"] == 1 and before["oauth_tokens"] == 1 and before["web_sessions"] >= 1
    assert len(stored_files(settings)) == 1

    with session_scope(make_session_factory(db.engine, writer=True)) as session:
        delete_account(session, client.app.state.file_storage, caller.athlete.id)
        assert len(stored_files(settings)) == 1  # not before the commit

    assert set(rows_of(db, caller.athlete.id).values()) == {0}
    assert stored_files(settings) == []
    with db.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(OAuthClient)) == 0
        assert conn.scalar(sa.select(sa.func.count()).select_from(Athlete)) == 1
    assert client.get("/api/v1/athlete", headers=caller.headers).status_code == 401
    assert client.get("/api/v1/athlete", headers=bearer(app_token)).status_code == 401
    assert client.get("/api/v1/athlete", headers=bearer(other_key)).status_code == 200


def test_a_deletion_rolled_back_keeps_rows_and_files(client: TestClient, rich_athlete, db, settings):
    caller, _ = rich_athlete
    before = rows_of(db, caller.athlete.id)
    with pytest.raises(RuntimeError), session_scope(make_session_factory(db.engine, writer=True)) as session:
        delete_account(session, client.app.state.file_storage, caller.athlete.id)
        raise RuntimeError("the request failed after the deletion")
    assert rows_of(db, caller.athlete.id) == before
    assert len(stored_files(settings)) == 1
    assert client.get("/api/v1/athlete", headers=caller.headers).status_code == 200


def test_deleting_an_unknown_athlete_is_not_found(db, tmp_path):
    with pytest.raises(NotFound), session_scope(make_session_factory(db.engine, writer=True)) as session:
        delete_account(session, LocalFileStorage(tmp_path), 999_999)
