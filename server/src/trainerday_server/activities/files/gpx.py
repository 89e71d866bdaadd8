"""GPX tracks → Recording.

A GPX file is an activity only if its track points carry times ("no time, no activity"): a file without
any is refused, and so is one where only a minority of points is timed (a drawn route that picked up a few
times on the way, such as GPSBabel's conversions); when most points are timed the untimed few are dropped
with a warning. Extensions are matched by local name under any namespace: Garmin's TrackPointExtension
(``hr``, ``cad``, ``atemp``), Strava's plain ``<power>``, and ``PowerInWatts`` from the power extension.
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
    attribute_number,
    decode_points,
    local_name,
    number,
    read_extensions,
    sport_from_text,
    text_of,
    timestamp,
)

# Extension elements holding one number, by lower-case local name -> channel.
_EXTENSIONS = {
    "hr": "heartRate",
    "heartrate": "heartRate",
    "cad": "cadence",
    "cadence": "cadence",
    "atemp": "temperature",
    "power": "power",
    "powerinwatts": "power",
    "speed": "speed",
}
_CHANNELS = ("power", "heartRate", "cadence", "speed", "altitude", "latitude", "longitude", "temperature")


def decode_gpx(content: bytes | Iterable[bytes]) -> Recording:
    """The Recording of a GPX document (bytes, or its pieces as they arrive): all its tracks' points, in
    time order."""
    return decode_points(content, (GPX,))


def _recording(root: etree._Element, epoch: FloatArray, channels: dict[str, FloatArray]) -> Recording:
    if not epoch.size:
        route = " (it holds a route, <rte>, which is a plan)" if root.find("{*}rte") is not None else ""
        raise ActivityFileError(f"this GPX file holds no track points (<trkpt>){route}: nothing was recorded")
    track = root.find("{*}trk")
    sport, sub_sport = sport_from_text(text_of(track.find("{*}type")) if track is not None else None)
    return build_recording(
        format="gpx",
        epoch=epoch,
        channels=channels,
        noun="track point",
        warnings=[],
        sport=sport,
        sub_sport=sub_sport,
        name=text_of(track.find("{*}name")) if track is not None else None,
        description=text_of(track.find("{*}desc")) if track is not None else None,
    )


def _read_point(point: etree._Element, values: dict[str, float]) -> float | None:
    """A track point's values and time (NaN if none); None for waypoints and route points, which are only
    dropped (streamed past to save memory)."""
    if local_name(point) != "trkpt":
        return None
    values["latitude"] = attribute_number(point, "lat")
    values["longitude"] = attribute_number(point, "lon")
    moment = math.nan
    for child in point:
        name = local_name(child)
        if name == "time":
            moment = timestamp(child)
        elif name == "ele":
            values["altitude"] = number(child)
        elif name == "extensions":
            read_extensions(child, _extension_channel, values)
    return moment


def _extension_channel(name: str) -> str | None:
    return _EXTENSIONS.get(name.lower())


GPX = PointFormat(
    root="gpx",
    name="GPX",
    tags=("{*}trkpt", "{*}wpt", "{*}rtept"),
    channels=_CHANNELS,
    read_point=_read_point,
    finish=_recording,
)
