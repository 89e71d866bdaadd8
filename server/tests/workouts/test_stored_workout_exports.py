"""Issue 9, bug 10, last part: every stored workout's exports import again. Workouts stored before the
segment bounds (minutes or percents like 1e-300) are brought within them on export, never a failed export."""

from __future__ import annotations

import datetime as dt
import math

import pytest
import sqlalchemy as sa

from tests.conftest import Caller
from trainerday_server.models import CalendarEvent, LibraryWorkout
from trainerday_server.models.base import utcnow
from trainerday_server.workouts.formats import FORMATS, export_workout, import_workout
from trainerday_server.workouts.structure import Segment, Workout, importable

W = "/api/v1/workouts"
EVENTS = "/api/v1/calendar/events"

# Stored before the bounds, and what each segment must come back as: (seconds, start %, end %).
OLD_SEGMENTS = [
    [1e-300, 50, 50],
    [10, 1e-300, 50],
    [1e-7, 0.3, 0.7],
    [0.5 / 60, 120, 120],
    [5, 0.7, 1000],
    [2, 1000, 1000],
]
EXPECTED = [(1, 50, 50), (600, 0, 50), (1, 0, 1), (1, 120, 120), (300, 1, 1000), (120, 1000, 1000)]


def insert_old_workouts(db, athlete_id: int, segments: list[list[float]]) -> tuple[int, int]:
    """A library workout and a calendar event holding ``segments`` as stored before the bounds."""
    now = utcnow()
    minutes = math.fsum(s[0] for s in segments)
    with db.engine.begin() as conn:
        workout_id = conn.execute(
            sa.insert(LibraryWorkout)
            .values(
                athlete_id=athlete_id,
                title="Old",
                search_title="old",
                description="",
                tags=[],
                segments=segments,
                duration_minutes=minutes,
                duration_seconds=round(minutes * 60),
                dominant_zone=1,
                created_at=now,
                updated_at=now,
            )
            .returning(LibraryWorkout.id)
        ).scalar_one()
        planned = {"title": "Old", "description": "", "tags": [], "durationMinutes": minutes}
        event_id = conn.execute(
            sa.insert(CalendarEvent)
            .values(
                athlete_id=athlete_id,
                calendar_date=dt.date(2026, 1, 15),
                type="workout",
                title="Old",
                workout={**planned, "segments": segments},
                created_at=now,
                updated_at=now,
            )
            .returning(CalendarEvent.id)
        ).scalar_one()
    return workout_id, event_id


def reimport(client, me: Caller, url: str) -> dict[str, list]:
    """Each format's export of ``url``, imported again through the API: the segments it gives."""
    imported = {}
    for fmt in FORMATS:
        exported = client.get(f"{url}/export?format={fmt}", headers=me.headers)
        assert exported.status_code == 200, (fmt, exported.text)
        response = client.post(
            f"{W}/import", headers=me.headers, files={"file": (f"old.{fmt}", exported.content)}
        )
        assert response.status_code == 201, (fmt, response.text)
        imported[fmt] = response.json()["segments"]
    return imported


def test_a_1e_300_minute_segment_exports_as_a_second_that_imports(client, me: Caller, db):
    for url in (f"{W}/{{}}", f"{EVENTS}/{{}}"):
        workout_id, event_id = insert_old_workouts(db, me.athlete.id, [[1e-300, 50, 50]])
        ids = {f"{W}/{{}}": workout_id, f"{EVENTS}/{{}}": event_id}
        for fmt, segments in reimport(client, me, url.format(ids[url])).items():
            assert len(segments) == 1, fmt
            minutes, start, end = segments[0][:3]
            assert minutes * 60 == pytest.approx(1, abs=0.01), fmt
            assert (start, end) == (50, 50), fmt


def test_every_old_segment_comes_back_within_the_bounds(client, me: Caller, db):
    """Each format as it writes: steady segments exactly; ramps as ZWO/MRC/ERG ramps or FIT's 1 % steps."""
    workout_id, _ = insert_old_workouts(db, me.athlete.id, OLD_SEGMENTS)
    for fmt, segments in reimport(client, me, f"{W}/{workout_id}").items():
        seconds = [s[0] * 60 for s in segments]
        assert math.fsum(seconds) == pytest.approx(sum(e[0] for e in EXPECTED), abs=0.1), fmt
        assert all(s >= 0.999 for s in seconds), fmt
        percents = [p for s in segments for p in s[1:3]]
        assert all(p == 0 or 1 <= p <= 1000 for p in percents), fmt
        assert max(percents) == 1000, fmt
        if fmt != "fit":  # FIT has no ramps: each comes back as a staircase of whole percents
            assert len(segments) == len(EXPECTED), fmt
            for segment, expected in zip(segments, EXPECTED, strict=True):
                got = [segment[0] * 60, segment[1], segment[2]]
                assert got == pytest.approx(list(expected), abs=0.01), (fmt, segment)


@pytest.mark.parametrize(
    ("stored", "written"),
    [
        ((1e-300, 50, 50), (1 / 60, 50, 50)),
        ((0.9 / 60, 50, 50), (1 / 60, 50, 50)),
        ((0.999 / 60, 50, 50), (0.999 / 60, 50, 50)),  # within the bounds: as stored
        ((2000, 50, 50), (1440, 50, 50)),
        ((10, 1e-300, 0.49), (10, 0, 0)),
        ((10, 0.5, 0.99), (10, 1, 1)),
        ((10, 1, 1000), (10, 1, 1000)),
        ((10, 1000.4, 5000), (10, 1000, 1000)),
    ],
)
def test_importable_clamps_only_what_is_out_of_bounds(stored, written):
    segment = Segment(*stored, cadence_start=90, type="active", text="hold")
    result = importable(segment)
    assert (result.minutes, result.start, result.end) == written
    assert (result.cadence_start, result.type, result.text) == (90, "active", "hold")


def test_a_1000_percent_fit_step_imports_as_1000_percent():
    """FIT writes 1000 % FTP as 1000, a value the profile names ``watts_offset``; it was read as missing."""
    exported = export_workout(Workout(title="Max", segments=(Segment(2, 1000, 1000),)), "fit")
    back = import_workout(exported.content, exported.filename)
    assert [(s.minutes, s.start, s.end) for s in back.segments] == [(2, 1000, 1000)]
