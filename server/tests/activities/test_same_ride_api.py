"""One ride recorded as FIT and exported as TCX or GPX, uploaded through the API: what each field agrees on.

Each file goes to its own athlete (the second would be a duplicate of the first), both at FTP 250 W and
LTHR 165 bpm. Where the FIT's session carries the device's own figures, the API reports them only where the
FIT's records bear them out within 2 % (``metrics._prefer_device``); an export carries the records without
the device's summary. So every field agrees within the issue's 2 %, except where a figure is defined
differently on the two sides or the export's format does not carry it. Those are:

- ``timerSeconds`` and ``movingSeconds``: a device measures its timer, an export's seconds are counted,
  one more per stretch of riding. The 2-minute Edge 1000 ride reports 93.7 s (its records cover 53 s + 41 s
  around a 32 s pause) where its TCX and GPX count 54 + 42 = 96 seconds: 2 s in 96 (2.1 %), the two
  stretches. So these agree within 2 % or one second per stretch of the export, whichever is more. On the
  139-minute ride (no pause) 8,355.6 s against 8,357 s, and moving 8,092 against 8,091 s.
- ``averageSpeed`` is distance over moving time on both sides, so it agrees as far as those two do
  (7.131 m/s = 668.19 m / 93.7 s against the TCX's 6.960 m/s = 668.2 m / 96 s). Checked as that identity
  on each side; ``movingSeconds`` is whole seconds in the API, so the identity holds to half a second of it.
- ``averagePower``: the Edge 1000 of the 139-minute ride averages every timer second with zeros: 219 W,
  which is the export's work over its timer time (1,830.8 kJ / 8,357 s = 219.1 W), against the export's
  average over moving seconds, 226.3 W (3.3 % apart). The 2-minute ride's Edge averaged like us: 149 W
  against the TCX's 149.3 W. Which definition each device used is written in ``PAIRS``.
- A GPX has no distance or speed channel, only positions. Its distance is measured along them and leaves
  out what the device counted before its first record and in the second after the pause: 653.3 m against
  the FIT's 668.2 m (2.2 %), of which 6.6 m are in the first record and 7.7 m in the first after the pause.
  So a GPX's distance is compared with what the FIT's own distance stream counted from record to record,
  never across a pause (653.9 m; 57,567 m on the long ride, where the GPX gives 57,570.5 m). Its maximum
  speed is the difference of two GPS fixes (8.476 m/s against the device's smoothed 7.875 m/s: 7.6 %) and
  is not compared.
- Garmin Connect's GPX export drops power: every power figure of that GPX is null.

Time in zones: each zone within 2 % of the FIT's moving time; the power curve within 2 % at every duration
both rides have (the last point of each is its own length).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from tests.conftest import Caller, Factory
from trainerday_server.activities.metrics import MAX_GAP_SECONDS


@dataclass(frozen=True)
class Pair:
    fit: str
    export: str
    device_average_power: str  # "moving": over moving seconds, as we do; "with zeros": every timer second


PAIRS = [
    Pair("fit/2020-06-01-16-52-40.fit", "tcx/activity_5039744860.tcx", "moving"),
    Pair("fit/2020-06-01-16-52-40.fit", "gpx/activity_5039744860.gpx", "moving"),
    Pair("fit/4078723797.fit", "gpx/4078723797_strava.gpx", "with zeros"),
]
WITHIN_2_PERCENT = [  # the same definition on both sides
    "elapsedSeconds",
    "distanceMeters",
    "elevationGainMeters",
    "maxSpeed",
    "averagePower",
    "maxPower",
    "normalizedPower",
    "intensityFactor",
    "tss",
    "workKj",
    "averageHeartRate",
    "maxHeartRate",
    "averageCadence",
    "variabilityIndex",
]
POWER = {
    "averagePower",
    "maxPower",
    "normalizedPower",
    "intensityFactor",
    "tss",
    "workKj",
    "variabilityIndex",
    "timeInPowerZones",
    "powerCurve",
}


def rider(client: TestClient, factory: Factory) -> Caller:
    athlete = factory.athlete(ftp=250)
    caller = Caller(athlete, factory.key(athlete.id))
    assert client.patch("/api/v1/athlete", headers=caller.headers, json={"lthr": 165}).status_code == 200
    return caller


def uploaded(client: TestClient, caller: Caller, path: Path) -> dict[str, Any]:
    response = client.post(
        "/api/v1/activities/upload", headers=caller.headers, files={"file": (path.name, path.read_bytes())}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def streams(client: TestClient, caller: Caller, activity: dict[str, Any]) -> dict[str, Any]:
    url = f"/api/v1/activities/{activity['id']}/streams?types=distance,speed"
    response = client.get(url, headers=caller.headers)
    assert response.status_code == 200
    return dict(response.json())


def counted_from_record_to_record(stream: dict[str, Any]) -> float:
    """What a distance stream counted between consecutive records, never across a pause."""
    time = np.asarray(stream["time"], dtype=float)
    distance = np.array([np.nan if d is None else d for d in stream["distance"]], dtype=float)
    valid = np.isfinite(distance)
    steps, gaps = np.diff(distance[valid]), np.diff(time[valid])
    return float(steps[gaps <= MAX_GAP_SECONDS].sum())


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"{Path(p.fit).stem}-{Path(p.export).suffix[1:]}")
def test_a_fit_and_its_export_agree_through_the_api(client, factory, samples, pair):
    fit_caller, export_caller = rider(client, factory), rider(client, factory)
    fit = uploaded(client, fit_caller, samples / pair.fit)
    export = uploaded(client, export_caller, samples / pair.export)
    export_streams = streams(client, export_caller, export)
    position_only = export_streams["distance"] is None and export_streams["speed"] is None
    stretches = 1 + int(np.count_nonzero(np.diff(export_streams["time"]) > MAX_GAP_SECONDS))

    assert (fit["startTime"], fit["startTimeLocal"]) == (export["startTime"], export["startTimeLocal"])
    compared = []
    for name in WITHIN_2_PERCENT:
        if name in POWER and export[name] is None:
            assert fit[name] is not None and pair.export.startswith("gpx/activity_"), name  # Garmin's GPX
            continue
        if position_only and name in ("distanceMeters", "maxSpeed"):
            continue  # below
        if name == "averagePower" and pair.device_average_power == "with zeros":
            with_zeros = export["workKj"] * 1000 / export["timerSeconds"]
            assert fit[name] == pytest.approx(with_zeros, rel=0.02), name
        else:
            assert fit[name] == pytest.approx(export[name], rel=0.02), name
        compared.append(name)
    assert len(compared) >= (5 if export["averagePower"] is None else 12)

    for name in ("timerSeconds", "movingSeconds"):  # measured on the device, counted in the export
        assert abs(fit[name] - export[name]) <= max(0.02 * export[name], stretches), name
    for body in (fit, export):
        assert body["averageSpeed"] * body["movingSeconds"] == pytest.approx(
            body["distanceMeters"], abs=0.5 * body["averageSpeed"] + 0.1
        )
    if position_only:
        ridden = counted_from_record_to_record(streams(client, fit_caller, fit))
        assert export["distanceMeters"] == pytest.approx(ridden, rel=0.02)

    for name in ("timeInPowerZones", "timeInHeartRateZones"):
        if export[name] is not None:
            np.testing.assert_allclose(export[name], fit[name], atol=0.02 * fit["movingSeconds"])
    if export["powerCurve"] is not None:
        shared = min(len(export["powerCurve"]["seconds"]), len(fit["powerCurve"]["seconds"])) - 1
        assert export["powerCurve"]["seconds"][:shared] == fit["powerCurve"]["seconds"][:shared]
        np.testing.assert_allclose(
            export["powerCurve"]["watts"][:shared], fit["powerCurve"]["watts"][:shared], rtol=0.02
        )

    # Where the device's own figure differs from the records' by more than 5 %, it is named.
    device_notes = [w for w in fit["warnings"] if w.startswith("the device's")]
    if pair.fit == "fit/2020-06-01-16-52-40.fit":
        assert device_notes == ["the device's elapsed time 113 s differs by 11% from the records' 127 s"]
    else:
        assert device_notes == []
    assert 0 <= fit["movingSeconds"] <= fit["timerSeconds"] <= fit["elapsedSeconds"]
