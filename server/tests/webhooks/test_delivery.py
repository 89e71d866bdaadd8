"""Events reach the receiver: signed, filtered by scope, in order, retried, dead, redelivered.

The worker is driven round by round (``run_once``) on a clock the test moves, so retry delays cost no
waiting; the receiver is a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.conftest import TEST_SECRET, Clock, Database, Factory, bearer
from tests.oauth2.flow import RegisteredApp
from tests.webhooks.conftest import (
    DELIVERIES,
    RETRY_DELAYS,
    SUBSCRIPTIONS,
    Subscribed,
    WorkerClock,
)
from tests.webhooks.receiver import Receiver
from trainerday_server.calendar.service import EventDraft, create_event
from trainerday_server.db import make_session_factory, session_scope
from trainerday_server.models import Athlete, WebhookDelivery, WebhookEvent
from trainerday_server.webhooks.worker import DeliveryWorker

RIDE = "fit/2020-06-01-16-52-40.fit"
EVENT = {"calendarDate": "2026-01-15", "embedWorkout": {"title": "Easy", "segments": [[10, 50, 50]]}}


def upload(client: TestClient, headers: dict[str, str], samples: Path) -> dict:
    response = client.post(
        "/api/v1/activities/upload",
        headers=headers,
        files={"file": ("ride.fit", (samples / RIDE).read_bytes())},
    )
    assert response.status_code == 201, response.text
    return response.json()


def plan(client: TestClient, headers: dict[str, str], title: str = "Easy") -> dict:
    body = {**EVENT, "embedWorkout": {**EVENT["embedWorkout"], "title": title}}
    response = client.post("/api/v1/calendar/events", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def count(db: Database, model: type) -> int:
    with db.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_an_app_is_told_of_a_ride_and_the_signature_verifies(
    logged_in: TestClient,
    confidential: RegisteredApp,
    receiver: Receiver,
    app_subscription: Callable[..., Subscribed],
    worker: DeliveryWorker,
    athlete: Athlete,
    samples: Path,
):
    subscription = app_subscription("activities:read activities:write")
    app = subscription.app
    secret = subscription.secret
    ride = upload(logged_in, app.headers, samples)

    assert worker.run_once() == 1
    [delivery] = receiver.wait_for(1)
    payload = delivery.verified(secret)  # the Standard Webhooks library, not our code, checks it
    assert payload["type"] == "activity.created"
    assert payload["id"].startswith("evt_") and delivery.headers["webhook-id"] == payload["id"]
    assert payload["athleteId"] == athlete.id
    occurred = dt.datetime.fromisoformat(payload["occurredAt"])
    assert abs(occurred - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    shown = logged_in.get(f"/api/v1/activities/{ride['id']}", headers=app.headers).json()
    assert payload["data"] == shown
    assert set(payload) == {"type", "id", "occurredAt", "athleteId", "data"}
    assert delivery.headers["content-type"] == "application/json"
    # Signed with this subscription's secret only: another secret does not verify.
    with pytest.raises(Exception, match="signature"):
        delivery.verified("whsec_" + "A" * 32)

    listed = logged_in.get(DELIVERIES, auth=confidential.basic).json()["data"]
    assert [(d["eventId"], d["status"], d["attempts"], d["lastResponseCode"]) for d in listed] == [
        (payload["id"], "delivered", 1, 204)
    ]
    assert worker.run_once() == 0  # nothing is sent twice


def test_an_app_gets_only_the_events_its_grant_can_read(
    logged_in: TestClient,
    receiver: Receiver,
    app_subscription: Callable[..., Subscribed],
    worker: DeliveryWorker,
    athlete: Athlete,
    samples: Path,
):
    subscription = app_subscription("calendar:read")
    mine = subscription.headers
    upload(logged_in, mine, samples)
    event = plan(logged_in, mine)
    logged_in.patch("/api/v1/athlete", headers=mine, json={"ftp": 280})
    logged_in.post("/api/v1/workouts", headers=mine, json={"title": "W", "segments": [[10, 88, 88]]})

    worker.run_once()
    assert receiver.types() == ["calendar_event.created"]
    assert receiver.deliveries[0].json["data"]["id"] == event["id"]


def test_events_a_subscription_did_not_ask_for_are_not_sent(
    logged_in: TestClient,
    receiver: Receiver,
    app_subscription: Callable[..., Subscribed],
    worker: DeliveryWorker,
    athlete: Athlete,
):
    subscription = app_subscription("calendar:read athlete:read", events=["athlete.updated"])
    mine = subscription.headers
    plan(logged_in, mine)
    logged_in.patch("/api/v1/athlete", headers=mine, json={"name": "Renamed"})  # not FTP or zones
    logged_in.patch("/api/v1/athlete", headers=mine, json={"ftp": 301})
    worker.run_once()
    assert receiver.types() == ["athlete.updated"]
    assert receiver.deliveries[0].json["data"]["ftp"] == 301


def test_disconnecting_sends_connection_revoked_and_nothing_after(
    logged_in: TestClient,
    confidential: RegisteredApp,
    receiver: Receiver,
    app_subscription: Callable[..., Subscribed],
    worker: DeliveryWorker,
    athlete: Athlete,
):
    subscription = app_subscription("calendar:read")
    mine = subscription.headers
    plan(logged_in, mine, "before")
    gone = logged_in.delete(f"/api/v1/athlete/connections/{confidential.client_id}", headers=mine)
    assert gone.status_code == 204
    plan(logged_in, mine, "after")
    worker.run_once()
    assert receiver.types() == ["calendar_event.created", "connection.revoked"]
    assert receiver.deliveries[0].json["data"]["title"] == "before"
    assert receiver.deliveries[1].json["data"] == {
        "clientId": confidential.client_id,
        "reason": "disconnected",
    }
    assert worker.run_once() == 0


def test_every_change_is_an_event_for_a_personal_subscription(
    client: TestClient,
    receiver: Receiver,
    worker: DeliveryWorker,
    own_subscription: Subscribed,
    samples: Path,
):
    headers = own_subscription.headers
    ride = upload(client, headers, samples)
    client.patch(f"/api/v1/activities/{ride['id']}", headers=headers, json={"name": "Renamed ride"})
    client.delete(f"/api/v1/activities/{ride['id']}", headers=headers)
    event = plan(client, headers)
    client.put(f"/api/v1/calendar/events/{event['id']}", headers=headers, json=EVENT)
    client.delete(f"/api/v1/calendar/events/{event['id']}", headers=headers)
    workout = client.post(
        "/api/v1/workouts", headers=headers, json={"title": "W", "segments": [[10, 88, 88]]}
    )
    assert workout.status_code == 201, workout.text
    wid = workout.json()["id"]
    client.put(f"/api/v1/workouts/{wid}", headers=headers, json={"title": "W2", "segments": [[5, 90, 90]]})
    client.delete(f"/api/v1/workouts/{wid}", headers=headers)
    client.patch("/api/v1/athlete", headers=headers, json={"lthr": 170})

    while worker.run_once():
        pass
    expected = [
        "activity.created",
        "activity.updated",
        "activity.deleted",
        "calendar_event.created",
        "calendar_event.updated",
        "calendar_event.deleted",
        "workout.created",
        "workout.updated",
        "workout.deleted",
        "athlete.updated",
    ]
    assert receiver.types() == expected
    payloads = [d.verified(own_subscription.secret) for d in receiver.deliveries]
    assert payloads[1]["data"]["name"] == "Renamed ride"
    assert payloads[2]["data"] == {"id": ride["id"]}
    assert payloads[7]["data"]["title"] == "W2"
    assert len({p["id"] for p in payloads}) == len(expected)


def test_retries_follow_the_schedule_and_the_event_arrives_once(
    logged_in: TestClient,
    confidential: RegisteredApp,
    receiver: Receiver,
    app_subscription: Callable[..., Subscribed],
    worker: DeliveryWorker,
    worker_clock: WorkerClock,
):
    subscription = app_subscription("calendar:read")
    receiver.down()  # refused connections for the first two attempts
    plan(logged_in, subscription.headers)

    assert worker.run_once() == 1
    [pending] = logged_in.get(DELIVERIES, auth=confidential.basic).json()["data"]
    assert pending["status"] == "pending" and pending["attempts"] == 1 and pending["lastResponseCode"] is None
    assert "ConnectError" in pending["lastError"]
    last = dt.datetime.fromisoformat(pending["lastAttemptAt"])
    retry_at = dt.datetime.fromisoformat(pending["nextAttemptAt"])
    assert abs((retry_at - last).total_seconds() - RETRY_DELAYS[0]) < 0.01
    assert worker.run_once() == 0  # not due yet

    worker_clock.advance(RETRY_DELAYS[0])
    assert worker.run_once() == 1
    receiver.up()
    receiver.failures_to_come = 1  # up, but answering 503 once
    worker_clock.advance(RETRY_DELAYS[1])
    assert worker.run_once() == 1
    [failed] = logged_in.get(DELIVERIES, auth=confidential.basic).json()["data"]
    assert (failed["attempts"], failed["lastResponseCode"], failed["status"]) == (3, 503, "pending")

    worker_clock.advance(RETRY_DELAYS[2])
    assert worker.run_once() == 1
    assert receiver.types() == ["calendar_event.created"]
    [done] = logged_in.get(DELIVERIES, auth=confidential.basic).json()["data"]
    assert (done["status"], done["attempts"], done["nextAttemptAt"]) == ("delivered", 4, None)


def test_deliveries_keep_their_order_behind_a_failure(
    logged_in: TestClient,
    receiver: Receiver,
    app_subscription: Callable[..., Subscribed],
    worker: DeliveryWorker,
    worker_clock: WorkerClock,
):
    subscription = app_subscription("calendar:read")
    mine = subscription.headers
    titles = [f"event {i}" for i in range(5)]
    for title in titles:
        plan(logged_in, mine, title)
    receiver.failures_to_come = 1
    assert worker.run_once() == 1  # the first fails; the four behind it wait for it
    assert receiver.deliveries == []
    worker_clock.advance(RETRY_DELAYS[0])
    assert worker.run_once() == 5
    assert [d.json["data"]["title"] for d in receiver.deliveries] == titles


def test_a_delivery_that_never_succeeds_dies_and_disables_the_subscription(
    logged_in: TestClient,
    confidential: RegisteredApp,
    receiver: Receiver,
    app_subscription: Callable[..., Subscribed],
    worker: DeliveryWorker,
    worker_clock: WorkerClock,
    db: Database,
):
    subscription = app_subscription("calendar:read")
    mine = subscription.headers
    plan(logged_in, mine)
    receiver.fail_status = 500
    receiver.failures_to_come = len(RETRY_DELAYS) + 1
    for delay in (0, *RETRY_DELAYS):
        worker_clock.advance(delay)
        assert worker.run_once() == 1
    [dead] = logged_in.get(DELIVERIES, auth=confidential.basic).json()["data"]
    assert (dead["status"], dead["attempts"], dead["lastResponseCode"]) == ("dead", 4, 500)
    shown = logged_in.get(f"{SUBSCRIPTIONS}/{subscription.id}", auth=confidential.basic).json()
    assert shown["disabledAt"] is not None and "HTTP 500" in shown["disabledReason"]

    # Disabled: changes are no longer queued for it.
    events_before = count(db, WebhookEvent)
    plan(logged_in, mine, "while disabled")
    assert count(db, WebhookEvent) == events_before

    # Turned back on (its callback answers the challenge again), and the dead event replayed by hand.
    enabled = logged_in.post(f"{SUBSCRIPTIONS}/{subscription.id}/enable", auth=confidential.basic)
    assert enabled.status_code == 200 and enabled.json()["disabledAt"] is None
    again = logged_in.post(f"{DELIVERIES}/{dead['id']}/redeliver", auth=confidential.basic)
    assert again.status_code == 202
    assert again.json()["status"] == "pending" and again.json()["eventId"] == dead["eventId"]
    assert worker.run_once() == 1
    [delivered] = receiver.deliveries
    assert delivered.headers["webhook-id"] == dead["eventId"]


def test_deliveries_are_listed_only_to_their_owner(
    logged_in: TestClient,
    confidential: RegisteredApp,
    app_subscription: Callable[..., Subscribed],
    worker: DeliveryWorker,
    db: Database,
):
    from tests.oauth2.flow import register_app

    subscription = app_subscription("calendar:read")
    plan(logged_in, subscription.headers)
    worker.run_once()
    [delivery] = logged_in.get(DELIVERIES, auth=confidential.basic).json()["data"]
    other = register_app(db.engine, name="Other")
    assert logged_in.get(DELIVERIES, auth=other.basic).json() == {"data": []}
    missing = logged_in.get(DELIVERIES, params={"subscriptionId": subscription.id}, auth=other.basic)
    assert missing.status_code == 404
    assert logged_in.post(f"{DELIVERIES}/{delivery['id']}/redeliver", auth=other.basic).status_code == 404
    filtered = logged_in.get(DELIVERIES, params={"subscriptionId": subscription.id}, auth=confidential.basic)
    assert [d["id"] for d in filtered.json()["data"]] == [delivery["id"]]


def test_an_event_is_written_with_its_change_or_not_at_all(
    logged_in: TestClient,
    receiver: Receiver,
    app_subscription: Callable[..., Subscribed],
    worker: DeliveryWorker,
    athlete: Athlete,
    db: Database,
):
    subscription = app_subscription("calendar:read")
    sessions = make_session_factory(db.engine, writer=True)
    draft = EventDraft(calendar_date=dt.date(2026, 1, 15), type="note", title="x", notes=None, workout=None)
    with pytest.raises(RuntimeError), session_scope(sessions) as session:
        create_event(session, athlete.id, draft)
        raise RuntimeError("the request failed after the change")
    assert count(db, WebhookEvent) == 0 and count(db, WebhookDelivery) == 0
    with session_scope(sessions) as session:
        create_event(session, athlete.id, draft)
    # The write inserts the event alone, naming who it is for; the worker writes the delivery.
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(WebhookEvent.fanout)).all() == [(str(subscription.id),)]
    assert count(db, WebhookDelivery) == 0
    assert worker.run_once() == 1
    assert count(db, WebhookDelivery) == 1 and len(receiver.deliveries) == 1
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(WebhookEvent.fanout)).all() == [(None,)]


def test_without_subscriptions_nothing_is_written(client: TestClient, me, db: Database):
    plan(client, me.headers)
    assert count(db, WebhookEvent) == 0


def test_a_wrong_server_secret_cannot_sign(
    logged_in: TestClient,
    confidential: RegisteredApp,
    receiver: Receiver,
    app_subscription: Callable[..., Subscribed],
    db,
):
    from trainerday_server.webhooks.urls import Policy
    from trainerday_server.webhooks.worker import WorkerConfig

    subscription = app_subscription("calendar:read")
    plan(logged_in, subscription.headers)
    config = WorkerConfig(retry_delays=RETRY_DELAYS, policy=Policy(allow_http=True))
    stranger = DeliveryWorker(db.engine, b"another-secret-" + TEST_SECRET.encode(), config)
    assert stranger.run_once() == 1
    assert receiver.deliveries == []
    [failed] = logged_in.get(DELIVERIES, auth=confidential.basic).json()["data"]
    assert "another server secret" in failed["lastError"]


def test_what_waits_behind_a_delivery_that_disabled_its_subscription_goes_out_once_enabled(
    client: TestClient,
    receiver: Receiver,
    worker: DeliveryWorker,
    worker_clock: WorkerClock,
    own_subscription: Subscribed,
):
    headers = own_subscription.headers
    plan(client, headers, "first")
    plan(client, headers, "second")
    receiver.failures_to_come = len(RETRY_DELAYS) + 1
    for delay in (0, *RETRY_DELAYS):
        worker_clock.advance(delay)
        assert worker.run_once() == 1  # only the first, attempt after attempt
    worker_clock.advance(60)
    assert worker.run_once() == 0  # disabled: the second waits
    statuses = [d["status"] for d in client.get(DELIVERIES, headers=headers).json()["data"]]
    assert statuses == ["pending", "dead"]
    assert client.post(f"{SUBSCRIPTIONS}/{own_subscription.id}/enable", headers=headers).status_code == 200
    assert worker.run_once() == 1
    assert [d.json["data"]["title"] for d in receiver.deliveries] == ["second"]


def test_finished_deliveries_are_forgotten_after_thirty_days_pending_ones_never(
    client: TestClient,
    receiver: Receiver,
    worker: DeliveryWorker,
    worker_clock: WorkerClock,
    own_subscription: Subscribed,
    db: Database,
):
    headers = own_subscription.headers
    plan(client, headers, "sent")
    assert worker.run_once() == 1
    receiver.down()
    plan(client, headers, "stuck")
    worker.run_once()
    worker_clock.advance(29 * 24 * 3600)
    assert worker.prune() == 0
    worker_clock.advance(2 * 24 * 3600)
    assert worker.prune() == 1
    [left] = client.get(DELIVERIES, headers=headers).json()["data"]
    assert left["status"] == "pending"
    assert count(db, WebhookEvent) == 1 and count(db, WebhookDelivery) == 1


def test_workers_side_by_side_send_each_delivery_once_and_in_order(
    client: TestClient, receiver: Receiver, factory: Factory, db: Database
):
    from trainerday_server.webhooks import outbox
    from trainerday_server.webhooks.urls import Policy
    from trainerday_server.webhooks.worker import WorkerConfig

    athletes = [factory.athlete() for _ in range(4)]
    for athlete in athletes:
        headers = bearer(factory.key(athlete.id))
        assert (
            client.post(SUBSCRIPTIONS, json={"callbackUrl": receiver.url}, headers=headers).status_code == 201
        )
    sessions = make_session_factory(db.engine, writer=True)
    per_athlete = 15
    for n in range(per_athlete):
        with session_scope(sessions) as session:
            for athlete in athletes:
                outbox.emit(session, athlete.id, "workout.created", {"id": n})
    config = WorkerConfig(
        retry_delays=RETRY_DELAYS, policy=Policy(allow_http=True), pairs_per_claim=2, batch_per_pair=4
    )
    workers = [DeliveryWorker(db.engine, TEST_SECRET.encode(), config) for _ in range(3)]

    def drain(worker: DeliveryWorker) -> None:
        idle = 0
        while idle < 3:
            idle = idle + 1 if worker.run_once() == 0 else 0

    import threading

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    received = receiver.wait_for(per_athlete * len(athletes))
    ids = [d.headers["webhook-id"] for d in received]
    assert len(ids) == len(set(ids)) == per_athlete * len(athletes)
    for athlete in athletes:
        mine = [d.json["data"]["id"] for d in received if d.json["athleteId"] == athlete.id]
        assert mine == list(range(per_athlete))


def test_connection_revoked_outlives_a_deleted_account(
    logged_in: TestClient,
    receiver: Receiver,
    app_subscription: Callable[..., Subscribed],
    worker: DeliveryWorker,
    athlete: Athlete,
    db: Database,
):
    """What account deletion (the web pages' ``delete_account``) is to do, first thing in its transaction."""
    from trainerday_server.webhooks import outbox

    app_subscription("athlete:read")
    with session_scope(make_session_factory(db.engine, writer=True)) as session:
        outbox.emit(session, athlete.id, "connection.revoked", {"reason": "account_deleted"})
        session.delete(session.get(Athlete, athlete.id))
    assert worker.run_once() == 1
    [revoked] = receiver.deliveries
    assert revoked.json["type"] == "connection.revoked" and revoked.json["athleteId"] == athlete.id
    assert revoked.json["data"] == {"reason": "account_deleted"}


def test_a_personal_subscription_follows_its_keys_scopes_and_ends_with_the_key(
    client: TestClient, receiver: Receiver, worker: DeliveryWorker, factory: Factory, db: Database
):
    from trainerday_server.api_keys.service import list_keys, revoke_key

    athlete = factory.athlete()
    narrow = bearer(factory.key(athlete.id, "calendar:read"))
    writer = bearer(factory.key(athlete.id))
    assert client.post(SUBSCRIPTIONS, json={"callbackUrl": receiver.url}, headers=narrow).status_code == 201
    plan(client, writer, "seen")
    client.post("/api/v1/workouts", headers=writer, json={"title": "unseen", "segments": [[10, 88, 88]]})
    worker.run_once()
    assert receiver.types() == ["calendar_event.created"]

    with session_scope(make_session_factory(db.engine, writer=True)) as session:
        subscribing_key = min(k.id for k in list_keys(session, athlete.id))
        revoke_key(session, subscribing_key)
    plan(client, writer, "after the key was revoked")
    assert worker.run_once() == 0
    assert receiver.types() == ["calendar_event.created"]


def test_after_a_rotation_the_replaced_secret_signs_too_until_the_overlap_ends(
    client: TestClient, receiver: Receiver, worker: DeliveryWorker, own_subscription: Subscribed, clock: Clock
):
    headers = own_subscription.headers
    rotate = f"{SUBSCRIPTIONS}/{own_subscription.id}/rotate-secret"
    old = own_subscription.secret
    rotated = client.post(rotate, headers=headers)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    until = dt.datetime.fromisoformat(rotated.json()["previousSecretExpiresAt"])
    assert abs(until - dt.datetime.now(dt.UTC) - dt.timedelta(hours=24)) < dt.timedelta(minutes=1)

    plan(client, headers, "inside the overlap")
    assert worker.run_once() == 1
    [inside] = receiver.wait_for(1)
    assert len(inside.headers["webhook-signature"].split(" ")) == 2
    # A receiver that has not deployed the new secret yet accepts it, and so does one that has.
    assert inside.verified(old)["data"]["title"] == "inside the overlap"
    assert inside.verified(new)["data"]["title"] == "inside the overlap"

    # Rotated again 25 hours ago (the app's clock moved back): the overlap of that rotation is over.
    clock.advance(hours=-25)
    newest = client.post(rotate, headers=headers).json()["secret"]
    plan(client, headers, "after the overlap")
    assert worker.run_once() == 1
    after = receiver.wait_for(2)[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert after.verified(newest)["data"]["title"] == "after the overlap"
    for replaced in (new, old):
        with pytest.raises(Exception, match="signature"):
            after.verified(replaced)


def test_a_rotation_without_overlap_stops_the_old_secret_at_once(
    client: TestClient, receiver: Receiver, worker: DeliveryWorker, own_subscription: Subscribed, app: FastAPI
):
    app.state.settings.webhooks_secret_overlap_hours = 0
    headers = own_subscription.headers
    rotated = client.post(f"{SUBSCRIPTIONS}/{own_subscription.id}/rotate-secret", headers=headers).json()
    assert rotated["previousSecretExpiresAt"] is None
    plan(client, headers)
    worker.run_once()
    [delivery] = receiver.wait_for(1)
    assert delivery.verified(rotated["secret"])["type"] == "calendar_event.created"
    with pytest.raises(Exception, match="signature"):
        delivery.verified(own_subscription.secret)


def test_moving_an_event_is_an_update(
    client: TestClient, receiver: Receiver, worker: DeliveryWorker, own_subscription: Subscribed, db: Database
):
    """Moving (the calendar page's drag, the MCP tool) changes the event like a PUT does."""
    from trainerday_server.calendar.service import move_event

    event = plan(client, own_subscription.headers)
    with session_scope(make_session_factory(db.engine, writer=True)) as session:
        move_event(session, own_subscription.athlete_id, event["id"], dt.date(2026, 1, 20))
    worker.run_once()
    assert receiver.types() == ["calendar_event.created", "calendar_event.updated"]
    assert receiver.deliveries[1].json["data"]["calendarDate"] == "2026-01-20"


def test_events_of_one_athlete_are_numbered_in_commit_order(own_subscription: Subscribed, db: Database):
    """Delivery order is event id order: a second writer for the same athlete waits for the first to commit
    (on PostgreSQL at its emit, which locks the athlete's row; on SQLite at its begin, the one writer's lock),
    so it cannot take a lower id and commit after it."""
    import threading

    from trainerday_server.webhooks import outbox

    sessions = make_session_factory(db.engine, writer=True)
    second_done = threading.Event()

    def second() -> None:
        with session_scope(sessions) as session:
            outbox.emit(session, own_subscription.athlete_id, "workout.created", {"id": 2})
        second_done.set()

    with session_scope(sessions) as session:
        outbox.emit(session, own_subscription.athlete_id, "workout.created", {"id": 1})
        thread = threading.Thread(target=second)
        thread.start()
        assert not second_done.wait(0.5)  # held until this transaction commits
    thread.join(10)
    assert second_done.is_set()
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(WebhookEvent.body).order_by(WebhookEvent.id)).scalars().all()
    assert ['"data":{"id":1}' in rows[0], '"data":{"id":2}' in rows[1]] == [True, True]
