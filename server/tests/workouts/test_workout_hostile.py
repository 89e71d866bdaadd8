"""Hostile and broken workout files: each is refused with a 400-class error that says where, fast."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trainerday_server.errors import PayloadTooLarge, TrainerDayError
from trainerday_server.fitfile import BaseType, Field, FitWriter
from trainerday_server.workouts.formats import (
    MAX_FILE_BYTES,
    WorkoutFileError,
    export_workout,
    import_workout,
)
from trainerday_server.workouts.structure import Segment, Workout

WORKOUT = Workout(
    title="Hostile",
    description="d",
    tags=("t",),
    segments=(
        Segment(5, 40, 70, 85, 90, "warmup", "go"),
        Segment(1, 120, 120),
        Segment(1, 50, 50),
        Segment(1, 120, 120),
        Segment(1, 50, 50),
        Segment(3, 60, 60, type="freeride"),
        Segment(4, 70, 40, type="cooldown"),
    ),
)


def zwo(blocks: str, head: str = "") -> bytes:
    return f"{head}<workout_file>\n<workout>\n{blocks}\n</workout>\n</workout_file>\n".encode()


def refused(content: bytes, filename: str, pattern: str) -> WorkoutFileError:
    with pytest.raises(WorkoutFileError, match=pattern) as caught:
        import_workout(content, filename, ftp=250)
    assert caught.value.status == 400 and caught.value.slug == "invalid-workout-file"
    return caught.value


# --- XML ----------------------------------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE workout_file [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<workout_file><name>&lol9;</name><workout><SteadyState Duration="60" Power="0.5"/></workout></workout_file>
"""


@pytest.mark.parametrize(
    "document",
    [
        BILLION_LAUGHS,
        '<!DOCTYPE w [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<workout_file><name>&xxe;</name><workout/></workout_file>",
        '<!DOCTYPE w [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]><workout_file/>',
        '<!DOCTYPE workout_file SYSTEM "http://127.0.0.1:9/x.dtd"><workout_file/>',
    ],
)
def test_dtds_and_entities_are_refused(document: str) -> None:
    error = refused(document.encode(), "evil.zwo", r"^line \d+: ")
    assert "root:" not in error.detail and "lol" not in error.detail


def test_undeclared_entity_is_not_well_formed() -> None:
    refused(zwo('<SteadyState Duration="60" Power="0.5"/>&nbsp;'), "x.zwo", r"^line 3: not well-formed XML")


@pytest.mark.parametrize(
    ("blocks", "pattern"),
    [
        (
            '<SteadyState Duration="ten" Power="0.5"/>',
            r"^line 3, <SteadyState>: Duration must be a number, got 'ten'",
        ),
        (
            '<SteadyState Duration="60" Power="nan"/>',
            r"^line 3, <SteadyState>: Power must be a finite number",
        ),
        ('<SteadyState Duration="60"/>', r"^line 3, <SteadyState>: Power must be a number, got nothing"),
        (
            '<SteadyState Duration="60" Power="-0.5"/>',
            r"^line 3, <SteadyState>: startPercent must be 0 or a number from 1",
        ),
        (
            '<SteadyState Duration="0" Power="0.5"/>',
            r"^line 3, <SteadyState>: minutes must be a number from 1/60",
        ),
        ('<Warmup Duration="60" PowerHigh="0.5"/>', r"^line 3, <Warmup>: PowerLow must be a number"),
        ('<SteadyState Duration="60" Power="0.5" Cadence="90.5"/>', r"^line 3, <SteadyState>: cadenceStart"),
        ('<MaxEffort Duration="10"/>', r"^line 3, <MaxEffort>: <MaxEffort> blocks are not supported"),
        (
            '<IntervalsT Repeat="1000000" OnDuration="1" OffDuration="1" OnPower="1" OffPower="0.5"/>',
            r"^line 3, <IntervalsT>: the workout would have more than 2000 segments",
        ),
        (
            '<IntervalsT Repeat="2.5" OnDuration="1" OffDuration="1" OnPower="1" OffPower="0.5"/>',
            r"^line 3, <IntervalsT>: Repeat must be a whole number",
        ),
        (
            '<SteadyState Duration="60" Power="0.5"><textevent timeoffset="x" message="m"/></SteadyState>',
            r"^line 3, <textevent>: timeoffset must be a number, got 'x'",
        ),
        ("", r"^file: the workout has no segments"),
    ],
)
def test_bad_zwo_blocks(blocks: str, pattern: str) -> None:
    refused(zwo(blocks), "bad.zwo", pattern)


def test_too_many_zwo_blocks_names_the_first_one_too_many() -> None:
    blocks = "\n".join(['<SteadyState Duration="1" Power="0.5"/>'] * 2001)
    refused(
        zwo(blocks), "many.zwo", r"^line 2003, <SteadyState>: the workout would have more than 2000 segments"
    )


@pytest.mark.parametrize(
    ("document", "pattern"),
    [
        (b"<workout_file><workout><SteadyState Duration=", r"^line 1: not well-formed XML"),
        (b"<workout_file>\n<workout>\n</workout>", r"^line 3: not well-formed XML"),
        (b"<plan><workout/></plan>", r"^line 1: the root element is <plan>, not <workout_file>"),
        (b"<workout_file><sportType>run</sportType><workout/></workout_file>", r"only bike workouts"),
        (b"<workout_file><name>x</name></workout_file>", r"has no <workout> element"),
        (b"<?xml version='1.0' encoding='bogus'?><workout_file/>", r"^line 1: not well-formed XML"),
    ],
)
def test_broken_zwo_documents(document: bytes, pattern: str) -> None:
    refused(document, "broken.zwo", pattern)


# --- MRC and ERG --------------------------------------------------------------------------------------------

MRC_HEAD = "[COURSE HEADER]\nMINUTES PERCENT\n[END COURSE HEADER]\n[COURSE DATA]\n"


@pytest.mark.parametrize(
    ("body", "pattern"),
    [
        ("0\t50\n10\tabc\n", r"^line 6: the value must be a number, got 'abc'"),
        ("0\t50\nten\t60\n", r"^line 6: the minute must be a number, got 'ten'"),
        ("0\t50\n10\n", r"^line 6: a course point needs a minute and a value"),
        ("0\t50\n10\t50\n5\t50\n", r"^line 7: minute 5 comes before the previous point's 10"),
        ("0\t50\n10\t1e400\n", r"^line 6: the value must be a finite number"),
        ("0\t50\n10\t-5\n", r"^line 6: startPercent|^line 6: endPercent"),
        ("0\t50\n2000\t50\n", r"^line 6: minutes must be a number from 1/60 \(a second\) to 1440"),
        ("0\t50\n", r"^file: the workout has no segments"),
        ("[END COURSE DATA]\n[COURSE TEXT]\nsoon\thello\n", r"^line 7: the text's offset must be a number"),
    ],
)
def test_bad_course_data(body: str, pattern: str) -> None:
    refused((MRC_HEAD + body).encode(), "bad.mrc", pattern)


def test_course_without_units_or_points() -> None:
    refused(
        b"[COURSE HEADER]\n[END COURSE HEADER]\n[COURSE DATA]\n0 50\n",
        "x.mrc",
        r"^line 3: the course data starts",
    )
    refused(
        b"[COURSE HEADER]\nMINUTES PERCENT\n[END COURSE HEADER]\n",
        "x.mrc",
        r"^\[COURSE DATA\]: has no course",
    )


def test_too_many_course_segments_names_the_line() -> None:
    points = "".join(f"{i}\t50\n{i + 1}\t50\n" for i in range(2001))  # segment i ends on line 6 + 2i
    refused(
        (MRC_HEAD + points).encode(),
        "many.mrc",
        r"^line 4006: the workout would have more than 2000 segments",
    )


def test_a_million_segments_is_too_large() -> None:
    points = "".join(f"{i / 100}\t50\n" for i in range(1_000_000))
    with pytest.raises(PayloadTooLarge) as caught:
        import_workout((MRC_HEAD + points).encode(), "huge.mrc")
    assert caught.value.status == 413
    assert f"at most {MAX_FILE_BYTES}" in caught.value.detail


def test_bytes_that_are_not_utf8_are_read_not_crashed_on() -> None:
    latin1 = (
        (MRC_HEAD + "0\t50\n1\t50\n").encode().replace(b"HEADER]\n", b"HEADER]\nFILE NAME = Caf\xe9\n", 1)
    )
    assert import_workout(latin1, "x").title == "Café"


# --- FIT ----------------------------------------------------------------------------------------------------


def fit_workout(*steps: tuple[int | None, ...], file_type: int = 5) -> bytes:
    """file_id, then steps of (duration_type, duration_value, target_type, target_value, low, high)."""
    writer = FitWriter()
    writer.define(0, 0, [Field(0, BaseType.ENUM), Field(1, BaseType.UINT16)])
    writer.write(0, file_type, 255)
    types = [BaseType.UINT16] + [BaseType.ENUM, BaseType.UINT32] * 3
    fields = [Field(n, t) for n, t in zip([254, 1, 2, 3, 4, 5, 6], types, strict=True)]
    writer.define(1, 27, fields)
    for index, step in enumerate(steps):
        writer.write(1, index, *step)
    return writer.finish()


STEADY = (0, 60_000, 4, 0, 100, 100)  # 1 min at 100 %FTP


def test_fit_that_is_not_a_workout_is_refused() -> None:
    refused(
        fit_workout(STEADY, file_type=4), "a.fit", r"^file_id message at byte 26: .*'activity', not a workout"
    )


@pytest.mark.parametrize(
    ("steps", "pattern"),
    [
        (
            [STEADY, (6, 0, None, 1_000_000, None, None)],
            r"workout_step message at byte \d+: .*more than 2000 segments",
        ),
        ([STEADY, (6, 5, None, 3, None, None)], r"repeats from step 5, which is not an earlier step"),
        ([STEADY, (6, 0, None, 0, None, None)], r"repeats 0 times"),
        ([(1, 100_000, 4, 0, 100, 100)], r"only time durations are supported, not 'distance'"),
        ([(5, None, 4, 0, 100, 100)], r"only time durations are supported, not 'open'"),
        ([(0, 60_000, 1, 0, 140, 150)], r"only power and open targets are supported, not 'heart_rate'"),
        ([(0, 60_000, 4, 3, None, None)], r"power zone targets are not supported"),
        ([(0, 60_000, 4, 0, None, 100)], r"power low is missing"),
        ([(0, 0, 4, 0, 100, 100)], r"minutes must be a number from 1/60"),
        ([(0, None, 4, 0, 100, 100)], r"workout_step message at byte \d+: the step's duration is missing"),
        ([], r"^file: the workout has no segments"),
    ],
)
def test_bad_fit_steps(steps: list[tuple[int | None, ...]], pattern: str) -> None:
    refused(fit_workout(*steps), "bad.fit", pattern)


def test_damaged_fit_files() -> None:
    good = export_workout(WORKOUT, "fit").content
    refused(good[: len(good) // 2], "cut.fit", r"^byte \d+: damaged FIT file")
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    refused(bytes(flipped), "flipped.fit", r"^byte \d+: (damaged|unreadable) FIT file")
    refused(b"\x0e\x20" + b"\x00" * 20, "wrong-magic.fit", r"^byte 8: not a FIT file")
    refused(good[:12], "header-only.fit", r"^byte \d+: damaged FIT file")


def test_damaged_activity_sample_is_refused_as_not_a_workout(samples: Path) -> None:
    content = (samples / "damaged" / "activity-unexpected-eof.fit").read_bytes()
    refused(content, "eof.fit", r"not a workout")


# --- fuzz ---------------------------------------------------------------------------------------------------

EXPORTS = {fmt: export_workout(WORKOUT, fmt, ftp=250).content for fmt in ("zwo", "erg", "mrc", "fit")}


def import_or_refuse(content: bytes, filename: str) -> None:
    try:
        workout = import_workout(content, filename, ftp=250)
    except TrainerDayError as exc:
        assert 400 <= exc.status < 500 and exc.detail
    else:
        assert isinstance(workout, Workout) and workout.segments


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(sorted(EXPORTS)), data=st.data())
def test_mutated_exports_never_crash(fmt: str, data: st.DataObject) -> None:
    content = bytearray(EXPORTS[fmt])
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(content) - 1))
        content[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(content)))
    import_or_refuse(bytes(content[:cut]), f"mutated.{fmt}")


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=300), extension=st.sampled_from(["zwo", "erg", "mrc", "fit", "bin"]))
def test_random_bytes_never_crash(content: bytes, extension: str) -> None:
    import_or_refuse(content, f"random.{extension}")
