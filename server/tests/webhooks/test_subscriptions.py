"""POST/GET/DELETE /api/v1/webhooks/subscriptions: who may subscribe, the challenge, and the shapes."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from starlette.testclient import TestClient

from tests.conftest import Caller, Factory, bearer
from tests.oauth2.flow import RegisteredApp, register_app
from tests.webhooks.conftest import SUBSCRIPTIONS, connect, subscribe_app
from tests.webhooks.receiver import Receiver
from trainerday_server.models import Athlete
from trainerday_server.webhooks.outbox import EVENT_TYPES


def test_an_app_subscribes_after_its_callback_echoes_the_challenge(
    client: TestClient, confidential: RegisteredApp, receiver: Receiver
):
    response = client.post(
        SUBSCRIPTIONS,
        json={"callbackUrl": receiver.url, "events": ["activity.created"]},
        auth=confidential.basic,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"{SUBSCRIPTIONS}/{body['id']}"
    assert set(body) == {"id", "callbackUrl", "events", "secret", "createdAt"}
    assert body["callbackUrl"] == receiver.url
    assert body["events"] == ["activity.created"]
    assert body["secret"].startswith("whsec_") and len(base64.b64decode(body["secret"][6:])) == 24
    assert abs(dt.datetime.fromisoformat(body["createdAt"]) - dt.datetime.now(dt.UTC)) < dt.timedelta(
        minutes=1
    )
    assert len(receiver.challenges) == 1 and len(receiver.challenges[0]) >= 20

    listed = client.get(SUBSCRIPTIONS, auth=confidential.basic).json()["data"]
    assert [s["id"] for s in listed] == [body["id"]]
    assert "secret" not in listed[0] and listed[0]["disabledAt"] is None
    assert client.get(f"{SUBSCRIPTIONS}/{body['id']}", auth=confidential.basic).json()["events"] == [
        "activity.created"
    ]


def test_omitting_events_subscribes_to_all(
    client: TestClient, confidential: RegisteredApp, receiver: Receiver
):
    assert subscribe_app(client, confidential, receiver.url)["events"] == list(EVENT_TYPES)


def test_a_callback_that_does_not_echo_is_refused_saying_what_came_back(
    client: TestClient, confidential: RegisteredApp, receiver: Receiver
):
    receiver.echo_challenge = False
    response = client.post(SUBSCRIPTIONS, json={"callbackUrl": receiver.url}, auth=confidential.basic)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["field"] == "callbackUrl"
    assert "HTTP 200" in problem["detail"] and "not the challenge" in problem["detail"]
    assert client.get(SUBSCRIPTIONS, auth=confidential.basic).json() == {"data": []}


def test_a_callback_nobody_answers_is_refused(
    client: TestClient, confidential: RegisteredApp, receiver: Receiver
):
    receiver.down()
    response = client.post(SUBSCRIPTIONS, json={"callbackUrl": receiver.url}, auth=confidential.basic)
    assert response.status_code == 400
    assert "challenge request failed" in response.json()["detail"]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://192.168.1.10/hook", "private"),
        ("https://10.0.0.1/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://0.0.0.0/hook", "not a unicast"),
        ("ftp://example.com/hook", "https"),
        ("https://user:pw@example.com/hook", "credentials"),
        ("https://example.com/hook#frag", "fragment"),
        ("https://" + "a" * 2000 + ".com/", "2000"),
        ("https://exa mple.com/", "valid URL"),
    ],
)
def test_unsafe_callbacks_are_refused_before_any_request(
    client: TestClient, confidential: RegisteredApp, url: str, why: str
):
    response = client.post(SUBSCRIPTIONS, json={"callbackUrl": url}, auth=confidential.basic)
    assert response.status_code == 400
    assert why in response.json()["detail"]


def test_unknown_event_types_are_named(client: TestClient, confidential: RegisteredApp, receiver: Receiver):
    response = client.post(
        SUBSCRIPTIONS,
        json={"callbackUrl": receiver.url, "events": ["activity.created", "ride.exploded"]},
        auth=confidential.basic,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "events[1]"
    assert receiver.challenges == []


def test_one_subscription_per_app(client: TestClient, confidential: RegisteredApp, receiver: Receiver):
    first = subscribe_app(client, confidential, receiver.url)
    again = client.post(SUBSCRIPTIONS, json={"callbackUrl": receiver.url}, auth=confidential.basic)
    assert again.status_code == 409
    assert again.json()["existingSubscriptionId"] == first["id"]


@pytest.mark.parametrize(
    "auth",
    [
        None,
        "Basic " + base64.b64encode(b"nobody:nothing").decode(),
        "Basic !!!",
        "Digest abc",
    ],
)
def test_wrong_or_missing_credentials_answer_401_offering_both_schemes(client: TestClient, auth: str | None):
    headers = {"Authorization": auth} if auth else {}
    response = client.get(SUBSCRIPTIONS, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert (
        "Basic" in response.headers["www-authenticate"] and "Bearer" in response.headers["www-authenticate"]
    )


def test_a_wrong_client_secret_is_refused(client: TestClient, confidential: RegisteredApp):
    response = client.get(SUBSCRIPTIONS, auth=(confidential.client_id, confidential.secret + "x"))
    assert response.status_code == 401


def test_a_public_client_cannot_subscribe(client: TestClient, public: RegisteredApp):
    response = client.get(SUBSCRIPTIONS, auth=(public.client_id, "anything"))
    assert response.status_code == 401


def test_an_athlete_subscribes_with_a_personal_key(
    client: TestClient, factory: Factory, athlete: Athlete, receiver: Receiver
):
    key = factory.key(athlete.id, "activities:read calendar:read")
    response = client.post(
        SUBSCRIPTIONS, json={"callbackUrl": receiver.url, "events": ["activity.created"]}, headers=bearer(key)
    )
    assert response.status_code == 201, response.text
    # Every type, for an athlete, is every type but connection.revoked (sent to apps only).
    everything = client.post(
        SUBSCRIPTIONS, json={"callbackUrl": receiver.url}, headers=bearer(factory.key(factory.athlete().id))
    )
    assert everything.json()["events"] == [t for t in EVENT_TYPES if t != "connection.revoked"]
    # An event type the key cannot read is refused, naming the scope it needs.
    narrow = factory.key(athlete.id, "calendar:read")
    other = factory.athlete()
    refused = client.post(
        SUBSCRIPTIONS,
        json={"callbackUrl": receiver.url, "events": ["workout.created"]},
        headers=bearer(factory.key(other.id, "calendar:read")),
    )
    assert refused.status_code == 400 and "workout:read" in refused.json()["detail"]
    assert client.get(SUBSCRIPTIONS, headers=bearer(narrow)).json()["data"][0]["id"] == response.json()["id"]


def test_an_access_token_cannot_manage_webhooks(
    logged_in: TestClient, confidential: RegisteredApp, receiver: Receiver
):
    connected = connect(logged_in, confidential, "athlete:read")
    response = logged_in.post(SUBSCRIPTIONS, json={"callbackUrl": receiver.url}, headers=connected.headers)
    assert response.status_code == 403
    assert "HTTP Basic" in response.json()["detail"]


def test_another_owners_subscription_is_not_found(
    client: TestClient, confidential: RegisteredApp, receiver: Receiver, db, me: Caller
):
    mine = subscribe_app(client, confidential, receiver.url)
    other = register_app(db.engine, name="Other App")
    for method in ("GET", "DELETE"):
        assert client.request(method, f"{SUBSCRIPTIONS}/{mine['id']}", auth=other.basic).status_code == 404
        assert client.request(method, f"{SUBSCRIPTIONS}/{mine['id']}", headers=me.headers).status_code == 404
    assert client.post(f"{SUBSCRIPTIONS}/{mine['id']}/rotate-secret", auth=other.basic).status_code == 404
    assert client.get(f"{SUBSCRIPTIONS}/{mine['id']}", auth=confidential.basic).status_code == 200


def test_delete_then_subscribe_again(client: TestClient, confidential: RegisteredApp, receiver: Receiver):
    first = subscribe_app(client, confidential, receiver.url)
    assert client.delete(f"{SUBSCRIPTIONS}/{first['id']}", auth=confidential.basic).status_code == 204
    assert client.get(SUBSCRIPTIONS, auth=confidential.basic).json() == {"data": []}
    second = subscribe_app(client, confidential, receiver.url)
    assert second["id"] != first["id"] and second["secret"] != first["secret"]


def test_rotating_gives_a_new_secret(client: TestClient, confidential: RegisteredApp, receiver: Receiver):
    first = subscribe_app(client, confidential, receiver.url)
    rotated = client.post(f"{SUBSCRIPTIONS}/{first['id']}/rotate-secret", auth=confidential.basic)
    assert rotated.status_code == 200
    assert rotated.json()["id"] == first["id"]
    assert rotated.json()["secret"].startswith("whsec_") and rotated.json()["secret"] != first["secret"]


def test_concurrent_subscriptions_of_one_app_make_one(
    client: TestClient, confidential: RegisteredApp, receiver: Receiver
):
    from tests.oauth2.flow import race

    answers = race(
        4, lambda: client.post(SUBSCRIPTIONS, json={"callbackUrl": receiver.url}, auth=confidential.basic)
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    assert len(client.get(SUBSCRIPTIONS, auth=confidential.basic).json()["data"]) == 1


def test_an_absurd_event_name_is_not_echoed_whole(
    client: TestClient, confidential: RegisteredApp, receiver: Receiver
):
    response = client.post(
        SUBSCRIPTIONS, json={"callbackUrl": receiver.url, "events": ["x" * 500_000]}, auth=confidential.basic
    )
    assert response.status_code == 400 and len(response.content) < 2000
    too_many = client.post(
        SUBSCRIPTIONS,
        json={"callbackUrl": receiver.url, "events": ["activity.created"] * 51},
        auth=confidential.basic,
    )
    assert too_many.status_code == 400 and too_many.json()["errors"][0]["field"] == "events"
