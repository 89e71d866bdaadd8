"""The built wheel installs into an empty virtual environment outside the repository and its command runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_the_wheel_stands_alone(tmp_path: Path):
    if importlib.util.find_spec("build") is None:
        pytest.fail("the build package is missing: make install-test installs it")
    script = Path(__file__).resolve().parents[1] / "scripts" / "check_wheel.py"
    spec = importlib.util.spec_from_file_location("check_wheel", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_wheel"] = module
    spec.loader.exec_module(module)
    assert module.check(tmp_path).startswith("trainerday-")
