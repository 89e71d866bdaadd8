"""/developer/apps: applying for an OAuth client, the operator's decision, then managing the client."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.conftest import Database, bearer
from tests.oauth2.flow import Authorization, RegisteredApp
from tests.web.pages import logged_in, messages, submit
from trainerday_server.app import create_app
from trainerday_server.config import Settings
from trainerday_server.db import make_session_factory, session_scope
from trainerday_server.errors import Conflict
from trainerday_server.models import OAuthApplication, OAuthClient
from trainerday_server.models.base import utcnow
from trainerday_server.oauth2 import applications

REDIRECT = "https://zone.example/callback"
APPLICATION = {
    "name": "Zone Coach",
    "website": "https://zone.example",
    "description": "Plans your week.",
    "redirect_uris": REDIRECT + "\n\n",
    "scopes": ["athlete:read", "calendar:read"],
    "client_type": "confidential",
}
_SECRET = re.compile(r'id="revealed-secret" type="text" readonly value="([^"]+)"')


def apply(browser: TestClient, **fields):
    return submit(browser, "/developer/apps", "/developer/apps", {**APPLICATION, **fields})


def decide(db: Database, action, *args):
    with session_scope(make_session_factory(db.engine, writer=True)) as session:
        return action(session, *args)


def test_an_application_waits_then_approval_gives_a_client_whose_secret_is_shown_once(
    browser: TestClient, factory, db
):
    athlete = factory.athlete()
    logged_in(browser, athlete.email)
    applied = apply(browser)
    assert applied.status_code == 200 and "an administrator will review it" in " ".join(
        messages(applied.text)
    )
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(OAuthApplication)).one()
        assert conn.scalar(sa.select(sa.func.count()).select_from(OAuthClient)) == 0
    assert (
        row.status == "pending"
        and row.redirect_uris == [REDIRECT]
        and row.scopes == "athlete:read calendar:read"
    )

    client_id = decide(db, lambda s: applications.approve(s, b"x" * 40, row.id, utcnow()).client.client_id)
    page = browser.get("/developer/apps").text
    assert client_id in page and "approved" in page
    revealed = submit(browser, "/developer/apps", f"/developer/apps/{row.id}/secret")
    secret = _SECRET.search(revealed.text).group(1)
    assert secret not in browser.get("/developer/apps").text

    # The app works with those credentials: the athlete (here, the applicant) connects it.
    tokens = Authorization(browser, RegisteredApp(client_id, secret, REDIRECT)).tokens(scope="athlete:read")
    assert (
        TestClient(browser.app).get("/api/v1/athlete", headers=bearer(tokens["access_token"])).status_code
        == 200
    )


def test_a_rejected_application_shows_the_reason_and_cannot_be_approved_after(
    browser: TestClient, factory, db
):
    logged_in(browser, factory.athlete().email)
    apply(browser)
    with db.engine.connect() as conn:
        app_id = conn.scalar(sa.select(OAuthApplication.id))
    decide(db, applications.reject, app_id, "Website does not load", utcnow())
    assert "Rejected: Website does not load" in browser.get("/developer/apps").text
    with pytest.raises(Conflict, match="already rejected"):
        decide(db, applications.approve, b"x" * 40, app_id, utcnow())


def test_auto_approval_shows_the_credentials_at_once(settings: Settings, db: Database, factory):
    auto = settings.model_copy(update={"app_approval": "auto"})
    with TestClient(
        create_app(auto, engine=db.engine), base_url="https://testserver", follow_redirects=False
    ) as browser:
        logged_in(browser, factory.athlete().email)
        applied = apply(browser)
        assert applied.status_code == 200 and _SECRET.search(applied.text)
        public = apply(browser, client_type="public", name="Phone App")
        assert _SECRET.search(public.text) is None and "revealed-client-id" in public.text
    with db.engine.connect() as conn:
        clients = conn.execute(
            sa.select(OAuthClient.name, OAuthClient.secret_hash).order_by(OAuthClient.id)
        ).all()
    assert [(name, secret is None) for name, secret in clients] == [
        ("Zone Coach", False),
        ("Phone App", True),
    ]


def test_bad_applications_are_refused_with_the_reason(browser: TestClient, factory, db):
    logged_in(browser, factory.athlete().email)
    for fields, error in [
        ({"redirect_uris": "http://evil.example/cb"}, "must be https://"),
        ({"redirect_uris": " \n "}, "at least one redirect URI"),
        ({"redirect_uris": "\n".join(f"https://a.example/{i}" for i in range(11))}, "at most 10"),
        ({"website": "javascript:alert(1)"}, "http:// or https://"),
        ({"scopes": []}, "at least one scope"),
        ({"name": ""}, "1 to 100"),
        ({"description": "d" * 2001}, "at most 2000"),
    ]:
        response = apply(browser, **fields)
        assert response.status_code == 400, fields
        assert any(error in m for m in messages(response.text)), (fields, messages(response.text))
    with db.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(OAuthApplication)) == 0


def test_the_applicant_edits_redirect_uris_and_no_one_else_can(browser: TestClient, factory, db, settings):
    owner, other = factory.athlete(), factory.athlete()
    logged_in(browser, owner.email)
    apply(browser)
    with db.engine.connect() as conn:
        app_id = conn.scalar(sa.select(OAuthApplication.id))
    decide(db, applications.approve, b"x" * 40, app_id, utcnow())
    saved = submit(
        browser,
        "/developer/apps",
        f"/developer/apps/{app_id}/redirect-uris",
        {"redirect_uris": "https://new.example/cb"},
    )
    assert saved.status_code == 303
    with db.engine.connect() as conn:
        assert conn.scalar(sa.select(OAuthClient.redirect_uris)) == ["https://new.example/cb"]
    with TestClient(browser.app, base_url="https://testserver", follow_redirects=False) as stranger:
        logged_in(stranger, other.email)
        assert (
            submit(
                stranger,
                "/developer/apps",
                f"/developer/apps/{app_id}/redirect-uris",
                {"redirect_uris": "https://evil.example/cb"},
            ).status_code
            == 404
        )
        assert submit(stranger, "/developer/apps", f"/developer/apps/{app_id}/secret").status_code == 404
        assert "Zone Coach" not in stranger.get("/developer/apps").text
    with db.engine.connect() as conn:
        assert conn.scalar(sa.select(OAuthClient.redirect_uris)) == ["https://new.example/cb"]
