"""Workout text XML cannot carry (control characters, U+FFFE/U+FFFF, lone surrogates): refused by the API,
stripped from imported files, and never a failed export or a broken chart, for library workouts and for
the workouts calendar events plan."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from tests.conftest import Caller
from trainerday_server.models import CalendarEvent, LibraryWorkout
from trainerday_server.models.base import utcnow
from trainerday_server.workouts.chart import workout_svg
from trainerday_server.workouts.formats import FORMATS, export_workout, fit, import_workout, mrc
from trainerday_server.workouts.structure import Segment, Workout, strip_non_xml

W = "/api/v1/workouts"
EVENTS = "/api/v1/calendar/events"
SVG = "{http://www.w3.org/2000/svg}"
# One of each kind XML 1.0 cannot carry (https://www.w3.org/TR/xml/#charsets).
NOT_XML = ["\x01", "\x08", "\x0b", "\x0c", "\x1f", "\ufffe", "\uffff", "\ud800", "\udfff"]
# What it can: tab and line breaks, DEL and C1 controls, the last BMP character before U+FFFE, astral ones.
XML_OK = "tab\there\nnew\rline \x7f\x85 \ufffd \U0001f6b4 \U0010fffd"


def xml(content: bytes) -> etree._Element:
    return etree.parse(
        io.BytesIO(content), etree.XMLParser(resolve_entities=False, no_network=True)
    ).getroot()


def send(client, method: str, url: str, me: Caller, payload: dict[str, Any]):
    """A JSON request written with \\u escapes: httpx writes UTF-8, which has no lone surrogates."""
    headers = {**me.headers, "Content-Type": "application/json"}
    return client.request(method, url, headers=headers, content=json.dumps(payload))


def body(**fields: Any) -> dict[str, Any]:
    return {"title": "Sweet Spot", "segments": [[10, 88, 88, None, None, None, "hold it"]], **fields}


def with_text(text: str) -> dict[str, Any]:
    return body(segments=[[10, 88, 88], [5, 50, 50, None, None, None, text]])


def exports_and_charts(client, me: Caller, url: str) -> dict[str, bytes]:
    """Every export of the workout at ``url`` and its chart; each must succeed and the XML be well-formed."""
    files = {}
    for fmt in FORMATS:
        response = client.get(f"{url}/export?format={fmt}", headers=me.headers)
        assert response.status_code == 200, (fmt, response.text)
        files[fmt] = response.content
    xml(files["zwo"])
    chart = client.get(f"{url}/chart.svg", headers=me.headers)
    assert chart.status_code == 200, chart.text
    files["svg"] = chart.content
    xml(chart.content)
    return files


# --- the API refuses it, naming the field ----------------------------------------------------------------

FIELDS = [
    ("title", lambda c: body(title=f"Sweet{c}Spot")),
    ("description", lambda c: body(description=f"line one{c}")),
    ("tags[1]", lambda c: body(tags=["ok", f"b{c}d"])),
    ("segments[1][6]", lambda c: with_text(f"x{c}y")),
]


@pytest.mark.parametrize("char", NOT_XML, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize(("field", "make"), FIELDS, ids=[f for f, _ in FIELDS])
def test_library_refuses_text_xml_cannot_carry(client, me: Caller, db, field, make, char):
    created = client.post(W, headers=me.headers, json=body()).json()
    for response in (
        send(client, "POST", W, me, make(char)),
        send(client, "PUT", f"{W}/{created['id']}", me, make(char)),
    ):
        assert response.status_code == 400, response.text
        errors = response.json()["errors"]
        assert [e["field"] for e in errors] == [field]
        if not ("\ud800" <= char <= "\udfff" and not field.startswith("segments")):
            assert f"U+{ord(char):04X}" in errors[0]["message"]
        # else: pydantic refuses a lone surrogate in a string field itself, naming the field too
    assert client.get(f"{W}/{created['id']}", headers=me.headers).json() == created
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(LibraryWorkout)).scalar_one() == 1


@pytest.mark.parametrize("char", NOT_XML, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize(("field", "make"), FIELDS, ids=[f for f, _ in FIELDS])
def test_calendar_refuses_text_xml_cannot_carry(client, me: Caller, db, field, make, char):
    response = send(client, "POST", EVENTS, me, {"calendarDate": "2026-01-15", "embedWorkout": make(char)})
    assert response.status_code == 400, response.text
    assert [e["field"] for e in response.json()["errors"]] == [f"embedWorkout.{field}"]
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(CalendarEvent)).scalar_one() == 0


def test_the_message_says_which_character_and_where(client, me: Caller):
    response = client.post(W, headers=me.headers, json=body(title="Bad\x01Title"))
    assert response.json()["detail"] == (
        "title: contains U+0001 at character 4; text may not hold control characters other than tab and "
        "line breaks, U+FFFE, U+FFFF or unpaired surrogates"
    )


def test_text_xml_can_carry_is_kept_and_exports(client, me: Caller):
    sent = body(title="Sweet \U0001f6b4 Spot", description=XML_OK, tags=["\x7f", "\U0001f6b4"])
    sent["segments"][0][6] = XML_OK
    created = client.post(W, headers=me.headers, json=sent)
    assert created.status_code == 201, created.text
    assert (created.json()["description"], created.json()["segments"][0][6]) == (XML_OK, XML_OK)
    zwo = xml(exports_and_charts(client, me, f"{W}/{created.json()['id']}")["zwo"])
    assert zwo.findtext("name") == "Sweet \U0001f6b4 Spot"
    assert zwo.find("workout/SteadyState/textevent").get("message") == XML_OK  # tab, LF, CR as &#9; ...


# --- imports keep the workout and lose the characters --------------------------------------------------

DIRTY = Workout(
    title="Over\x01Unders",
    description="two\x07blocks",
    segments=(Segment(10, 95, 95, text="x\x02y"), Segment(5, 50, 50, text="\x1b")),
)


@pytest.mark.parametrize("fmt", ["mrc", "erg", "fit"])
def test_imports_strip_what_xml_cannot_carry(client, me: Caller, fmt):
    content = {
        "mrc": mrc.export_mrc(DIRTY),  # the format modules themselves write what they are given
        "erg": mrc.write_course(DIRTY, ftp=200),
        "fit": fit.export_fit(DIRTY),
    }[fmt]
    response = client.post(f"{W}/import", headers=me.headers, files={"file": (f"dirty.{fmt}", content)})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["title"] == "OverUnders"
    assert created["segments"][0][-1] == "xy"
    assert len(created["segments"][1]) == 3  # a text of nothing but such characters is no text
    if fmt != "fit":  # FIT keeps the description too
        assert created["description"] == "twoblocks"
    exports_and_charts(client, me, f"{W}/{created['id']}")


def test_an_mrc_file_name_with_a_control_character(client, me: Caller):
    """The review's reproduction: FILE NAME = a<U+0001>b imported, then exported as ZWO."""
    content = (
        b"[COURSE HEADER]\nFILE NAME = a\x01b\nMINUTES PERCENT\n[END COURSE HEADER]\n"
        b"[COURSE DATA]\n0\t50\n10\t50\n[END COURSE DATA]\n"
    )
    created = client.post(f"{W}/import", headers=me.headers, files={"file": ("x.mrc", content)}).json()
    assert created["title"] == "ab"
    assert xml(exports_and_charts(client, me, f"{W}/{created['id']}")["zwo"]).findtext("name") == "ab"


def test_a_name_left_empty_by_stripping_falls_back_to_the_file_name_stripped_too():
    content = (
        b"[COURSE HEADER]\nFILE NAME = \x01\x02\nMINUTES PERCENT\n[END COURSE HEADER]\n"
        b"[COURSE DATA]\n0\t50\n10\t50\n[END COURSE DATA]\n"
    )
    assert import_workout(content, "Sweet\x01Spot.mrc").title == "SweetSpot"
    assert import_workout(content, "\x03.mrc").title == "Imported workout"


# --- workouts stored before the API refused such text still export and chart -------------------------


def test_stored_text_xml_cannot_carry_still_exports_and_charts(client, me: Caller, db):
    segments = [[10, 88, 88, None, None, None, "x\x02y"]]
    now = utcnow()
    with db.engine.begin() as conn:
        workout_id = conn.execute(
            sa.insert(LibraryWorkout)
            .values(
                athlete_id=me.athlete.id,
                title="Bad\x01Title",
                search_title="bad\x01title",
                description="\x0b",
                tags=["t\x1f"],
                segments=segments,
                duration_minutes=10,
                duration_seconds=600,
                dominant_zone=3,
                created_at=now,
                updated_at=now,
            )
            .returning(LibraryWorkout.id)
        ).scalar_one()
        planned = {"title": "Bad\x01Title", "description": "", "tags": [], "durationMinutes": 10}
        event_id = conn.execute(
            sa.insert(CalendarEvent)
            .values(
                athlete_id=me.athlete.id,
                calendar_date=dt.date(2026, 1, 15),
                type="workout",
                title="Bad",
                workout={**planned, "segments": segments},
                created_at=now,
                updated_at=now,
            )
            .returning(CalendarEvent.id)
        ).scalar_one()
    for url in (f"{W}/{workout_id}", f"{EVENTS}/{event_id}"):
        files = exports_and_charts(client, me, url)
        assert xml(files["zwo"]).findtext("name") == "BadTitle"
        assert b"\x01" not in files["svg"] and b"\x02" not in files["svg"]


def test_exports_never_fail_on_text():
    """Defence in depth below the API: whatever text a workout holds, every format is written."""
    workout = Workout(
        title="\ud800Bad\x01\ufffe",
        description="\x00\udfff",
        tags=("\x0b",),
        segments=(Segment(1, 50, 50, text="\x02\ud83d"),),
    )
    for fmt in FORMATS:
        exported = export_workout(workout, fmt, ftp=200)
        assert exported.content and exported.content_disposition.startswith('attachment; filename="Bad.')
    assert xml(export_workout(workout, "zwo").content).findtext("name") == "Bad"


# --- the chart escapes properly ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ['say "go" & <push>', "it's 'hard'", "a\x01b\ud800c\uffff", "]]>"])
def test_chart_is_well_formed_whatever_the_text(text):
    root = xml(workout_svg([Segment(10, 50, 50, text=text)], 200, title=text).encode())
    shown = strip_non_xml(text)
    assert root.findtext(f"{SVG}title") == f"{shown}: 10:00 in 1 segments"
    assert root.find(f"{SVG}polygon").findtext(f"{SVG}title").endswith(f": {shown}")


# --- property: what the API accepts, every format and the chart can carry --------------------------------

texts = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    title=texts.map(lambda t: f"W{t}"),
    description=texts,
    tag=texts.map(lambda t: f"t{t}"),
    text=st.none() | texts,
    calendar=st.booleans(),
)
def test_any_workout_the_api_accepts_exports_and_charts(
    client, me: Caller, title, description, tag, text, calendar
):
    workout = {
        "title": title,
        "description": description,
        "tags": [tag],
        "segments": [[2.5, 40, 75, None, None, "warmup", text], [10, 100, 100]],
    }
    if calendar:
        response = send(client, "POST", EVENTS, me, {"calendarDate": "2026-01-15", "embedWorkout": workout})
        url = f"{EVENTS}/{response.json().get('id')}"
    else:
        response = send(client, "POST", W, me, workout)
        url = f"{W}/{response.json().get('id')}"
    assert response.status_code in (201, 400), response.text
    if response.status_code == 201:
        exports_and_charts(client, me, url)
    else:  # refused only for a character XML cannot carry (NUL among them)
        sent = (title, description, tag, text or "")
        assert any(strip_non_xml(value) != value for value in sent), response.text
