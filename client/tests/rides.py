"""Rides the tests write themselves: small TCX recordings (1 Hz power, heart rate, cadence, distance) with a
start time of the test's choosing, so that every ride is a distinct one to the server's duplicate check."""

from __future__ import annotations

import datetime as dt
import gzip
import math

NS = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
EXT = "http://www.garmin.com/xmlschemas/ActivityExtension/v2"


def tcx_ride(start: dt.datetime, minutes: float = 20, *, watts: int = 200, name: str | None = None) -> bytes:
    """A steady ride at about ``watts`` with 30 s surges, one trackpoint a second."""
    points = []
    distance = 0.0
    for second in range(int(minutes * 60)):
        power = watts + (80 if (second // 30) % 4 == 0 else 0) + int(10 * math.sin(second / 7))
        speed = 6.0 + power / 100
        distance += speed
        when = (start + dt.timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%SZ")
        points.append(
            f"<Trackpoint><Time>{when}</Time><DistanceMeters>{distance:.1f}</DistanceMeters>"
            f"<HeartRateBpm><Value>{120 + power // 10}</Value></HeartRateBpm><Cadence>90</Cadence>"
            f'<Extensions><TPX xmlns="{EXT}"><Speed>{speed:.2f}</Speed><Watts>{power}</Watts></TPX>'
            "</Extensions></Trackpoint>"
        )
    begin = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    notes = f"<Notes>{name}</Notes>" if name else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><TrainingCenterDatabase xmlns="{NS}"><Activities>'
        f'<Activity Sport="Biking"><Id>{begin}</Id><Lap StartTime="{begin}">'
        f"<TotalTimeSeconds>{minutes * 60:.0f}</TotalTimeSeconds><Track>{''.join(points)}</Track></Lap>"
        f"{notes}</Activity></Activities></TrainingCenterDatabase>"
    ).encode()


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


ZWO = b"""<workout_file><author>tests</author><name>Sweet Spot 2x10</name>
<description>two blocks</description>
<sportType>bike</sportType><workout>
<Warmup Duration="300" PowerLow="0.50" PowerHigh="0.75"/>
<SteadyState Duration="600" Power="0.90"/>
<SteadyState Duration="300" Power="0.55"/>
<SteadyState Duration="600" Power="0.90"/>
<Cooldown Duration="300" PowerLow="0.70" PowerHigh="0.45"/>
</workout></workout_file>
"""
