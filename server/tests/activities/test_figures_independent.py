"""Every sample recording's figures, through the API, against an independent computation written here.

The records are read with fitdecode (FIT) and lxml (TCX, GPX), never with the server's decoders, and the
figures are computed in plain Python from the definitions in docs/api.md ("How each figure is computed"):
the 1 Hz timer series, each second holding the record before it, averages over the timer seconds. The
server's figures must agree within 1 %, and ``deviceSummary`` must be the FIT session message as written.
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fitdecode
import pytest
from lxml import etree

from tests.conftest import Caller, Samples, sample_names

UPLOAD = "/api/v1/activities/upload"
FTP = 200
MAX_GAP = 10  # seconds: a longer silence is stopped, unless a smart-recorded file shows it ridden
LIMITS = {
    "power": (0, 3000),
    "heartRate": (20, 250),
    "cadence": (0, 250),
    "speed": (0, 50),
    "distance": (0, 100_000_000),
    "latitude": (-90, 90),
    "longitude": (-180, 180),
}
EARTH_RADIUS = 6_371_008.8
CYCLING = {None, "cycling", "e_biking", "training", "generic"}
# fitdecode takes some 10 s over big_activity.fit's 100,000 records and 4 s over the ELEMNT's 6.5 hours:
# those run with the slow tests.
SLOW = {"fit/big_activity.fit", "fit/2019-02-17-062644-ELEMNT-297E-195-0.fit"}
FILES = [
    pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name
    for name in sorted(
        f"{folder}/{n}" for folder in ("fit", "tcx", "gpx", "damaged") for n in sample_names(folder)
    )
]


def sample_bytes(name: str) -> bytes:
    """The recording's bytes (a copyleft one that is not at hand skips the test, with the reason)."""
    path = Samples() / name
    assert isinstance(path, Path)
    return path.read_bytes()


@dataclass
class Ride:
    times: list[float] = field(default_factory=list)  # Unix seconds, one per record
    values: list[dict[str, float]] = field(default_factory=list)
    pauses: list[tuple[float, float]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)


# --- reading the files, without the server's decoders ------------------------------------------------


def read_fit(data: bytes) -> Ride:
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    ride = Ride()
    timer: list[tuple[float, str]] = []
    semicircles = 180 / 2**31
    try:
        with fitdecode.FitReader(data, check_crc=fitdecode.CrcCheck.DISABLED) as reader:
            for frame in reader:
                if not isinstance(frame, fitdecode.FitDataMessage):
                    continue
                fields = {f.name: f.value for f in frame.fields if f.field_def is not None}
                when = fields.get("timestamp")
                if frame.name == "record" and isinstance(when, dt.datetime):
                    values: dict[str, float] = {}
                    for channel, names in (
                        ("power", ("power",)),
                        ("heartRate", ("heart_rate",)),
                        ("cadence", ("cadence",)),
                        ("speed", ("enhanced_speed", "speed")),
                        ("distance", ("distance",)),
                        ("latitude", ("position_lat",)),
                        ("longitude", ("position_long",)),
                    ):
                        for name in names:
                            if isinstance(fields.get(name), int | float):
                                values[channel] = float(fields[name])
                                break
                    for channel in ("latitude", "longitude"):
                        if channel in values:
                            values[channel] *= semicircles
                    ride.times.append(when.timestamp())
                    ride.values.append(values)
                elif frame.name == "event" and fields.get("event") == "timer":
                    if not isinstance(when, dt.datetime):
                        continue
                    timer.append((when.timestamp(), str(fields.get("event_type"))))
                elif frame.name == "session":
                    ride.sessions.append(fields)
    except fitdecode.FitError:
        pass  # a damaged file: what came before the damage is the ride
    stopped_at = None
    for when, kind in sorted(timer, key=lambda event: event[0]):
        if kind.startswith("stop") and stopped_at is None:
            stopped_at = when
        elif kind == "start" and stopped_at is not None:
            ride.pauses.append((stopped_at, when))
            stopped_at = None
    return ride


def local(element: Any) -> str:
    return etree.QName(element).localname


def read_xml(data: bytes, point_tag: str) -> Ride:
    ride = Ride()
    for point in etree.fromstring(data).iter(f"{{*}}{point_tag}"):
        values: dict[str, float] = {}
        when = None
        if point_tag == "trkpt":
            values["latitude"], values["longitude"] = float(point.get("lat")), float(point.get("lon"))
        for element in point.iter():
            name, text = local(element), (element.text or "").strip()
            if not text:
                continue
            if name in ("Time", "time"):
                when = dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
            elif name == "LatitudeDegrees":
                values["latitude"] = float(text)
            elif name == "LongitudeDegrees":
                values["longitude"] = float(text)
            elif name == "DistanceMeters":
                values["distance"] = float(text)
            elif (name == "Value" and local(element.getparent()) == "HeartRateBpm") or name == "hr":
                values["heartRate"] = float(text)
            elif name in ("Cadence", "RunCadence", "cad"):
                values["cadence"] = float(text)
            elif name in ("Watts", "power", "PowerInWatts"):
                values["power"] = float(text)
            elif name in ("Speed", "speed"):
                values["speed"] = float(text)
        if when is not None:
            ride.times.append(when)
            ride.values.append(values)
    return ride


def read(name: str) -> Ride:
    data = sample_bytes(name)
    if name.endswith(".tcx"):
        return read_xml(data, "Trackpoint")
    if name.endswith(".gpx"):
        return read_xml(data, "trkpt")
    return read_fit(data)


# --- the figures, from the definitions ---------------------------------------------------------------


def haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lat1, lon1), (lat2, lon2) = (tuple(map(math.radians, p)) for p in (a, b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS * math.asin(math.sqrt(min(h, 1.0)))


def figures(ride: Ride, sport: str | None) -> dict[str, float | None]:
    # Records in time order (ties keep file order), times as whole seconds since the first.
    order = sorted(range(len(ride.times)), key=lambda i: ride.times[i])
    start = ride.times[order[0]]
    records = []
    for i in order:
        values = dict(ride.values[i])
        for channel, (low, high) in LIMITS.items():
            if channel in values and not low <= values[channel] <= high:
                del values[channel]
        if values.get("heartRate") == 0:
            del values["heartRate"]
        if values.get("latitude") == 0 and values.get("longitude") == 0:
            del values["latitude"], values["longitude"]
        records.append((ride.times[i] - start, values))

    # Distance: the channel, else along the positions; impossible jumps and restarts add nothing.
    positions_only = not any("distance" in v for _, v in records)
    measured: list[tuple[float, float]] = []  # (time, cumulative metres)
    if positions_only:
        last, total = None, 0.0
        for t, v in records:
            if "latitude" in v and "longitude" in v:
                point = (v["latitude"], v["longitude"])
                total += haversine(last, point) if last else 0.0
                last = point
                measured.append((t, total))
    else:
        raw = [(t, v["distance"]) for t, v in records if "distance" in v]
        kept = [
            raw[k]
            for k in range(len(raw))
            if not (
                0 < k < len(raw) - 1
                and raw[k][1] - raw[k - 1][1] > max(500, 50 * max(raw[k][0] - raw[k - 1][0], 1))
                and raw[k + 1][1] - raw[k][1] < -500
            )
        ]
        total = kept[0][1] if kept else 0.0
        base = 0.0 if kept and abs(kept[0][1]) <= 500 else total
        for k, (t, d) in enumerate(kept):
            if k:
                step = d - kept[k - 1][1]
                if not (step > max(500, 50 * max(t - kept[k - 1][0], 1)) or step < -500):
                    total += step
            measured.append((t, max(total - base, 0.0)))
    distance_at = {}
    for t, d in measured:
        distance_at[round(t)] = d

    # Per whole second: the last valid value of each channel among the records in it.
    seconds: dict[int, dict[str, float]] = {}
    for t, v in records:
        seconds.setdefault(round(t), {}).update(v)
    marks = sorted(seconds)
    gaps = [b - a for a, b in itertools.pairwise(marks)]
    smart = bool(gaps) and statistics.median(gaps) > 1

    def ridden(a: int, b: int) -> bool:
        if not smart or a not in distance_at or b not in distance_at or b - a > 600:
            return False
        return 1 <= (distance_at[b] - distance_at[a]) / (b - a) <= 50

    pauses = [(p - start, q - start) for p, q in ride.pauses]
    timer: list[int] = []
    for a, b in zip(marks, [*marks[1:], None], strict=True):
        timer.append(a)
        if b is not None and (b - a <= MAX_GAP or ridden(a, b)):
            timer.extend(range(a + 1, b))
    timer = [s for s in timer if not any(p < s < q for p, q in pauses)]

    if positions_only:  # no distance across stopped gaps: they were not ridden
        total, previous = 0.0, None
        for s in marks:
            if s in distance_at:
                if previous is not None and (s - previous <= MAX_GAP or ridden(previous, s)):
                    total += distance_at[s] - distance_at[previous]
                previous = s
        distance = total if measured else None
    else:
        distance = max(distance_at.values()) if distance_at else None

    # Each timer second holds the record before it; a missing channel its last value up to 10 s old.
    series: dict[str, list[float]] = {c: [] for c in ("power", "heartRate", "cadence", "speed")}
    last_seen: dict[str, tuple[int, float]] = {}
    index = 0
    for s in timer:
        while index < len(marks) and marks[index] <= s:
            for channel, value in seconds[marks[index]].items():
                last_seen[channel] = (marks[index], value)
            index += 1
        holder = marks[index - 1]
        for channel in series:
            seen = last_seen.get(channel)
            if seen and (seen[0] == holder or s - seen[0] <= MAX_GAP):
                series[channel].append(seen[1])

    def has(channel: str) -> bool:
        return any(x != 0 for x in series[channel])

    power = series["power"] if has("power") else []
    heart = series["heartRate"] if has("heartRate") else []
    pedalling = [c for c in series["cadence"] if c > 0]
    np_watts = tss = None
    if len(power) >= 30:
        sums = [0.0]
        for watts in power:
            sums.append(sums[-1] + watts)
        rolling = [(sums[i + 30] - sums[i]) / 30 for i in range(len(power) - 29)]
        np_watts = (sum(r**4 for r in rolling) / len(rolling)) ** 0.25
        if sport in CYCLING:
            tss = len(power) * np_watts * (np_watts / FTP) / (FTP * 3600) * 100
    return {
        "elapsedSeconds": marks[-1] - marks[0] + 1,
        "timerSeconds": len(timer),
        "distanceMeters": distance,
        "averagePower": sum(power) / len(power) if power else None,
        "maxPower": max(power) if power else None,
        "normalizedPower": np_watts,
        "tss": tss,
        "workKj": sum(power) / 1000 if power else None,
        "averageHeartRate": sum(heart) / len(heart) if heart else None,
        "maxHeartRate": max(heart) if heart else None,
        "averageCadence": sum(pedalling) / len(pedalling) if pedalling else None,
        "maxSpeed": max(series["speed"]) if series["speed"] else None,
    }


SESSION_FIELDS = {
    "elapsedSeconds": "total_elapsed_time",
    "timerSeconds": "total_timer_time",
    "distanceMeters": "total_distance",
    "totalAscentMeters": "total_ascent",
    "averagePower": "avg_power",
    "maxPower": "max_power",
    "normalizedPower": "normalized_power",
    "averageHeartRate": "avg_heart_rate",
    "maxHeartRate": "max_heart_rate",
    "averageCadence": "avg_cadence",
    "workJoules": "total_work",
    "tss": "training_stress_score",
    "intensityFactor": "intensity_factor",
    "ftp": "threshold_power",
}


@pytest.mark.parametrize("name", FILES)
def test_figures_agree_with_an_independent_computation(client, factory, name):
    athlete = factory.athlete(ftp=FTP)
    caller = Caller(athlete, factory.key(athlete.id))
    data = sample_bytes(name)
    response = client.post(UPLOAD, headers=caller.headers, files={"file": (Path(name).name, data)})
    assert response.status_code == 201, response.text
    body = response.json()
    ride = read(name)
    expected = figures(ride, body["sport"])
    for figure, value in expected.items():
        if figure == "maxSpeed" and not any("speed" in v for v in ride.values):
            continue  # derived from distance or positions: not a recorded figure
        if value is None:
            assert body[figure] is None, figure
        else:
            assert body[figure] == pytest.approx(value, rel=0.01, abs=0.1), figure
    if body["averageSpeed"] is not None:
        assert body["averageSpeed"] <= body["maxSpeed"]
    assert 0 <= body["movingSeconds"] <= body["timerSeconds"] <= body["elapsedSeconds"]

    distinct = {s.get("start_time"): s for s in ride.sessions}
    if len(distinct) == 1:
        (session,) = distinct.values()
        summary = body["deviceSummary"]
        assert summary["sessions"] == 1
        for key, fit_name in SESSION_FIELDS.items():
            written = session.get(fit_name)
            if key == "averageCadence" and written is None:  # fitdecode's name for a run's sub-field
                written = session.get("avg_running_cadence")
            assert summary[key] == written, key
    elif not ride.sessions:
        assert body["deviceSummary"] is None


def test_the_same_ride_as_fit_tcx_and_gpx_agrees(client, factory):
    bodies = []
    for name in ("fit/2020-06-01-16-52-40.fit", "tcx/activity_5039744860.tcx", "gpx/activity_5039744860.gpx"):
        athlete = factory.athlete(ftp=FTP)
        caller = Caller(athlete, factory.key(athlete.id))
        data = sample_bytes(name)
        response = client.post(UPLOAD, headers=caller.headers, files={"file": (Path(name).name, data)})
        assert response.status_code == 201, response.text
        bodies.append(response.json())
    fit, tcx, gpx = bodies
    compared = 0
    for figure in (
        "elapsedSeconds", "timerSeconds", "movingSeconds", "distanceMeters", "averageSpeed", "averagePower",
        "averagePowerMoving", "maxPower", "normalizedPower", "intensityFactor", "tss", "workKj",
        "averageHeartRate", "maxHeartRate", "averageCadence", "variabilityIndex", "elevationGainMeters",
    ):  # fmt: skip
        for other in (tcx, gpx):
            if other[figure] is None:  # Garmin's GPX carries no power
                assert other is gpx and figure not in ("timerSeconds", "distanceMeters"), figure
                continue
            rel = 0.025 if other is gpx and figure in ("distanceMeters", "averageSpeed") else 0.01
            # GPX speed comes from positions: its first second may count as stopped
            slack = 1 if figure == "movingSeconds" else 0
            assert other[figure] == pytest.approx(fit[figure], rel=rel, abs=slack), figure
            compared += 1
    assert compared >= 24
    assert tcx["timeInPowerZones"] == fit["timeInPowerZones"]
    assert tcx["powerCurve"] == fit["powerCurve"]
