"""``trainerday-server clients ...`` as an operator runs it, against the database a real server is using."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.conftest import Factory, LiveServer
from tests.oauth2.flow import Authorization, RegisteredApp, introspect, log_in, register_app, works
from tests.test_cli import cli


def create(env: dict[str, str], *args: str) -> dict[str, str]:
    result = cli(env, "clients", "create", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # JSON alone on standard output


def test_create_prints_the_credentials_as_json_and_list_never_shows_the_secret(live_server: LiveServer, db):
    env = live_server.env
    made = create(
        env,
        "--name", "Zwift Sync",
        "--redirect-uri", "https://zwift.example/cb",
        "--redirect-uri", "http://127.0.0.1:8765/cb",
        "--scopes", "calendar:read workout:read",
    )  # fmt: skip
    assert set(made) == {"client_id", "client_secret"}
    assert re.fullmatch(r"tds_[A-Za-z0-9_-]{43}", made["client_secret"])
    public = create(env, "--name", "Phone App", "--redirect-uri", "com.example.app:/cb", "--public")
    assert set(public) == {"client_id"}
    narrow = cli({**env, "COLUMNS": "60"}, "clients", "list").stdout
    assert made["client_id"] in narrow and public["client_id"] in narrow  # never wrapped

    listed = cli({**env, "COLUMNS": "250"}, "clients", "list")
    assert listed.returncode == 0
    text = re.sub(r"\s+", " ", listed.stdout)
    for expected in (made["client_id"], "Zwift Sync", "confidential", public["client_id"], "public"):
        assert expected in text
    assert "https://zwift.example/cb" in listed.stdout and "calendar:read workout:read" in text
    assert made["client_secret"] not in listed.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "X", "--redirect-uri", "http://app.example/cb"], "https"),
        (["--name", "X", "--redirect-uri", "https://app.example/cb#frag"], "fragment"),
        (["--name", "X", "--redirect-uri", "not a uri"], "not a valid URI"),
        (
            ["--name", "X", "--redirect-uri", "https://app.example/cb", "--scopes", "everything"],
            "unknown scope",
        ),
        (["--name", " ", "--redirect-uri", "https://app.example/cb"], "name"),
    ],
)
def test_bad_registrations_are_clear_errors(live_server: LiveServer, args, message):
    result = cli(live_server.env, "clients", "create", *args)
    assert result.returncode == 1 and message in result.stderr and result.stdout == ""


def test_redirect_uri_is_required(live_server: LiveServer):
    result = cli(live_server.env, "clients", "create", "--name", "X")
    assert result.returncode == 2 and "--redirect-uri" in result.stderr


def _connected_app(live_server: LiveServer, factory: Factory, credentials: dict[str, str]):
    athlete = factory.athlete()
    app = RegisteredApp(credentials["client_id"], credentials.get("client_secret"), "https://app.example/cb")
    with httpx.Client(base_url=live_server.base_url, follow_redirects=False) as browser:
        log_in(browser, athlete.email)
        return app, Authorization(browser, app).tokens()


def test_rotate_secret_replaces_the_secret_at_once(live_server: LiveServer, factory: Factory):
    env = live_server.env
    made = create(env, "--name", "App", "--redirect-uri", "https://app.example/cb")
    app, tokens = _connected_app(live_server, factory, made)

    rotated = cli(env, "clients", "rotate-secret", made["client_id"])
    assert rotated.returncode == 0, rotated.stderr
    new = json.loads(rotated.stdout)
    assert new["client_id"] == made["client_id"] and new["client_secret"] != made["client_secret"]
    with httpx.Client(base_url=live_server.base_url) as client:
        assert introspect(client, app, tokens["access_token"]).status_code == 401  # the old secret
        renewed = RegisteredApp(app.client_id, new["client_secret"], app.redirect_uri)
        assert introspect(client, renewed, tokens["access_token"]).json()["active"] is True
        assert works(client, tokens["access_token"])  # tokens already issued are untouched


def test_public_clients_have_no_secret_to_rotate(live_server: LiveServer):
    made = create(live_server.env, "--name", "App", "--redirect-uri", "https://app.example/cb", "--public")
    result = cli(live_server.env, "clients", "rotate-secret", made["client_id"])
    assert result.returncode == 1 and "public" in result.stderr


def test_delete_revokes_every_token_of_the_app_on_a_running_server(live_server: LiveServer, factory: Factory):
    env = live_server.env
    made = create(env, "--name", "App", "--redirect-uri", "https://app.example/cb")
    _, tokens = _connected_app(live_server, factory, made)
    with httpx.Client(base_url=live_server.base_url) as client:
        assert works(client, tokens["access_token"])
        deleted = cli(env, "clients", "delete", made["client_id"])
        assert deleted.returncode == 0, deleted.stderr
        assert not works(client, tokens["access_token"])
    assert made["client_id"] not in cli(env, "clients", "list").stdout


def test_client_ids_are_letters_and_digits(db):
    """An id may never start with "-": the CLI would read it as an option (`clients delete -x...`)."""
    ids = [register_app(db.engine).client_id for _ in range(100)]
    assert all(re.fullmatch(r"[A-Za-z0-9]{24}", client_id) for client_id in ids), ids
    assert len(set(ids)) == 100


@pytest.mark.parametrize("command", ["delete", "rotate-secret"])
def test_unknown_client_id_is_an_error(live_server: LiveServer, command):
    result = cli(live_server.env, "clients", command, "no-such-client")
    assert result.returncode == 1 and "no OAuth client" in result.stderr
