"""TCX and GPX decoding: every sample file, the bad ones refused precisely, hostile XML refused."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainerday_server.activities.files import xmlfile
from trainerday_server.activities.files.detect import decode_activity
from trainerday_server.activities.files.gpx import decode_gpx
from trainerday_server.activities.files.tcx import decode_tcx
from trainerday_server.errors import ActivityFileError, TrainerDayError

# name -> (samples, start, duration s, sport, {channel: samples with a value}), from SOURCES.md and the files.
GOOD = {
    "tcx/activity_5039744860.tcx": (
        96,  # 100 trackpoints, of which 4 repeat the last point of the lap before
        "2020-06-01T14:52:40",
        126,
        ("cycling", None),
        {"power": 95, "heartRate": 96, "cadence": 96, "speed": 96, "distance": 96, "altitude": 96,
         "latitude": 96, "longitude": 96},
    ),
    "tcx/2010-04-05-21-45-04.tcx": (
        5517,
        "2010-04-05T21:45:08",
        5780,
        ("cycling", None),
        {"power": 5516, "cadence": 5516, "distance": 5517, "altitude": 5517, "latitude": 5517,
         "longitude": 5517},
    ),
    "tcx/2020-02-05_17-25-14_Training-with-Notes.tcx": (
        6862,  # indoors: no position on any point, every point kept
        "2020-02-05T16:25:15.909",
        6953,
        ("cycling", None),
        {"heartRate": 6862, "cadence": 6862},
    ),
    "tcx/mapmyride_biking.tcx": (
        3112,
        "2022-11-12T15:58:25.8498",
        3111,
        ("cycling", None),
        {"distance": 3105, "altitude": 3105, "latitude": 3105, "longitude": 3105},
    ),
    "tcx/cross-country-skiing_activity_1.tcx": (
        486,
        "2020-12-26T15:14:21",
        2401,
        ("generic", None),
        {"heartRate": 486, "cadence": 486, "speed": 486, "distance": 486, "altitude": 486,
         "latitude": 486, "longitude": 486},
    ),
    "gpx/activity_5039744860.gpx": (
        96,
        "2020-06-01T14:52:40",
        126,
        ("cycling", None),
        {"heartRate": 96, "cadence": 96, "altitude": 96, "latitude": 96, "longitude": 96, "temperature": 96},
    ),
    "gpx/4078723797_strava.gpx": (
        8357,
        "2019-09-20T14:10:03",
        8356,
        ("cycling", None),  # Strava type 1: Ride
        {"power": 8357, "heartRate": 8357, "cadence": 8357, "altitude": 8357, "latitude": 8357,
         "longitude": 8357, "temperature": 8357},
    ),
    "gpx/6909869014.gpx": (
        3790,
        "2016-04-22T16:44:13",
        3789,
        ("cycling", "virtual_activity"),  # Strava type 17: a virtual ride (Zwift)
        {"power": 3790, "heartRate": 3790, "cadence": 3790, "altitude": 3790, "latitude": 3790,
         "longitude": 3790},
    ),
}  # fmt: skip

BAD = {
    "bad/MetadataOnly.gpx": "this GPX file holds no track points (<trkpt>): nothing was recorded",
    "bad/with_power_1.gpx": "none of the 80 track points has a time: no time, no activity",
    "bad/cerknicko-without-times.gpx": "only 5 of 296 track points have a time: this looks like a drawn or "
    "planned route, not a recorded activity",
    "bad/with_power_2.gpx": "not well-formed XML at line 21, column 42: Namespace prefix gpxpx on "
    "PowerExtension is not defined",
}


def test_every_sample_has_expectations(samples: Path) -> None:
    on_disk = {f"{d}/{p.name}" for d in ("tcx", "gpx", "bad") for p in (samples / d).iterdir()}
    assert on_disk == set(GOOD) | set(BAD)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_sample_decodes_as_expected(samples: Path, name: str, finite) -> None:
    count, start, duration, sport, channels = GOOD[name]
    recording = decode_activity((samples / name).read_bytes())
    assert recording.format == name[:3]
    assert recording.sample_count == count
    assert recording.start_time == datetime.fromisoformat(start).replace(tzinfo=UTC)
    assert recording.time[-1] == pytest.approx(duration, abs=1)
    assert (recording.sport, recording.sub_sport) == sport
    assert {c: finite(recording, c) for c in recording.channels} == channels
    assert recording.warnings == []
    assert recording.summary is None  # TCX and GPX are computed from their samples


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_sample_is_refused_precisely(samples: Path, name: str) -> None:
    with pytest.raises(ActivityFileError) as raised:
        decode_activity((samples / name).read_bytes())
    assert raised.value.detail == BAD[name]
    assert raised.value.status == 400


def test_tcx_metadata(samples: Path) -> None:
    with_notes = decode_activity((samples / "tcx/2020-02-05_17-25-14_Training-with-Notes.tcx").read_bytes())
    assert with_notes.device == "Polar Vantage V"
    assert with_notes.description is not None
    assert with_notes.description.startswith("- immer noch den Muskelkater in beiden Oberschenkeln")
    edge = decode_activity((samples / "tcx/activity_5039744860.tcx").read_bytes())
    assert edge.device == "Garmin Edge 1000"
    assert edge.channels["power"][:3].tolist() == [162, 148, 157]  # ns3:TPX/ns3:Watts
    assert edge.channels["speed"][0] == pytest.approx(6.438000202178955)  # ns3:TPX/ns3:Speed


def test_gpx_metadata_and_extensions(samples: Path) -> None:
    strava = decode_activity((samples / "gpx/4078723797_strava.gpx").read_bytes())
    assert strava.name == "De benen op spanning zetten met Martijn"
    assert (strava.channels["latitude"][0], strava.channels["longitude"][0]) == (50.392568, 5.900304)
    assert strava.channels["heartRate"][0] == 111 and strava.channels["temperature"][0] == 18
    zwift = decode_activity((samples / "gpx/6909869014.gpx").read_bytes())
    assert zwift.name == "Zwift Session"
    assert zwift.channels["power"][:2].tolist() == [62, 78]  # plain <power>, Strava style


TCX = """<?xml version="1.0" encoding="UTF-8"?>
<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
    xmlns:x="http://www.garmin.com/xmlschemas/ActivityExtension/v2">
 <Activities>{activities}</Activities>
</TrainingCenterDatabase>"""
ACTIVITY = """<Activity Sport="Running"><Id>2024-01-01T10:00:00Z</Id>
<Lap StartTime="2024-01-01T10:00:00Z"><Track>
 <Trackpoint><Time>2024-01-01T10:00:00Z</Time><HeartRateBpm><Value>120</Value></HeartRateBpm>
  <Extensions><x:TPX><x:RunCadence>85</x:RunCadence><x:Watts>250</x:Watts></x:TPX></Extensions></Trackpoint>
 <Trackpoint><Time>2024-01-01T11:00:01+01:00</Time><HeartRateBpm><Value>121</Value></HeartRateBpm></Trackpoint>
 <Trackpoint><HeartRateBpm><Value>122</Value></HeartRateBpm></Trackpoint>
 <Trackpoint><Time>2024-01-01T10:00:03</Time></Trackpoint>
</Track></Lap></Activity>"""


def test_tcx_trackpoints_offsets_and_untimed_points() -> None:
    recording = decode_tcx(TCX.format(activities=ACTIVITY).encode())
    assert (recording.sport, recording.sub_sport) == ("running", None)
    np.testing.assert_array_equal(recording.time, [0, 1, 3])  # +01:00 honoured, no offset means UTC
    np.testing.assert_array_equal(recording.channels["heartRate"], [120, 121, np.nan])
    np.testing.assert_array_equal(recording.channels["cadence"], [85, np.nan, np.nan])  # RunCadence
    np.testing.assert_array_equal(recording.channels["power"], [250, np.nan, np.nan])
    assert recording.warnings == ["1 of 4 trackpoints have no time and were left out"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (TCX.format(activities=""), "holds no <Activity>: courses and workouts are plans"),
        (TCX.format(activities=ACTIVITY * 2), "holds 2 activities; upload one activity per file"),
        (
            TCX.format(activities=ACTIVITY.replace("<Time>2024-01-01T10:00:03</Time>", "<Time>soon</Time>")),
            "line 10: <Time> holds 'soon', which is not a time",
        ),
        (
            TCX.format(activities=ACTIVITY.replace("2024-01-01T10:00:03", "1989-12-31T00:00:00")),
            "line 10: <Time> holds '1989-12-31T00:00:00', which is not a time from 2000 to 2099",
        ),
        (
            TCX.format(activities=ACTIVITY.replace("<Value>121</Value>", "<Value>1e2.5</Value>")),
            "line 8: <Value> holds '1e2.5', which is not a number",
        ),
        (TCX.replace("TrainingCenterDatabase", "Other"), "not a TCX file: the root element is <Other>"),
    ],
)
def test_unusable_tcx_is_refused_saying_where(document: str, message: str) -> None:
    with pytest.raises(ActivityFileError) as raised:
        decode_tcx(document.encode())
    assert message in raised.value.detail


GPX = """<?xml version="1.0" encoding="{encoding}"?>
<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"
  xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"
  xmlns:gpxpx="http://www.garmin.com/xmlschemas/PowerExtension/v1">
 <trk><name>Ride</name><desc>Évening ride</desc><type>cycling</type><trkseg>
  <trkpt lat="46.5" lon="6.6"><ele>400</ele><time>2024-05-01T17:00:00Z</time>
   <extensions><gpxpx:PowerExtension><gpxpx:PowerInWatts>210</gpxpx:PowerInWatts></gpxpx:PowerExtension>
    <gpxtpx:TrackPointExtension><gpxtpx:hr>130</gpxtpx:hr><gpxtpx:cad>88</gpxtpx:cad></gpxtpx:TrackPointExtension>
   </extensions></trkpt>
  <trkpt lat="46.5001" lon="6.6001"><ele>401</ele><time>2024-05-01T17:00:01Z</time></trkpt>
 </trkseg></trk>
</gpx>"""


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_gpx_power_extension_and_encodings(encoding: str) -> None:
    recording = decode_activity(GPX.format(encoding=encoding).encode(encoding))
    assert (recording.name, recording.description) == ("Ride", "Évening ride")
    np.testing.assert_array_equal(recording.channels["power"], [210, np.nan])
    np.testing.assert_array_equal(recording.channels["heartRate"], [130, np.nan])
    np.testing.assert_array_equal(recording.channels["latitude"], [46.5, 46.5001])


def test_gpx_route_is_not_an_activity() -> None:
    route = '<gpx xmlns="http://www.topografix.com/GPX/1/1"><rte><rtept lat="1" lon="2"/></rte></gpx>'
    with pytest.raises(ActivityFileError, match=r"holds a route, <rte>, which is a plan"):
        decode_gpx(route.encode())


def test_gpx_with_most_points_timed_keeps_the_timed_ones() -> None:
    document = GPX.format(encoding="utf-8").replace(
        "</trkseg>", '<trkpt lat="46.5002" lon="6.6002"><ele>402</ele></trkpt></trkseg>'
    )
    recording = decode_gpx(document.encode())
    assert recording.sample_count == 2
    assert recording.warnings == ["1 of 3 track points have no time and were left out"]


def test_coordinates_out_of_range_are_dropped() -> None:
    document = GPX.format(encoding="utf-8").replace('lat="46.5001"', 'lat="146.5"')
    recording = decode_gpx(document.encode())
    np.testing.assert_array_equal(recording.channels["latitude"], [46.5, np.nan])


def test_times_spanning_years_are_refused() -> None:
    document = GPX.format(encoding="utf-8").replace("2024-05-01T17:00:01Z", "2031-05-01T17:00:01Z")
    with pytest.raises(ActivityFileError, match=r"span 2,556 days .* at most 7 days"):
        decode_gpx(document.encode())


@pytest.mark.parametrize(
    ("moment", "accepted"),
    [
        ("0001-01-01T00:00:00+23:59", False),  # year 0 in UTC, which datetime cannot hold
        ("9999-12-31T23:00:00Z", False),  # an athlete's time zone ahead would take it past 9999
        ("1999-12-31T23:59:59Z", False),
        ("2000-01-01T00:30:00+01:00", False),  # 1999 in UTC
        ("2000-01-01T00:00:00Z", True),
        ("2099-12-31T23:59:59Z", True),
        ("2100-01-01T00:00:00Z", False),
    ],
)
def test_times_from_2000_to_2099_only(moment: str, accepted: bool) -> None:
    document = GPX.format(encoding="utf-8").replace("2024-05-01T17:00:00Z", moment)
    document = document.replace("2024-05-01T17:00:01Z", moment)
    if accepted:
        assert decode_gpx(document.encode()).start_time == datetime.fromisoformat(moment)
        return
    with pytest.raises(ActivityFileError) as raised:
        decode_gpx(document.encode())
    assert raised.value.detail == f"line 6: <time> holds {moment!r}, which is not a time from 2000 to 2099"
    assert raised.value.extra == {"line": 6}


def test_points_are_bounded(monkeypatch) -> None:
    """An empty point is 8 bytes: 50 MB of them once cost 44 s and 1.5 GB."""
    monkeypatch.setattr(xmlfile, "MAX_POINTS", 3)
    document = GPX.format(encoding="utf-8").replace("</trkseg>", "<trkpt/></trkseg>")
    assert decode_gpx(document.encode()).sample_count == 2
    with pytest.raises(ActivityFileError) as raised:
        decode_gpx(document.replace("</trkseg>", '<trkpt lat="1" lon="1"/></trkseg>').encode())
    assert raised.value.detail == "this GPX file holds over 3 points, too many for one activity (line 11)"
    monkeypatch.setattr(xmlfile, "MAX_POINTS", 4)
    tcx = TCX.format(activities=ACTIVITY)  # 4 trackpoints
    decode_tcx(tcx.encode())
    with pytest.raises(ActivityFileError, match=r"^this TCX file holds over 4 points, too many for one"):
        decode_tcx(tcx.replace("<Trackpoint>", "<Trackpoint/><Trackpoint>", 1).encode())


# --- hostile XML -------------------------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE gpx [
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
<gpx><trk><name>&lol9;</name><trkseg><trkpt lat="1" lon="1"><time>2024-01-01T00:00:00Z</time></trkpt>
</trkseg></trk></gpx>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE gpx [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<gpx><trk><name>&secret;</name><trkseg><trkpt lat="1" lon="1"><time>2024-01-01T00:00:00Z</time></trkpt>
</trkseg></trk></gpx>"""
EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE TrainingCenterDatabase SYSTEM "http://127.0.0.1:9/evil.dtd">
<TrainingCenterDatabase><Activities/></TrainingCenterDatabase>"""
PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE gpx [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd"> %remote;]>
<gpx/>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY])
def test_dtds_and_entities_are_refused_quickly(document: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ActivityFileError) as raised:
        decode_activity(document.encode())
    assert time.perf_counter() - started < 1.0
    assert "root:" not in raised.value.detail  # nothing of /etc/passwd leaks into the message
    assert "document type declaration" in raised.value.detail or "not well-formed" in raised.value.detail


def test_deep_nesting_and_huge_text_hit_the_parser_limits() -> None:
    deep = "<gpx>" + "<a>" * 100_000 + "</a>" * 100_000 + "</gpx>"
    with pytest.raises(ActivityFileError, match="not well-formed XML"):
        decode_activity(deep.encode())
    huge = "<gpx><trk><name>" + "x" * 20_000_000 + "</name></trk></gpx>"
    with pytest.raises(ActivityFileError, match="not well-formed XML"):
        decode_activity(huge.encode())


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mangled_xml_never_raises_untyped_errors(data: st.DataObject) -> None:
    document = bytearray(GPX.format(encoding="utf-8").encode() if data.draw(st.booleans()) else
                         TCX.format(activities=ACTIVITY).encode())  # fmt: skip
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(document) - 1))
        document[at : at + data.draw(st.integers(0, 4))] = data.draw(st.binary(max_size=4))
    try:
        decode_activity(bytes(document))
    except TrainerDayError as exc:
        assert exc.status == 400
