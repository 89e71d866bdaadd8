"""Hostile and sceptical checks of the analytics API: defects found by attacking it, each kept as a test."""

from __future__ import annotations

import datetime as dt

from tests.analytics.rides import at, upload_ride
from tests.conftest import Caller


def test_a_suggestion_goes_away_once_the_athlete_has_taken_it(client, me: Caller):
    """A ride's FTP suggestion compares with the athlete's FTP now, not only the one the ride was measured at:
    once the FTP is raised to what the ride implies, the ride must stop asking for it."""
    today = client.app.state.clock().date()
    strong = upload_ride(client, me, at(today - dt.timedelta(days=3)), minutes=45, watts_scale=1.2)
    [suggestion] = strong["suggestions"]
    raised = client.patch("/api/v1/athlete", headers=me.headers, json={"ftp": suggestion["ftp"]})
    assert raised.status_code == 200, raised.text
    again = client.get(f"/api/v1/activities/{strong['id']}", headers=me.headers).json()
    assert again["ftp"] == 200  # the ride keeps the FTP it was measured at
    assert again["suggestions"] == []


def test_a_suggestion_never_asks_for_less_than_the_current_ftp(client, me: Caller):
    """An athlete whose FTP is already above what a ride implies gets no suggestion from it, and a
    suggestion's currentFtp is the athlete's FTP now."""
    today = client.app.state.clock().date()
    strong = upload_ride(client, me, at(today - dt.timedelta(days=3)), minutes=45, watts_scale=1.2)
    [suggestion] = strong["suggestions"]
    assert client.patch("/api/v1/athlete", headers=me.headers, json={"ftp": 205}).status_code == 200
    [partly] = client.get(f"/api/v1/activities/{strong['id']}", headers=me.headers).json()["suggestions"]
    assert (partly["ftp"], partly["currentFtp"]) == (suggestion["ftp"], 205)
    assert client.patch("/api/v1/athlete", headers=me.headers, json={"ftp": 400}).status_code == 200
    assert client.get(f"/api/v1/activities/{strong['id']}", headers=me.headers).json()["suggestions"] == []
