"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def samples_dir() -> Path:
    """Real recordings shared by the team (../shared/samples), overridable with TRAINERDAY_SAMPLES_DIR."""
    return Path(os.environ.get("TRAINERDAY_SAMPLES_DIR", REPO_ROOT.parent / "shared" / "samples"))


@pytest.fixture(scope="session")
def samples() -> Path:
    path = samples_dir()
    if not path.is_dir():
        pytest.fail(f"sample recordings not found at {path}; set TRAINERDAY_SAMPLES_DIR")
    return path
