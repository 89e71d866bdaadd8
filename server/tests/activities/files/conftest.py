"""Fixtures for the activity-file tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from trainerday_server.activities.recording import Recording


def _finite(recording: Recording, channel: str) -> int:
    values = recording.channels.get(channel)
    return 0 if values is None else int(np.isfinite(values).sum())


@pytest.fixture(scope="session")
def finite() -> Callable[[Recording, str], int]:
    """How many samples of a channel hold a value (0 when the channel is absent)."""
    return _finite
