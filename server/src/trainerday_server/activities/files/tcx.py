"""TCX (Garmin Training Center XML) activity files → Recording.

Every timed Trackpoint is kept, with or without a position (indoor rides have none). Power comes from the
``TPX`` ``Watts`` extension and running cadence from ``RunCadence``, under any namespace prefix or the default
namespace; extensions are matched by local name for that reason. The activity's Notes become the
description, the Sport attribute a FIT sport, the Creator's name the device.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from lxml import etree

from trainerday_server.activities.recording import Recording
from trainerday_server.errors import ActivityFileError

from .build import build_recording
from .xmlfile import (
    FloatArray,
    PointFormat,
    decode_points,
    local_name,
    number,
    read_extensions,
    sport_from_text,
    text_of,
    timestamp,
)

# Trackpoint children (and extension elements) holding one number, by local name -> channel.
_VALUES = {
    "AltitudeMeters": "altitude",
    "DistanceMeters": "distance",
    "Cadence": "cadence",
    "Watts": "power",
    "Speed": "speed",
    "RunCadence": "cadence",
}
_CHANNELS = ("power", "heartRate", "cadence", "speed", "distance", "altitude", "latitude", "longitude")


def decode_tcx(content: bytes | Iterable[bytes]) -> Recording:
    """The Recording of a TCX document (bytes, or its pieces as they arrive): one activity, or one
    multisport session."""
    return decode_points(content, (TCX,))


def _recording(root: etree._Element, epoch: FloatArray, channels: dict[str, FloatArray]) -> Recording:
    sessions = [
        element
        for activities in root.iterfind("{*}Activities")
        for element in activities
        if local_name(element) in ("Activity", "MultiSportSession")
    ]
    if not sessions:
        raise ActivityFileError(
            "this TCX file holds no <Activity>: courses and workouts are plans, not recorded activities"
        )
    if len(sessions) > 1:
        raise ActivityFileError(
            f"this TCX file holds {len(sessions)} activities; upload one activity per file",
            extra={"line": sessions[1].sourceline},
        )
    first = sessions[0] if local_name(sessions[0]) == "Activity" else sessions[0].find(".//{*}Activity")
    sport, sub_sport = sport_from_text(first.get("Sport") if first is not None else None)
    return build_recording(
        format="tcx",
        epoch=epoch,
        channels=channels,
        noun="trackpoint",
        warnings=[],
        sport=sport,
        sub_sport=sub_sport,
        device=text_of(first.find("{*}Creator/{*}Name")) if first is not None else None,
        description=text_of(first.find("{*}Notes")) if first is not None else None,
    )


def _read_trackpoint(point: etree._Element, values: dict[str, float]) -> float | None:
    """A trackpoint's values and time (NaN if none); None for a course's planned points."""
    if next(point.iterancestors("{*}Activity"), None) is None:
        return None
    moment = math.nan
    for child in point:
        name = local_name(child)
        if name == "Time":
            moment = timestamp(child)
        elif name == "Position":
            for coordinate in child:
                coordinate_name = local_name(coordinate)
                if coordinate_name == "LatitudeDegrees":
                    values["latitude"] = number(coordinate)
                elif coordinate_name == "LongitudeDegrees":
                    values["longitude"] = number(coordinate)
        elif name == "HeartRateBpm":
            heart_rate = child.find("{*}Value")
            if heart_rate is not None:
                values["heartRate"] = number(heart_rate)
        elif name == "Extensions":
            read_extensions(child, _VALUES.get, values)
        elif name in _VALUES:
            values[_VALUES[name]] = number(child)
    return moment


TCX = PointFormat(
    root="TrainingCenterDatabase",
    name="TCX",
    tags=("{*}Trackpoint",),
    channels=_CHANNELS,
    read_point=_read_trackpoint,
    finish=_recording,
)
