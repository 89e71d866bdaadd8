"""The workout library through the real HTTP API: CRUD, paging, find, import, export, charts, scopes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from lxml import etree

from tests.conftest import Caller, Factory, bearer
from tests.workouts.test_workout_hostile import BILLION_LAUGHS
from trainerday_server.app import WORKOUT_IMPORT_LIMIT
from trainerday_server.models import LibraryWorkout
from trainerday_server.workouts.formats import MAX_FILE_BYTES, export_workout, import_workout
from trainerday_server.workouts.metrics import planned_metrics
from trainerday_server.workouts.structure import Segment, Workout, parse_segments

W = "/api/v1/workouts"
PROBLEM = "application/problem+json"
HOUR_AT_FTP = [[60, 100, 100]]


def workout(title="Threshold", segments=None, **extra):
    segments = [[10, 50, 70], [20, 100, 100], [10, 50, 50]] if segments is None else segments
    return {"title": title, "segments": segments, **extra}


def create(client, me: Caller, **fields) -> dict:
    response = client.post(W, headers=me.headers, json=workout(**fields))
    assert response.status_code == 201, response.text
    return response.json()


def set_ftp(client, me: Caller, ftp: int) -> None:
    assert client.patch("/api/v1/athlete", headers=me.headers, json={"ftp": ftp}).status_code == 200


def count_workouts(db) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(LibraryWorkout)).scalar_one()


# --- create, read, replace, delete -----------------------------------------------------------------------


def test_create_and_read(client, me: Caller):
    response = client.post(
        W,
        headers=me.headers,
        json=workout(
            "  Hour of Power ",
            HOUR_AT_FTP,
            description=" steady ",
            tags=["ftp", " test ", "ftp"],
            durationMinutes=60,
        ),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"{W}/{created['id']}"
    assert response.headers["content-type"] == "application/json"
    assert {k: created[k] for k in ("title", "description", "tags", "durationMinutes", "segments")} == {
        "title": "Hour of Power",
        "description": "steady",
        "tags": ["ftp", "test"],
        "durationMinutes": 60,
        "segments": [[60, 100, 100]],
    }
    # By hand, at me's FTP of 200 W: an hour at FTP is TSS 100, NP 200 W, 720 kJ, all in zone 4.
    assert created["metrics"] == {
        "durationSeconds": 3600,
        "normalizedPower": 200.0,
        "intensityFactor": 1.0,
        "tss": 100.0,
        "workKj": 720.0,
        "timeInZones": [0, 0, 0, 3600, 0, 0, 0],
        "dominantZone": 4,
    }
    assert created["createdAt"].endswith("Z") and created["updatedAt"].endswith("Z")
    assert client.get(response.headers["location"], headers=me.headers).json() == created


THIRTY_MINUTES = [[10, 50, 50], [10, 60, 60], [10, 45, 45]]


@pytest.mark.parametrize(
    ("segments", "sent", "shown"),
    [
        (THIRTY_MINUTES, 30, 30),
        (THIRTY_MINUTES, 30.0, 30.0),
        (THIRTY_MINUTES, 29.75, 29.75),
        (THIRTY_MINUTES, None, 30),  # not sent: the segments' total, whole minutes as an int
        ([[10.0, 50, 50], [20, 60, 60]], None, 30.0),
        ([[0.5, 120, 120]], None, 0.5),
    ],
)
def test_duration_minutes_keeps_the_number_type_sent(client, me: Caller, segments, sent, shown):
    fields = {} if sent is None else {"durationMinutes": sent}
    created = create(client, me, segments=segments, **fields)
    url = f"{W}/{created['id']}"
    replaced = client.put(url, headers=me.headers, json=workout(segments=segments, **fields)).json()
    read = client.get(url, headers=me.headers).json()
    listed = client.get(W, headers=me.headers).json()["data"][0]
    for shown_now in (created, replaced, read, listed):
        duration = shown_now["durationMinutes"]
        assert (duration, type(duration)) == (shown, type(shown))


def test_metrics_are_at_the_athletes_current_ftp(client, me: Caller):
    created = create(client, me)
    segments = parse_segments(workout()["segments"])
    assert created["metrics"] == planned_metrics(segments, 200).to_json()
    set_ftp(client, me, 300)
    again = client.get(f"{W}/{created['id']}", headers=me.headers).json()
    assert again["metrics"] == planned_metrics(segments, 300).to_json()
    assert again["metrics"]["normalizedPower"] == pytest.approx(
        created["metrics"]["normalizedPower"] * 1.5, abs=0.1
    )
    assert again["metrics"]["tss"] == created["metrics"]["tss"]


def test_optional_segment_fields_are_kept(client, me: Caller):
    segments = [
        [5, 40, 60, 85, 90, "warmup", "spin up"],
        [10, 95, 95, 90],
        [5, 50, 50, None, None, "cooldown"],
    ]
    assert create(client, me, segments=segments)["segments"] == segments


def test_replace(client, me: Caller):
    created = create(client, me)
    response = client.put(
        f"{W}/{created['id']}", headers=me.headers, json=workout("Hour", HOUR_AT_FTP, tags=["x"])
    )
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert (replaced["id"], replaced["title"], replaced["tags"], replaced["segments"]) == (
        created["id"],
        "Hour",
        ["x"],
        HOUR_AT_FTP,
    )
    assert replaced["description"] == ""  # a replacement: what is not sent is cleared
    assert replaced["metrics"]["tss"] == 100.0
    assert replaced["createdAt"] == created["createdAt"] and replaced["updatedAt"] >= created["updatedAt"]
    assert client.get(f"{W}/{created['id']}", headers=me.headers).json() == replaced


def test_invalid_replace_changes_nothing(client, me: Caller):
    created = create(client, me)
    response = client.put(f"{W}/{created['id']}", headers=me.headers, json=workout(segments=[[1, 2000, 50]]))
    assert response.status_code == 400
    assert client.get(f"{W}/{created['id']}", headers=me.headers).json() == created


def test_delete(client, me: Caller):
    url = f"{W}/{create(client, me)['id']}"
    response = client.delete(url, headers=me.headers)
    assert response.status_code == 204 and response.content == b""
    assert client.get(url, headers=me.headers).status_code == 404
    assert client.delete(url, headers=me.headers).status_code == 404
    assert client.get(W, headers=me.headers).json()["total"] == 0


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (workout(durationMinutes=45), "durationMinutes", ["45", "40"]),
        (workout(durationMinutes="40"), "durationMinutes", ["number"]),
        (workout(durationMinutes=True), "durationMinutes", ["number"]),
        (workout(durationMinutes=10**400), "durationMinutes", ["1440"]),
        (workout(segments=[[0, 50, 50]]), "segments[0][0]", ["minutes"]),
        (workout(segments=[[10, "50", 50]]), "segments[0][1]", ["number"]),
        (workout(segments=[[10, 50, 1001]]), "segments[0][2]", ["1000"]),
        (workout(segments=[[10, 50, 50, 90, 90, "sprint"]]), "segments[0][5]", ["type"]),
        (workout(segments=[[10, 50]]), "segments[0]", ["3"]),
        (workout(segments=[]), "segments", ["at least one"]),
        (workout(segments=[[10, 50, 50]] * 2001), "segments", ["2000"]),
        (workout(segments=[[24 * 60, 50, 50], [1, 50, 50]]), "segments", ["1440"]),
        (workout(segments="10,50,50"), "segments", []),
        (workout(title=""), "title", []),
        (workout(title="   "), "title", ["empty"]),
        (workout(title="x" * 201), "title", []),
        (workout(title=5), "title", []),
        ({"segments": [[10, 50, 50]]}, "title", []),
        ({"title": "no segments"}, "segments", []),
        (workout(description="x" * 10_001), "description", []),
        (workout(tags="a,b"), "tags", []),
        (workout(tags=[f"t{i}" for i in range(21)]), "tags", []),
        (workout(tags=["x" * 51]), "tags[0]", ["50"]),
        (workout(tags=[""]), "tags[0]", ["empty"]),
        (workout(tags=[3]), "tags[0]", []),
        (workout(intensity=3), "intensity", []),
    ],
)
def test_invalid_workouts_are_400_naming_the_field(client, me: Caller, db, body, field, words):
    response = client.post(W, headers=me.headers, json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
    matching = [e for e in response.json()["errors"] if e["field"] == field]
    assert matching, response.json()
    for word in words:
        assert word in matching[0]["message"], response.json()
    assert count_workouts(db) == 0


def test_body_that_is_not_a_workout(client, me: Caller, db):
    for content in (b"[]", b"null", b'"x"', b"{", b""):
        response = client.post(W, headers={**me.headers, "Content-Type": "application/json"}, content=content)
        assert response.status_code == 400, (content, response.text)
    assert count_workouts(db) == 0


def test_another_athletes_workout_is_indistinguishable_from_a_missing_one(
    client, me: Caller, factory: Factory
):
    other = factory.athlete()
    theirs = client.post(W, headers=bearer(factory.key(other.id)), json=workout("Theirs")).json()
    for method, path, kwargs in [
        ("GET", "", {}),
        ("PUT", "", {"json": workout("Mine now")}),
        ("DELETE", "", {}),
        ("GET", "/export?format=zwo", {}),
        ("GET", "/chart.svg", {}),
    ]:
        response = client.request(method, f"{W}/{theirs['id']}{path}", headers=me.headers, **kwargs)
        assert response.status_code == 404, (method, path)
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["detail"] == f"no workout with id {theirs['id']} in your library"
    assert client.get(W, headers=me.headers).json()["total"] == 0
    assert client.get(f"{W}/find?workoutName=theirs", headers=me.headers).json()["total"] == 0
    assert client.get(f"{W}/{theirs['id']}", headers=bearer(factory.key(other.id))).json() == theirs


@pytest.mark.parametrize("workout_id", ["abc", "1.5", "0", "-1", "99999999999999999999999"])
def test_malformed_workout_ids(client, me: Caller, workout_id):
    for path in ("", "/export?format=zwo", "/chart.svg"):
        response = client.get(f"{W}/{workout_id}{path}", headers=me.headers)
        assert response.status_code in (400, 404)
        assert response.headers["content-type"] == PROBLEM


# --- paging ----------------------------------------------------------------------------------------------


def test_list_pages_newest_first(client, me: Caller):
    ids = [create(client, me, title=f"W{i}")["id"] for i in range(5)]
    newest_first = ids[::-1]
    first = client.get(W, headers=me.headers).json()
    assert (first["page"], first["pageSize"], first["total"]) == (1, 20, 5)
    assert [w["id"] for w in first["data"]] == newest_first
    assert all("metrics" in w for w in first["data"])
    pages = [client.get(f"{W}?page={p}&pageSize=2", headers=me.headers).json() for p in (1, 2, 3, 4)]
    assert [[w["id"] for w in p["data"]] for p in pages] == [
        newest_first[:2],
        newest_first[2:4],
        newest_first[4:],
        [],
    ]
    assert [(p["page"], p["pageSize"], p["total"]) for p in pages] == [
        (1, 2, 5),
        (2, 2, 5),
        (3, 2, 5),
        (4, 2, 5),
    ]
    assert client.get(f"{W}?pageSize=100", headers=me.headers).json()["total"] == 5


def test_an_empty_library(client, me: Caller):
    assert client.get(W, headers=me.headers).json() == {"data": [], "page": 1, "pageSize": 20, "total": 0}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("page=1000001", "page"),
        ("page=99999999999999999999999", "page"),
        ("pageSize=0", "pageSize"),
        ("pageSize=101", "pageSize"),
        ("pageSize=", "pageSize"),
    ],
)
def test_bad_paging_is_400(client, me: Caller, query, field):
    response = client.get(f"{W}?{query}", headers=me.headers)
    assert response.status_code == 400, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


# --- find ------------------------------------------------------------------------------------------------

# Dominant zones and durations worked out by hand (zone 2 to 75 % FTP, 3 to 90 %, 4 to 105 %, 5 to 120 %).
LIBRARY = {
    # 30 min: 20 min in zone 1, 10 min at 60 % in zone 2, which weighs most.
    "Easy Spin": [[10, 50, 50], [10, 60, 60], [10, 45, 45]],
    # 60 min: 40 min at 90 %, the top of zone 3.
    "Sweet Spot 2x20": [[10, 50, 50], [20, 90, 90], [5, 50, 50], [20, 90, 90], [5, 50, 50]],
    # 45 min: 5 x 3 min at 115 %, zone 5; a purposeful 15 min there outweighs the easy rest.
    "VO2 Max Intervals": [[15, 55, 55]] + [[3, 115, 115], [3, 50, 50]] * 5,
    # 40 min: 20 min at 100 %, zone 4. Its capital Ü must match a lower-case search on every database.
    "Über Threshold": [[10, 50, 50], [20, 100, 100], [10, 50, 50]],
}
ZONES = {"Easy Spin": 2, "Sweet Spot 2x20": 3, "VO2 Max Intervals": 5, "Über Threshold": 4}


@pytest.fixture
def library(client, me: Caller) -> dict[str, dict]:
    return {title: create(client, me, title=title, segments=segments) for title, segments in LIBRARY.items()}


def find(client, me: Caller, query: str) -> dict:
    response = client.get(f"{W}/find?{query}", headers=me.headers)
    assert response.status_code == 200, response.text
    return response.json()


def titles(page: dict) -> list[str]:
    return [w["title"] for w in page["data"]]


def test_the_libraries_metrics_are_as_worked_out(library):
    assert {title: w["metrics"]["dominantZone"] for title, w in library.items()} == ZONES
    assert {title: w["metrics"]["durationSeconds"] for title, w in library.items()} == {
        "Easy Spin": 1800,
        "Sweet Spot 2x20": 3600,
        "VO2 Max Intervals": 2700,
        "Über Threshold": 2400,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Über Threshold", "VO2 Max Intervals", "Sweet Spot 2x20", "Easy Spin"]),
        ("workoutName=spin", ["Easy Spin"]),
        ("workoutName=SWEET%20spot", ["Sweet Spot 2x20"]),
        ("workoutName=%C3%BCber", ["Über Threshold"]),  # "über"
        ("workoutName=%20%20", ["Über Threshold", "VO2 Max Intervals", "Sweet Spot 2x20", "Easy Spin"]),
        ("workoutName=%25", []),  # "%" is a character to look for, not a wildcard
        ("workoutName=_", []),
        ("workoutName=tempo", []),
        ("dominantZone=3", ["Sweet Spot 2x20"]),
        ("dominantZone=5", ["VO2 Max Intervals"]),
        ("dominantZone=7", []),
        ("fromMinutes=40&toMinutes=45", ["Über Threshold", "VO2 Max Intervals"]),  # both ends inclusive
        ("fromMinutes=45", ["VO2 Max Intervals", "Sweet Spot 2x20"]),
        ("toMinutes=30", ["Easy Spin"]),
        ("toMinutes=29.99", []),
        ("fromMinutes=40.01&toMinutes=44.99", []),
        ("fromMinutes=30&toMinutes=60&dominantZone=4&workoutName=threshold", ["Über Threshold"]),
        ("dominantZone=4&workoutName=spin", []),
    ],
)
def test_find_filters(client, me: Caller, library, query, expected):
    page = find(client, me, query)
    assert titles(page) == expected
    assert (page["pageIndex"], page["pageSize"], page["total"]) == (0, 20, len(expected))


def test_find_pages_count_from_zero(client, me: Caller, library):
    pages = [find(client, me, f"pageIndex={i}&pageSize=3") for i in range(3)]
    assert [titles(p) for p in pages] == [
        ["Über Threshold", "VO2 Max Intervals", "Sweet Spot 2x20"],
        ["Easy Spin"],
        [],
    ]
    assert [(p["pageIndex"], p["pageSize"], p["total"]) for p in pages] == [(0, 3, 4), (1, 3, 4), (2, 3, 4)]


def test_find_does_not_depend_on_ftp(client, me: Caller, library):
    before = find(client, me, "dominantZone=4")
    for ftp in (120, 450):
        set_ftp(client, me, ftp)
        after = find(client, me, "dominantZone=4")
        assert titles(after) == titles(before) == ["Über Threshold"]
        assert after["data"][0]["metrics"]["dominantZone"] == 4
        assert (
            after["data"][0]["metrics"]["normalizedPower"] != before["data"][0]["metrics"]["normalizedPower"]
        )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("fromMinutes=50&toMinutes=40", "toMinutes"),
        ("fromMinutes=-1", "fromMinutes"),
        ("fromMinutes=nan", "fromMinutes"),
        ("toMinutes=inf", "toMinutes"),
        ("toMinutes=1441", "toMinutes"),
        ("fromMinutes=ten", "fromMinutes"),
        ("dominantZone=0", "dominantZone"),
        ("dominantZone=8", "dominantZone"),
        ("dominantZone=z4", "dominantZone"),
        ("pageIndex=-1", "pageIndex"),
        ("pageIndex=1000000", "pageIndex"),
        ("pageSize=101", "pageSize"),
        ("workoutName=" + "x" * 201, "workoutName"),
    ],
)
def test_bad_find_queries_are_400(client, me: Caller, query, field):
    response = client.get(f"{W}/find?{query}", headers=me.headers)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == [field]


# --- import ----------------------------------------------------------------------------------------------


def upload(client, me: Caller, content: bytes, filename: str = "workout.zwo"):
    return client.post(f"{W}/import", headers=me.headers, files={"file": (filename, content)})


@pytest.mark.parametrize("name", ["over_unders.zwo", "easy_spin.mrc", "threshold.erg"])
def test_import_fixture_files(client, me: Caller, fixtures: Path, name):
    content = (fixtures / name).read_bytes()
    response = upload(client, me, content, name)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"{W}/{created['id']}"
    expected = import_workout(content, name, ftp=200)
    assert (created["title"], created["description"], created["tags"]) == (
        expected.title,
        expected.description,
        list(expected.tags),
    )
    assert created["segments"] == [s.to_json() for s in expected.segments]
    assert created["durationMinutes"] == pytest.approx(expected.minutes)
    assert created["metrics"] == planned_metrics(expected.segments, 200).to_json()
    assert client.get(response.headers["location"], headers=me.headers).json() == created


def test_import_erg_watts_without_an_ftp_line_at_the_athletes_ftp(client, me: Caller):
    erg = b"[COURSE HEADER]\nMINUTES WATTS\n[END COURSE HEADER]\n[COURSE DATA]\n0 150\n10 150\n"
    created = upload(client, me, erg, "steady.erg").json()
    assert created["segments"] == [[10.0, 75.0, 75.0]]  # 150 W of me's 200 W
    assert created["title"] == "steady"


def test_import_tells_the_format_from_the_content_whatever_the_name(client, me: Caller, fixtures: Path):
    response = upload(client, me, (fixtures / "over_unders.zwo").read_bytes(), "download.txt")
    assert response.status_code == 201 and response.json()["title"] == "Over-Unders"


@pytest.mark.parametrize("fmt", ["zwo", "mrc", "erg", "fit"])
def test_what_we_export_imports_back(client, me: Caller, fmt):
    segments = [[5, 40, 70, None, None, "warmup", "Easy"], [10, 100, 100], [5, 50, 50], [5, 60, 40]]
    original = create(client, me, title="Round Trip", segments=segments, description="There and back")
    exported = client.get(f"{W}/{original['id']}/export?format={fmt}", headers=me.headers)
    back = upload(client, me, exported.content, f"whatever.{fmt}").json()
    assert (back["title"], back["description"]) == ("Round Trip", "There and back")
    assert back["metrics"]["durationSeconds"] == original["metrics"]["durationSeconds"]
    if fmt == "fit":  # FIT has no ramps: they come back as short steps of about the same mean power
        assert back["metrics"]["tss"] == pytest.approx(original["metrics"]["tss"], abs=0.5)
    else:
        assert [s[:3] for s in back["segments"]] == [s[:3] for s in segments]


@pytest.mark.parametrize(
    ("content", "filename", "location"),
    [
        (BILLION_LAUGHS.encode(), "bomb.zwo", "line "),
        (
            b'<!DOCTYPE w [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><workout_file><name>&xxe;</name></workout_file>',
            "xxe.zwo",
            "line 1",
        ),
        (
            b'<workout_file><workout>\n<SteadyState Duration="ten" Power="0.5"/></workout></workout_file>',
            "bad.zwo",
            "line 2, <SteadyState>",
        ),
        (
            b'<workout_file><workout><IntervalsT Repeat="1000000" OnDuration="1" OffDuration="1" '
            b'OnPower="1" OffPower="0.5"/></workout></workout_file>',
            "huge.zwo",
            "line 1, <IntervalsT>",
        ),
        (b"<workout_file><workout><SteadyState", "truncated.zwo", "line 1"),
        (
            b"[COURSE HEADER]\nMINUTES PERCENT\n[END COURSE HEADER]\n[COURSE DATA]\n0\t50\n10\tfifty\n",
            "bad.mrc",
            "line 6",
        ),
        (b"just some text", "notes.txt", "file"),
        (b"", "empty.zwo", None),
    ],
)
def test_hostile_or_broken_files_are_400_naming_where(client, me: Caller, db, content, filename, location):
    response = upload(client, me, content, filename)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert response.headers["content-type"] == PROBLEM
    assert problem["type"].endswith("/invalid-workout-file"), problem
    if location is not None:
        assert problem["location"].startswith(location), problem
        assert problem["detail"].startswith(problem["location"] + ": ")
    assert "root:" not in problem["detail"] and "lollol" not in problem["detail"]
    assert count_workouts(db) == 0


def test_a_truncated_fit_file_names_the_byte(client, me: Caller, db):
    fit = export_workout(
        Workout(title="T", segments=(Segment(10, 50, 50), Segment(5, 100, 100))), "fit"
    ).content
    response = upload(client, me, fit[: len(fit) // 2], "cut.fit")
    assert response.status_code == 400, response.text
    assert response.json()["location"].startswith("byte ")
    assert count_workouts(db) == 0


def test_a_file_over_the_limit_is_413(client, me: Caller, db):
    content = b"[COURSE HEADER]\nMINUTES PERCENT\n[END COURSE HEADER]\n;" + b"x" * MAX_FILE_BYTES
    response = upload(client, me, content, "big.mrc")
    assert response.status_code == 413, response.text
    assert response.json()["limit"] == MAX_FILE_BYTES
    assert count_workouts(db) == 0


def test_a_body_over_the_import_limit_is_refused_before_it_is_read(client, me: Caller, db):
    def chunks():
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.zwo"\r\n\r\n'
        for _ in range(WORKOUT_IMPORT_LIMIT // 65536 + 2):
            yield b"x" * 65536

    response = client.post(
        f"{W}/import",
        headers={**me.headers, "Content-Type": "multipart/form-data; boundary=b"},
        content=chunks(),
    )
    assert response.status_code == 413
    assert response.json()["limit"] == WORKOUT_IMPORT_LIMIT
    assert count_workouts(db) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"files": {"other": ("x.zwo", b"<workout_file/>")}},
        {"data": {"file": "<workout_file/>"}},
        {"json": {"file": "<workout_file/>"}},
        {},
    ],
)
def test_import_without_a_file_field_is_400(client, me: Caller, kwargs):
    response = client.post(f"{W}/import", headers=me.headers, **kwargs)
    assert response.status_code == 400, response.text
    assert "file" in [e["field"] for e in response.json()["errors"]]


# --- export and chart ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [
        ("zwo", "application/xml"),
        ("erg", "text/plain; charset=utf-8"),
        ("mrc", "text/plain; charset=utf-8"),
        ("fit", "application/vnd.ant.fit"),
    ],
)
def test_export(client, me: Caller, fmt, media_type):
    title = "Über Threshold 2\u00d720"  # with a multiplication sign
    created = create(client, me, title=title)
    response = client.get(f"{W}/{created['id']}/export?format={fmt}", headers=me.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert response.headers["content-disposition"] == (
        f'attachment; filename="Uber-Threshold-2-20.{fmt}"; '
        f"filename*=UTF-8''%C3%9Cber%20Threshold%202%C3%9720.{fmt}"
    )
    expected = Workout(title=title, segments=tuple(parse_segments(created["segments"])))
    if fmt == "fit":  # stamped with the time it was made: compare what it holds
        ours = export_workout(expected, "fit").content
        assert import_workout(response.content).segments == import_workout(ours).segments
    else:
        assert response.content == export_workout(expected, fmt, ftp=200).content


def test_erg_export_is_in_watts_at_the_current_ftp(client, me: Caller):
    url = f"{W}/{create(client, me, segments=HOUR_AT_FTP)['id']}/export?format=erg"
    assert "FTP = 200\r\nMINUTES WATTS\r\n" in client.get(url, headers=me.headers).text
    set_ftp(client, me, 275)
    text = client.get(url, headers=me.headers).text
    assert "FTP = 275\r\nMINUTES WATTS\r\n" in text and "0\t275\r\n60\t275\r\n" in text


@pytest.mark.parametrize("query", ["", "?format=", "?format=tcx", "?format=ZWO", "?format=zwo&format=x"])
def test_unknown_export_format_is_400(client, me: Caller, query):
    response = client.get(f"{W}/{create(client, me)['id']}/export{query}", headers=me.headers)
    assert response.status_code == 400, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["format"]


def test_chart_svg(client, me: Caller):
    created = create(
        client, me, title="A <b> & c", segments=[[10, 50, 70], [20, 100, 100, None, None, None, "Hold"]]
    )
    response = client.get(f"{W}/{created['id']}/chart.svg", headers=me.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    root = etree.parse(io.BytesIO(response.content), etree.XMLParser(resolve_entities=False)).getroot()
    svg = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{svg}svg"
    assert root.findtext(f"{svg}title") == "A <b> & c: 30:00 in 2 segments"
    polygons = root.findall(f"{svg}polygon")
    assert [p.get("class") for p in polygons] == ["zone-2", "zone-4"]
    assert polygons[1].findtext(f"{svg}title") == "Segment 2: 20:00 at 100% (200 W), zone 4: Hold"


# --- scopes ----------------------------------------------------------------------------------------------

ROUTES = [
    ("GET", W, "workout:read"),
    ("GET", f"{W}/find?workoutName=x", "workout:read"),
    ("GET", f"{W}/{{id}}", "workout:read"),
    ("GET", f"{W}/{{id}}/export?format=zwo", "workout:read"),
    ("GET", f"{W}/{{id}}/chart.svg", "workout:read"),
    ("POST", W, "workout:write"),
    ("POST", f"{W}/import", "workout:write"),
    ("PUT", f"{W}/{{id}}", "workout:write"),
    ("DELETE", f"{W}/{{id}}", "workout:write"),
]


def request_kwargs(method: str, url: str) -> dict:
    if url.endswith("/import"):
        return {
            "files": {
                "file": (
                    "x.zwo",
                    b'<workout_file><workout><FreeRide Duration="60"/></workout></workout_file>',
                )
            }
        }
    return {"json": workout()} if method in ("POST", "PUT") else {}


@pytest.mark.parametrize(("method", "url", "scope"), ROUTES)
def test_each_route_needs_its_scope(client, me: Caller, factory: Factory, db, method, url, scope):
    workout_id = create(client, me)["id"]
    url = url.replace("{id}", str(workout_id))
    every_other_scope = " ".join(
        s
        for s in (
            "athlete:read",
            "athlete:write",
            "workout:read",
            "workout:write",
            "calendar:read",
            "calendar:write",
        )
        if s != scope
    )
    response = client.request(
        method,
        url,
        headers=bearer(factory.key(me.athlete.id, every_other_scope)),
        **request_kwargs(method, url),
    )
    assert response.status_code == 403, response.text
    assert response.json()["scope"] == scope
    assert f'scope="{scope}"' in response.headers["www-authenticate"]
    assert client.request(method, url, **request_kwargs(method, url)).status_code == 401
    allowed = client.request(
        method, url, headers=bearer(factory.key(me.athlete.id, scope)), **request_kwargs(method, url)
    )
    assert allowed.status_code in (200, 201, 204), allowed.text
    # The refused writes changed nothing.
    assert count_workouts(db) == {"POST": 2, "DELETE": 0}.get(method, 1)
