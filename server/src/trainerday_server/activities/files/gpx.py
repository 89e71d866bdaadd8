"""GPX tracks → Recording.

A GPX file is an activity only if its track points carry times ("no time, no activity"): a file without
any is refused, and so is one where only a minority of points is timed (a drawn route that picked up a few
times on the way, such as GPSBabel's conversions); when most points are timed the untimed few are dropped
with a warning. Extensions are matched by local name under any namespace: Garmin's TrackPointExtension
(``hr``, ``cad``, ``atemp``), Strava's plain ``<power>``, and ``PowerInWatts`` from the power extension.
"""

from __future__ import annotations

import numpy as np
from lxml import etree  # type: ignore[import-untyped]

from trainerday_server.activities.recording import Recording
from trainerday_server.errors import ActivityFileError

from .build import build_recording
from .xmlfile import attribute_number, local_name, number, parse_xml, sport_from_text, text_of, timestamp

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
    return gpx_recording(parse_xml(content))


def gpx_recording(root: etree._Element) -> Recording:
    """The Recording of a parsed GPX document: all its tracks' points, in time order."""
    if local_name(root) != "gpx":
        raise ActivityFileError(f"not a GPX file: the root element is <{local_name(root)}>")
    points = list(root.iter("{*}trkpt"))
    if not points:
        route = " (it holds a route, <rte>, which is a plan)" if root.find("{*}rte") is not None else ""
        raise ActivityFileError(f"this GPX file holds no track points (<trkpt>){route}: nothing was recorded")

    epoch = np.empty(len(points))
    columns = {channel: np.full(len(points), np.nan) for channel in _CHANNELS}
    for index, point in enumerate(points):
        epoch[index] = _read_point(point, columns, index)
    track = root.find("{*}trk")
    sport, sub_sport = sport_from_text(text_of(track.find("{*}type")) if track is not None else None)
    return build_recording(
        format="gpx",
        epoch=epoch,
        channels=columns,
        noun="track point",
        warnings=[],
        sport=sport,
        sub_sport=sub_sport,
        name=text_of(track.find("{*}name")) if track is not None else None,
        description=text_of(track.find("{*}desc")) if track is not None else None,
    )


def _read_point(point: etree._Element, columns: dict[str, np.ndarray], index: int) -> float:
    """Fill row ``index`` of ``columns`` from the point and return its time (NaN if it has none)."""
    columns["latitude"][index] = attribute_number(point, "lat")
    columns["longitude"][index] = attribute_number(point, "lon")
    moment = float("nan")
    for child in point:
        name = local_name(child)
        if name == "time":
            moment = timestamp(child)
        elif name == "ele":
            columns["altitude"][index] = number(child)
        elif name == "extensions":
            for element in child.iter():
                channel = _EXTENSIONS.get(local_name(element).lower())
                if channel is not None and np.isnan(columns[channel][index]):
                    columns[channel][index] = number(element)
    return moment
