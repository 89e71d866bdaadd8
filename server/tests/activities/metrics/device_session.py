"""TEST HELPER ONLY: the head unit's own session message of a real ride, to check our figures against.

The rides themselves are decoded with the real decoder (``activities.files.decode_upload``); its
``DeviceSummary`` keeps only what the API reports, so the device's other figures (Normalized Power, total
work) are read here, from the first session message, with fitdecode.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any, NamedTuple

import fitdecode

from trainerday_server.activities.files import decode_upload
from trainerday_server.activities.recording import Recording


class FitRide(NamedTuple):
    recording: Recording
    session: dict[str, Any]  # the first session message's fields, for checks against the device


def load_fit(path: Path) -> FitRide:
    data = path.read_bytes()
    return FitRide(decode_upload(data).recording, device_session(data))


def device_session(data: bytes) -> dict[str, Any]:
    """The first session message's fields (empty when the file has none); ``data`` may be gzipped."""
    if data.startswith(b"\x1f\x8b"):
        data = gzip.decompress(data)
    with fitdecode.FitReader(data, check_crc=fitdecode.CrcCheck.DISABLED) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "session":
                return {field.name: field.value for field in frame.fields}
    return {}
