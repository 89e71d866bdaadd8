"""Metrics shared by several worker processes: the directory ``prometheus-client`` keeps them in."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_metrics_directory() -> Path:
    """Use ``PROMETHEUS_MULTIPROC_DIR`` (emptied: files of earlier runs would be summed in) or a new one.

    Call before any worker starts: the workers inherit the variable and ``prometheus-client`` reads it when
    it is first imported. Imports nothing of ``prometheus_client`` itself, for the same reason.
    """
    configured = os.environ.get(MULTIPROCESS_ENV)
    if configured:
        path = Path(configured)
        if path.exists():
            for entry in path.glob("*.db"):
                entry.unlink()
        path.mkdir(parents=True, exist_ok=True)
    else:
        path = Path(tempfile.mkdtemp(prefix="trainerday-metrics-"))
        os.environ[MULTIPROCESS_ENV] = str(path)
    return path


def remove_metrics_directory(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
