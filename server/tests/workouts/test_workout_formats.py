"""ZWO, ERG, MRC and FIT against hand-written files and hand-checked exports."""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime
from pathlib import Path

import fitdecode
import pytest
from garmin_fit_sdk import Decoder, Stream
from lxml import etree

from trainerday_server.fitfile import BaseType, Field, FitWriter
from trainerday_server.workouts.formats import (
    ExportedFile,
    WorkoutFileError,
    detect_format,
    export_workout,
    import_workout,
)
from trainerday_server.workouts.formats.fit import export_fit
from trainerday_server.workouts.metrics import planned_metrics
from trainerday_server.workouts.structure import Segment, Workout, parse_workout

SAMPLE = parse_workout(
    {
        "title": "Tempo & Spin",
        "description": "Builds, then holds.",
        "tags": ["tempo"],
        "segments": [
            [10, 40, 70, None, None, "warmup", "Easy start"],
            [2, 110, 110, 100, 100],
            [1, 50, 50],
            [2, 110, 110, 100, 100],
            [1, 50, 50],
            [0.5, 62.5, 62.5, 90],
            [5, 60, 60, None, None, "freeride"],
            [6, 70, 40, None, None, "cooldown"],
        ],
    }
)


def read(fixtures: Path, name: str) -> bytes:
    return (fixtures / name).read_bytes()


def wire(workout: Workout) -> list[list[object]]:
    return [s.to_json() for s in workout.segments]


# --- ZWO ----------------------------------------------------------------------------------------------------


def test_zwo_fixture_reads_as_zwift_means_it(fixtures: Path) -> None:
    workout = import_workout(read(fixtures, "over_unders.zwo"), "over_unders.zwo")
    assert workout.title == "Over-Unders"
    assert workout.description == "Warm up, three over-unders, cool down."
    assert workout.tags == ("threshold", "ftp builder")
    on, off = [2.0, 105.0, 105.0, 95, 95, "active"], [1.0, 50.0, 50.0, 85, 85, "rest"]
    assert wire(workout) == [
        [10.0, 45.0, 75.0, None, None, "warmup", "Easy spin to start. Halfway through the warm-up."],
        [5.0, 88.0, 88.0, 90, 90],
        on,
        off,
        [*on, "Second one: hold it."],  # offset 190 s falls in the second "on" (180..300 s)
        off,
        on,
        off,
        [4.0, 60.0, 90.0],
        [5.0, 50.0, 50.0, None, None, "freeride"],  # no target in the file: an easy-spin estimate
        [8.0, 70.0, 40.0, None, None, "cooldown"],  # the quirk: PowerLow is where the cooldown starts
    ]
    assert workout.minutes == 41


def test_zwo_export_blocks(fixtures: Path) -> None:
    root = etree.fromstring(export_workout(SAMPLE, "zwo").content)
    assert root.tag == "workout_file"
    assert [root.findtext(t) for t in ("name", "description", "sportType")] == [
        "Tempo & Spin",
        "Builds, then holds.",
        "bike",
    ]
    assert [t.get("name") for t in root.iterfind("tags/tag")] == ["tempo"]
    blocks = [(b.tag, dict(b.attrib)) for b in root.find("workout")]
    assert blocks == [
        ("Warmup", {"Duration": "600", "PowerLow": "0.4", "PowerHigh": "0.7"}),
        (
            "IntervalsT",
            {
                "Repeat": "2",
                "OnDuration": "120",
                "OffDuration": "60",
                "OnPower": "1.1",
                "OffPower": "0.5",
                "Cadence": "100",
            },
        ),
        ("SteadyState", {"Duration": "30", "Power": "0.625", "CadenceLow": "90"}),
        ("FreeRide", {"Duration": "300", "Power": "0.6"}),
        ("Cooldown", {"Duration": "360", "PowerLow": "0.7", "PowerHigh": "0.4"}),
    ]
    assert root.find("workout/Warmup/textevent").attrib == {"timeoffset": "0", "message": "Easy start"}


def test_zwo_ramps_that_are_not_warmups_or_cooldowns() -> None:
    workout = Workout(title="R", segments=(Segment(5, 80, 60), Segment(5, 60, 90)))
    root = etree.fromstring(export_workout(workout, "zwo").content)
    assert [(b.tag, b.get("PowerLow"), b.get("PowerHigh")) for b in root.find("workout")] == [
        ("Ramp", "0.8", "0.6"),
        ("Ramp", "0.6", "0.9"),
    ]


def test_zwo_steady_state_range_reads_as_its_middle() -> None:
    zwo = (
        b'<workout_file><workout><SteadyState Duration="60" PowerLow="0.8" PowerHigh="0.9"/>'
        b"</workout></workout_file>"
    )
    assert wire(import_workout(zwo, "x.zwo")) == [[1.0, 85.0, 85.0]]


def test_zwo_without_name_takes_the_file_name() -> None:
    zwo = b'<workout_file><workout><SteadyState Duration="60" Power="0.5"/></workout></workout_file>'
    assert import_workout(zwo, "Sunday ride.zwo").title == "Sunday ride"
    assert import_workout(zwo).title == "Imported workout"


def test_zwo_text_at_an_interval_boundary_belongs_to_the_interval_starting_there() -> None:
    # 481 s is 8.01666... minutes; added back up in seconds it is a hair over 481.
    zwo = (
        b'<workout_file><workout><IntervalsT Repeat="2" OnDuration="481" OffDuration="1" OnPower="1" '
        b'OffPower="0.5"><textevent timeoffset="481" message="breathe"/>'
        b'<textevent timeoffset="963" message="again"/></IntervalsT></workout></workout_file>'
    )
    assert [s.text for s in import_workout(zwo, "x.zwo").segments] == [None, "breathe", None, "again"]


# --- MRC and ERG --------------------------------------------------------------------------------------------


def test_mrc_fixture(fixtures: Path) -> None:
    workout = import_workout(read(fixtures, "easy_spin.mrc"), "easy_spin.mrc")
    assert workout.title == "Easy Spin"
    assert workout.description == "The seed's Easy Spin: three steady blocks"
    assert wire(workout) == [
        [10.0, 50.0, 50.0, None, None, None, "Spin easy"],
        [10.0, 60.0, 60.0, None, None, None, "A little more"],
        [10.0, 45.0, 45.0],
    ]
    metrics = planned_metrics(workout.segments, 200).to_json()
    assert (metrics["normalizedPower"], metrics["intensityFactor"], metrics["tss"]) == (105.7, 0.528, 14.0)


def test_mrc_chained_points_make_ramps(fixtures: Path) -> None:
    workout = import_workout(read(fixtures, "chained_ramps.mrc"), "chained_ramps.mrc")
    assert workout.title == "chained_ramps"
    assert wire(workout) == [[5.0, 40.0, 60.0], [5.0, 60.0, 80.0], [2.0, 100.0, 100.0]]


def test_erg_fixture_converts_watts_at_the_files_ftp(fixtures: Path) -> None:
    workout = import_workout(read(fixtures, "threshold.erg"), "threshold.erg", ftp=300)  # the file's 250 wins
    assert workout.title == "Threshold"
    assert wire(workout) == [
        [10.0, 50.0, 70.0],
        [10.0, 100.0, 100.0],
        [5.0, 50.0, 50.0],
        [10.0, 100.0, 100.0],
        [10.0, 40.0, 40.0],
    ]
    # By hand at FTP 250: the ramp's mid-second samples are <= 55 % for its first 150 s; then 1200 s at
    # 100 %, 300 s at 50 % and 600 s at 40 %. Work: 600x150 + 600x250 + 300x125 + 600x250 + 600x100 J.
    metrics = planned_metrics(workout.segments, 250).to_json()
    assert metrics["timeInZones"] == [1050, 450, 0, 1200, 0, 0, 0]
    assert metrics["workKj"] == 487.5
    assert metrics["dominantZone"] == 4


def test_mrc_export_is_the_documented_layout() -> None:
    workout = Workout(
        title="Two Blocks",
        description="one\ntwo",
        segments=(Segment(10, 50, 75, type="warmup", text="go"), Segment(20 / 60, 110, 110)),
    )
    assert export_workout(workout, "mrc").content.decode() == (
        "[COURSE HEADER]\r\nVERSION = 2\r\nUNITS = ENGLISH\r\n"
        "DESCRIPTION = one two\r\nFILE NAME = Two Blocks\r\n"
        "MINUTES PERCENT\r\n[END COURSE HEADER]\r\n[COURSE DATA]\r\n"
        "0\t50\r\n10\t75\r\n10\t110\r\n10.333333\t110\r\n[END COURSE DATA]\r\n"
        "[COURSE TEXT]\r\n0\tgo\t600\r\n[END COURSE TEXT]\r\n"
    )
    erg = export_workout(workout, "erg", ftp=213).content.decode()
    assert "FTP = 213\r\nMINUTES WATTS\r\n" in erg
    assert "0\t106.5\r\n10\t159.75\r\n10\t234.3\r\n10.333333\t234.3\r\n" in erg


def test_mrc_durations_come_from_the_points_so_rounding_does_not_add_up() -> None:
    points = "".join(f"{i * 1.0004 / 60:.6f}\t50\r\n{(i + 1) * 1.0004 / 60:.6f}\t50\r\n" for i in range(1000))
    mrc = f"[COURSE HEADER]\r\nMINUTES PERCENT\r\n[END COURSE HEADER]\r\n[COURSE DATA]\r\n{points}"
    workout = import_workout(mrc.encode(), "x.mrc")
    assert len(workout.segments) == 1000
    assert workout.minutes * 60 == pytest.approx(1000.4, abs=0.001)  # each 1.000 or 1.001 s, not all 1.000


def test_erg_without_ftp_line_uses_the_athletes_ftp() -> None:
    erg = b"[COURSE HEADER]\nMINUTES WATTS\n[END COURSE HEADER]\n[COURSE DATA]\n0 150\n1 150\n"
    assert wire(import_workout(erg, "a.erg", ftp=200)) == [[1.0, 75.0, 75.0]]
    with pytest.raises(WorkoutFileError, match=r"line 4: a course in watts needs a positive FTP"):
        import_workout(erg, "a.erg")


# --- FIT ----------------------------------------------------------------------------------------------------


def fit_messages(content: bytes) -> list[tuple[str, dict[str, object]]]:
    with fitdecode.FitReader(io.BytesIO(content), check_crc=fitdecode.CrcCheck.RAISE) as reader:
        return [
            (frame.name, {f.name: f.value for f in frame.fields})
            for frame in reader
            if frame.frame_type == fitdecode.FIT_FRAME_DATA
        ]


def test_fit_export_decodes_in_fitdecode() -> None:
    content = export_fit(SAMPLE, created=datetime(2024, 5, 1, tzinfo=UTC))
    messages = fit_messages(content)
    assert messages[0] == (
        "file_id",
        {
            "type": "workout",
            "manufacturer": "development",
            "product": 0,
            "time_created": datetime(2024, 5, 1, tzinfo=UTC),
        },
    )
    assert messages[1][1] == {
        "sport": "cycling",
        "num_valid_steps": len(messages) - 2,
        "wkt_name": "Tempo & Spin",
        "wkt_description": "Builds, then holds.",
    }
    steps = [fields for name, fields in messages[2:] if name == "workout_step"]
    assert len(steps) == len(messages) - 2
    as_table = [
        (
            s["duration_time"],
            s["target_type"],
            s.get("custom_target_power_low", s.get("custom_target_value_low")),
            s["intensity"],
            s["notes"],
            s.get("secondary_custom_target_cadence_low"),
        )
        for s in steps
    ]
    # The 10 min warm-up 40->70 % as 20 steps of 30 s at the ramp's mean over each, rounded half up:
    # 40.75, 42.25, ... -> 41, 42 (42.25), 44 (43.75), ...
    warmup = [row[2] for row in as_table[:20]]
    assert warmup == [round(40 + 1.5 * k + 0.75 + 1e-9) for k in range(20)]
    assert as_table[0] == (30.0, "power", 41, "warmup", "Easy start", None)
    assert all(row[0] == 30.0 and row[3] == "warmup" and row[4] is None for row in as_table[1:20])
    assert as_table[20:26] == [
        (120.0, "power", 110, None, None, 100),
        (60.0, "power", 50, None, None, None),
        (120.0, "power", 110, None, None, 100),
        (60.0, "power", 50, None, None, None),
        (30.0, "power", 63, None, None, 90),  # 62.5 % rounds half up to FIT's whole percent
        (300.0, "open", 60, None, None, None),  # free ride: no target, planned effort kept
    ]
    cooldown = as_table[26:]
    assert [row[2] for row in cooldown] == [69, 66, 64, 61, 59, 56, 54, 51, 49, 46, 44, 41]
    assert sum(row[0] for row in cooldown) == 360.0


def test_fit_export_passes_garmins_sdk() -> None:
    content = export_fit(SAMPLE)
    decoder = Decoder(Stream.from_byte_array(bytearray(content)))
    assert decoder.is_fit() and decoder.check_integrity()
    messages, errors = Decoder(Stream.from_byte_array(bytearray(content))).read()
    assert errors == []
    assert messages["file_id_mesgs"][0]["type"] == "workout"
    assert messages["workout_mesgs"][0]["sport"] == "cycling"
    steps = messages["workout_step_mesgs"]
    assert len(steps) == messages["workout_mesgs"][0]["num_valid_steps"]
    assert steps[20]["duration_time"] == 120.0 and steps[20]["custom_target_power_low"] == 110


def test_fit_round_trip_turns_ramps_into_steps_with_the_same_load() -> None:
    back = import_workout(export_fit(SAMPLE), "x.fit")
    assert (back.title, back.description) == (SAMPLE.title, SAMPLE.description)
    assert back.minutes == pytest.approx(SAMPLE.minutes)
    before, after = planned_metrics(SAMPLE.segments, 250), planned_metrics(back.segments, 250)
    assert after.tss == pytest.approx(before.tss, rel=0.01)
    assert after.work_kj == pytest.approx(before.work_kj, rel=0.005)
    steady = [s.to_json() for s in back.segments if s.type is None]
    hard, easy = [2.0, 110.0, 110.0, 100, 100], [1.0, 50.0, 50.0]
    assert steady == [hard, easy, hard, easy, [0.5, 63.0, 63.0, 90, 90]]
    assert back.segments[-13].to_json() == [5.0, 60, 60, None, None, "freeride"]


def garmin_connect_style_fit() -> bytes:
    """A FIT workout as other tools write it: watts and %FTP ranges, an 'interval' step, a repeat step."""
    writer = FitWriter()
    writer.define(0, 0, [Field(0, BaseType.ENUM), Field(1, BaseType.UINT16), Field(2, BaseType.UINT16)])
    writer.write(0, 5, 1, 1234)  # workout, garmin
    writer.define(1, 26, [Field(4, BaseType.ENUM), Field(6, BaseType.UINT16), Field(8, BaseType.STRING, 16)])
    writer.write(1, 2, 5, "Garmin 4x4")
    fields = [254, 0, 1, 2, 3, 4, 5, 6, 7]  # message_index, wkt_step_name, duration type/value, target...
    types = [BaseType.UINT16, BaseType.STRING, BaseType.ENUM, BaseType.UINT32, BaseType.ENUM]
    types += [BaseType.UINT32, BaseType.UINT32, BaseType.UINT32, BaseType.ENUM]
    writer.define(
        2, 27, [Field(n, t, 12 if t is BaseType.STRING else 0) for n, t in zip(fields, types, strict=True)]
    )
    writer.write(2, 0, "Warm up", 0, 600_000, 4, 0, 1100, 1150, 2)  # 10 min, 100-150 W, warmup
    writer.write(2, 1, "Hard", 0, 240_000, 4, 0, 95, 105, 5)  # 4 min, 95-105 %FTP, interval
    writer.write(2, 2, "Easy", 0, 180_000, 2, None, None, None, 1)  # 3 min, open target, rest
    writer.write(2, 3, None, 6, 1, None, 4, None, None, None)  # repeat from step 1, 4 times in all
    writer.write(2, 4, "Cool", 0, 300_000, 4, 0, 40, 50, 3)  # 5 min, 40-50 %FTP, cooldown
    return writer.finish()


def test_fit_from_other_tools() -> None:
    workout = import_workout(garmin_connect_style_fit(), "garmin.fit", ftp=250)
    assert workout.title == "Garmin 4x4"
    hard, easy = [4.0, 100.0, 100.0, None, None, "active"], [3.0, 50.0, 50.0, None, None, "freeride"]
    assert wire(workout) == [
        [10.0, 50.0, 50.0, None, None, "warmup"],  # 125 W at FTP 250
        *[hard, easy] * 4,
        [5.0, 45.0, 45.0, None, None, "cooldown"],
    ]
    with pytest.raises(WorkoutFileError, match=r"workout_step message at byte \d+: .* in watts \(100 W\)"):
        import_workout(garmin_connect_style_fit(), "garmin.fit")


def test_activity_fit_is_refused(samples: Path) -> None:
    content = (samples / "fit" / "2020-06-01-16-52-40.fit").read_bytes()
    with pytest.raises(
        WorkoutFileError, match=r"file_id message at byte \d+: .*type 'activity', not a workout"
    ):
        import_workout(content, "ride.fit")


# --- dispatch -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "filename", "expected"),
    [
        (b"\x0e\x20\x00\x00\x00\x00\x00\x00.FIT", None, "fit"),
        (b"\xef\xbb\xbf  <?xml version='1.0'?><workout_file/>", None, "zwo"),
        (b"[course header]\nMINUTES WATTS\n", None, "erg"),
        (b"[COURSE HEADER]\nMINUTES PERCENT\n", "a.erg", "mrc"),  # the content wins over the name
        (b"garbage", "Workout.FIT", "fit"),  # then the name decides (and its reader refuses the garbage)
        (b"garbage", "w.zwo", "zwo"),
    ],
)
def test_detect_format(content: bytes, filename: str | None, expected: str) -> None:
    assert detect_format(content, filename) == expected


def test_unknown_content_and_name() -> None:
    with pytest.raises(WorkoutFileError, match="not a ZWO, ERG, MRC or FIT workout file"):
        import_workout(b"hello", "notes.txt")


def test_exported_file_names() -> None:
    exported = export_workout(Workout(title="Crème brûlée / 2x20", segments=(Segment(1, 50, 50),)), "zwo")
    assert isinstance(exported, ExportedFile)
    assert (exported.filename, exported.media_type) == ("Creme-brulee-2x20.zwo", "application/xml")
    assert exported.content_disposition == (
        'attachment; filename="Creme-brulee-2x20.zwo"; '
        "filename*=UTF-8''Cr%C3%A8me%20br%C3%BBl%C3%A9e%202x20.zwo"
    )
    assert export_workout(Workout(title="★", segments=(Segment(1, 50, 50),)), "fit").filename == "workout.fit"
    # A character with no ASCII form separates words rather than vanishing (a multiplication sign here).
    times = Workout(title="2\u00d720 @ FTP", segments=(Segment(1, 50, 50),))
    assert export_workout(times, "mrc").filename == "2-20-FTP.mrc"
    assert export_workout(SAMPLE, "fit").media_type == "application/vnd.ant.fit"
    assert export_workout(SAMPLE, "mrc").media_type == "text/plain; charset=utf-8"


def test_erg_export_needs_ftp() -> None:
    with pytest.raises(ValueError, match="FTP"):
        export_workout(SAMPLE, "erg")


def test_fit_strings_are_clipped_at_a_character_boundary() -> None:
    workout = Workout(title="é" * 200, description="ü" * 300, segments=(Segment(1, 50, 50, text="ö" * 500),))
    back = import_workout(export_fit(workout), "x.fit")
    assert back.title == "é" * 127  # 254 bytes of two-byte characters
    assert back.description == "ü" * 127
    assert back.segments[0].text == "ö" * 127


def test_fit_header_and_file_crc_are_valid() -> None:
    content = export_fit(SAMPLE)
    header_size, _protocol, _profile, data_size, magic = struct.unpack("<BBHI4s", content[:12])
    assert (header_size, magic, len(content)) == (14, b".FIT", 14 + data_size + 2)
