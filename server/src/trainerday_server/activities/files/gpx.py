"""GPX tracks → Recording.

A GPX file is an activity only if its track points carry times ("no time, no activity"): a file without
any is refused, and so is one where only a minority of points is timed (a drawn route that picked up a few
times on the way, such as GPSBabel's conversions); when most points are timed the untimed few are dropped
with a warning. Extensions are matched by local name under any namespace: Garmin's TrackPointExtension
(``hr``, ``cad``, ``atemp``), Strava's plain ``<power>``, and ``PowerInWatts`` from the power extension.
"""

from __future__ import annotations

from array import array

import numpy as np
from lxml import etree

from trainerday_server.activities.recording import Recording
from trainerday_server.errors import ActivityFileError

from .build import build_recording
from .xmlfile import attribute_number, local_name, number, sport_from_text, stream, text_of, timestamp

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


def decode_gpx(content: bytes) -> Recording:
    """The Recording of a GPX document: all its tracks' points, in time order."""
    epoch = array("d")  # 8 bytes a value, where a list of floats takes 32
    columns = {channel: array("d") for channel in _CHANNELS}

    def read(point: etree._Element) -> None:
        if local_name(point) == "trkpt":  # waypoints and route points are only dropped, to save memory
            epoch.append(_read_point(point, columns))

    root = stream(content, "gpx", ("{*}trkpt", "{*}wpt", "{*}rtept"), read)
    if not epoch:
        route = " (it holds a route, <rte>, which is a plan)" if root.find("{*}rte") is not None else ""
        raise ActivityFileError(f"this GPX file holds no track points (<trkpt>){route}: nothing was recorded")
    track = root.find("{*}trk")
    sport, sub_sport = sport_from_text(text_of(track.find("{*}type")) if track is not None else None)
    return build_recording(
        format="gpx",
        epoch=np.frombuffer(epoch),
        channels={channel: np.frombuffer(values) for channel, values in columns.items()},
        noun="track point",
        warnings=[],
        sport=sport,
        sub_sport=sub_sport,
        name=text_of(track.find("{*}name")) if track is not None else None,
        description=text_of(track.find("{*}desc")) if track is not None else None,
    )


def _read_point(point: etree._Element, columns: dict[str, array[float]]) -> float:
    """Append the point's values to ``columns`` (NaN where missing) and return its time (NaN if none)."""
    values = {"latitude": attribute_number(point, "lat"), "longitude": attribute_number(point, "lon")}
    moment = float("nan")
    for child in point:
        name = local_name(child)
        if name == "time":
            moment = timestamp(child)
        elif name == "ele":
            values["altitude"] = number(child)
        elif name == "extensions":
            for element in child.iter():
                channel = _EXTENSIONS.get(local_name(element).lower())
                if channel is not None and channel not in values:
                    values[channel] = number(element)
    for channel, column in columns.items():
        column.append(values.get(channel, np.nan))
    return moment
