"""Synthetic rides: realistic-looking, reproducible recordings of any length, for benchmarks and tests
(a 10-hour 1 Hz ride for the memory budget, long rides for metrics) without shipping recorded files."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from trainerday_server.activities.fitexport import recording_to_fit
from trainerday_server.activities.recording import Recording

START = datetime(2024, 6, 1, 6, 0, tzinfo=UTC)


def synthetic_ride(hours: float = 10.0, *, seed: int = 0, pauses: int = 3) -> Recording:
    """An outdoor ride recorded at 1 Hz with every channel: steady riding with hard intervals, a lagging heart
    rate, rolling hills, and ``pauses`` coffee stops during which the recorder's timer stops (no samples)."""
    rng = np.random.default_rng(seed)
    seconds = int(hours * 3600)
    time = np.arange(seconds, dtype=np.float64)
    pause_list = []
    for number in range(1, pauses + 1):  # evenly spread stops of 5 to 15 minutes, with no samples
        low = float(time[seconds * number // (pauses + 1)])
        high = low + float(rng.integers(300, 900))
        time[time >= low] += high - low
        pause_list.append((low, high))
    power = 180 + 25 * rng.standard_normal(seconds)
    intervals = (time // 60) % 20 < 4  # 4 minutes hard every 20
    power[intervals] += 140
    power = np.clip(power, 0, None).round()
    heart_rate = np.clip(95 + 0.25 * np.convolve(power, np.ones(60) / 60, mode="same"), 60, 200).round()
    altitude = 120 + 80 * np.sin(time / 1800) + 15 * np.sin(time / 170)
    speed = np.clip(4 + power / 50 - 2 * np.gradient(altitude), 1, 20)
    distance = np.cumsum(speed)
    heading = time / 7200
    return Recording(
        format="fit",
        start_time=START,
        time=time,
        channels={
            "power": power,
            "heartRate": heart_rate,
            "cadence": np.clip(88 + 4 * rng.standard_normal(seconds), 0, None).round(),
            "speed": speed,
            "distance": distance,
            "altitude": altitude,
            "latitude": 47.0 + distance * np.cos(heading) / 111_000,
            "longitude": 8.0 + distance * np.sin(heading) / 76_000,
            "temperature": np.full(seconds, 18.0),
        },
        sport="cycling",
        sub_sport="road",
        pauses=pause_list,
    )


def synthetic_ride_fit(hours: float = 10.0, *, seed: int = 0, pauses: int = 3) -> bytes:
    """``synthetic_ride`` as a FIT activity file with its session summary, as a head unit would upload it."""
    return recording_to_fit(synthetic_ride(hours, seed=seed, pauses=pauses), ftp=250)
