"""The command line's parts that need no server: the key file, the upload collector and ledger, the chart."""

from __future__ import annotations

import datetime as dt
import io
import stat
import zipfile
from pathlib import Path

import pytest
from rich.console import Console

from trainerday import FitnessDay
from trainerday._cli import _config, _upload
from trainerday._cli._chart import columns_of, fitness_chart


@pytest.fixture(autouse=True)
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("TRAINERDAY_API_KEY", raising=False)
    monkeypatch.delenv("TRAINERDAY_BASE_URL", raising=False)
    return tmp_path


def test_the_key_file_is_private_even_with_a_lax_umask(dirs: Path):
    import os

    old = os.umask(0)
    try:
        path = _config.save_login("td_secret", "http://x")
    finally:
        os.umask(old)
    assert path == dirs / "config" / "trainerday" / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    login = _config.current_login()
    assert (login.api_key, login.base_url) == ("td_secret", "http://x")


def test_the_environment_wins_over_the_file(monkeypatch: pytest.MonkeyPatch):
    _config.save_login("td_file", "http://file")
    monkeypatch.setenv("TRAINERDAY_API_KEY", "td_env")
    monkeypatch.setenv("TRAINERDAY_BASE_URL", "http://env/")
    login = _config.current_login()
    assert (login.api_key, login.base_url, login.source) == ("td_env", "http://env", "TRAINERDAY_API_KEY")


def test_a_relative_xdg_path_is_ignored(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")  # the XDG spec says to ignore it
    assert _config.config_dir() == Path.home() / ".config" / "trainerday"


def test_a_corrupt_key_file_is_a_clear_error(dirs: Path):
    path = dirs / "config" / "trainerday" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(SystemExit, match="trainerday login"):
        _config.current_login()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_collect_files_folders_and_nested_zips(tmp_path: Path):
    (tmp_path / "a.FIT").write_bytes(b"fit")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.gpx.gz").write_bytes(b"gpx")
    (tmp_path / "sub" / "notes.txt").write_bytes(b"x")
    inner = _zip({"c.tcx": b"tcx", "readme.md": b"x"})
    (tmp_path / "sub" / "export.zip").write_bytes(
        _zip({"activities/d.fit.gz": b"fitgz", "nested/in.zip": inner})
    )
    (tmp_path / "given.bin").write_bytes(b"named explicitly")
    found = _upload.collect([tmp_path / "a.FIT", tmp_path / "sub", tmp_path / "given.bin", tmp_path / "nope"])
    assert [r.file_name for r in found.rides] == ["a.FIT", "b.gpx.gz", "d.fit.gz", "c.tcx", "given.bin"]
    assert [r.read() for r in found.rides] == [b"fit", b"gpx", b"fitgz", b"tcx", b"named explicitly"]
    assert found.problems == [(str(tmp_path / "nope"), "no such file or folder")]
    assert found.rides[3].label.endswith("export.zip!nested/in.zip!c.tcx")


def test_zip_bombs_and_lies_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(_upload, "MAX_RIDE_BYTES", 1000)
    (tmp_path / "video.fit").write_bytes(b"\0" * 1001)  # named on the command line, but far too big
    assert _upload.collect([tmp_path / "video.fit"]).problems[0][1] == "1,001 bytes: too large for a ride"
    (tmp_path / "bomb.zip").write_bytes(_zip({"huge.fit": b"\0" * 100_000, "ok.fit": b"x"}))
    found = _upload.collect([tmp_path / "bomb.zip"])
    assert [r.file_name for r in found.rides] == ["ok.fit"]
    assert found.problems[0][0].endswith("huge.fit") and "too large" in found.problems[0][1]
    # a directory entry that understates the size is caught while reading: reading stops at the limit
    monkeypatch.setattr(_upload, "MAX_RIDE_BYTES", 10_000)
    (ride,) = _upload.collect([_write(tmp_path / "liar.zip", _zip({"liar.fit": b"\0" * 5000}))]).rides
    monkeypatch.setattr(_upload, "MAX_RIDE_BYTES", 4000)  # as if the directory had said less than 4000
    with pytest.raises(ValueError, match="too large"):
        ride.read()


def test_zips_nested_too_deep_and_broken_zips_are_problems(tmp_path: Path):
    deep = _zip({"ride.fit": b"x"})
    for _ in range(4):
        deep = _zip({"inner.zip": deep})
    (tmp_path / "deep.zip").write_bytes(deep)
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    found = _upload.collect([tmp_path / "deep.zip", tmp_path / "broken.zip"])
    assert found.rides == []
    assert found.problems[0][1] == "archives nested too deep"
    assert "not a readable zip" in found.problems[1][1]


def test_the_ledger_is_per_account_and_survives_a_restart(tmp_path: Path):
    ledger = _upload.Ledger("http://a#1")
    digest = ledger.digest(b"ride")
    ledger.record(digest, 42)
    assert _upload.Ledger("http://a#1").known == {digest: 42}
    assert _upload.Ledger("http://a#2").known == {}
    assert stat.S_IMODE(ledger.path.parent.stat().st_mode) == 0o700
    ledger.path.write_text(ledger.path.read_text() + "garbage line\nhttp://a#1 half")  # a crash mid-write
    assert _upload.Ledger("http://a#1").known == {digest: 42}


def _write(path: Path, data: bytes | bytearray) -> Path:
    path.write_bytes(bytes(data))
    return path


def _days(count: int) -> list[FitnessDay]:
    start = dt.date(2026, 1, 1)
    return [
        FitnessDay(
            date=start + dt.timedelta(days=i), tss=50.0, ctl=i * 0.5, atl=i * 0.8, tsb=i * 0.5 - i * 0.8
        )
        for i in range(count)
    ]


def test_chart_draws_each_series_within_its_rows():
    days = _days(90)
    console = Console(width=120, record=True, color_system=None)
    console.print(fitness_chart(days, width=60, height=12))
    text = console.export_text()
    lines = text.splitlines()
    grid = lines[:12]
    assert all(len(line) <= 9 + 60 for line in grid)
    assert "2026-01-01" in lines[12] and "2026-03-31" in lines[12]
    assert "fitness (CTL) 44.5" in text and "fatigue (ATL) 71.2" in text and "form (TSB) -26.7" in text
    top_label = float(grid[0].split("│")[0])
    assert top_label == pytest.approx(71.2)  # the highest value is the top row
    assert "●" in grid[0]  # ATL reaches the top on the last day
    assert "·" in grid[-1]  # TSB reaches the bottom


def test_chart_columns_keep_the_last_day():
    days = _days(365)
    shown = columns_of(days, 60)
    assert len(shown) == 60 and shown[-1] == days[-1]
    assert columns_of(days[:5], 60) == days[:5]


def test_chart_of_nothing():
    console = Console(record=True, color_system=None)
    console.print(fitness_chart([]))
    assert "no days" in console.export_text()
