"""docs/sdk.md's quick starts run exactly as written against the real server."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rides import tcx_ride

import trainerday as td

DOC = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"


def block(marker: str) -> str:
    found = re.search(
        rf"<!-- test: {re.escape(marker)}[^>]*-->\n```\w+\n(.*?)```", DOC.read_text(), re.DOTALL
    )
    assert found, f"no block marked {marker} in {DOC}"
    return found.group(1)


def planned_tss(ftp: int) -> float:
    """The quick start's workout's TSS, computed here: its 1 Hz profile (ramps linear), NP and TSS."""
    watts: list[float] = []
    for minutes, start, end in [[10, 50, 75], [20, 90, 90], [10, 55, 45]]:
        seconds = minutes * 60
        watts += [ftp * (start + (end - start) * (i + 0.5) / seconds) / 100 for i in range(seconds)]
    rolling = [sum(watts[i - 29 : i + 1]) / 30 for i in range(29, len(watts))]
    normalized = (sum(p**4 for p in rolling) / len(rolling)) ** 0.25
    return len(watts) * normalized * (normalized / ftp) / (ftp * 3600) * 100


def test_the_python_quick_start(live_server, account, monkeypatch: pytest.MonkeyPatch):
    code = block("quickstart-python")
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    with td.Client(api_key=account.api_key, base_url=live_server.base_url) as client:
        client.activities.upload(tcx_ride(dt.datetime(2026, 1, 2, 9, tzinfo=dt.UTC), 5), file_name="r.tcx")
    monkeypatch.setenv("TRAINERDAY_API_KEY", account.api_key)
    monkeypatch.setenv("TRAINERDAY_BASE_URL", live_server.base_url)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(DOC), "exec"), {})  # noqa: S102 - the documentation's own code
    lines = printed.getvalue().splitlines()
    assert lines[0].endswith("FTP 265 W, threshold from 239 W")  # Z4 starts above 90 % of 265 W (238.5)
    planned = re.fullmatch(r"planned Sweet spot: TSS (\d+)", lines[1])
    assert planned and abs(int(planned.group(1)) - planned_tss(265)) <= 1
    assert lines[2].startswith("2026-01-02 ")
    with td.Client(api_key=account.api_key, base_url=live_server.base_url) as client:
        tomorrow = dt.date.today() + dt.timedelta(days=1)
        assert [e.title for e in client.calendar.list(tomorrow, tomorrow)] == ["Sweet spot"]


def test_the_cli_quick_start(live_server, account, tmp_path: Path):
    script = block("quickstart-cli")
    (tmp_path / "rides").mkdir()
    (tmp_path / "rides" / "ride.tcx").write_bytes(tcx_ride(dt.datetime(2026, 1, 3, 9, tzinfo=dt.UTC), 5))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TRAINERDAY_", "XDG_"))},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path / "home"),
        "TRAINERDAY_API_KEY": account.api_key,
        "TRAINERDAY_BASE_URL": live_server.base_url,
        "COLUMNS": "200",
    }
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "home" / ".config" / "trainerday" / "config.json").exists()
    listed = json.loads(done.stdout[done.stdout.rindex("\n[") :])
    assert [ride["name"] for ride in listed] == ["Morning Ride"]
