"""Build the ``trainerday`` wheel and prove it stands alone: installed into an empty virtual environment in a
temporary directory outside the repository, ``trainerday --help`` and ``--version`` run, the SDK imports, and
without the ``cli`` extra the command says which extra to install.

    python client/scripts/check_wheel.py        # exit 0 and a last line "wheel ok: ..." when it works
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

CLIENT = Path(__file__).resolve().parents[1]


def run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, args))}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def check(work: Path) -> str:
    dist = work / "dist"
    run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, CLIENT)
    (wheel,) = dist.glob("trainerday-*.whl")
    outside = work / "elsewhere"  # nothing of the repository on the path: not the cwd, not PYTHONPATH
    outside.mkdir()
    for extra, name in (("[cli]", "with-cli"), ("", "sdk-only")):
        env_dir = work / name
        venv.create(env_dir, with_pip=True)
        python = env_dir / "bin" / "python"
        run(
            python,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            f"{wheel}{extra}",
            cwd=outside,
        )
        located = run(python, "-c", "import trainerday, sys; print(trainerday.__file__)", cwd=outside).strip()
        assert located.startswith(str(env_dir)), located
        command = env_dir / "bin" / "trainerday"
        if extra:
            assert "activities" in run(command, "--help", cwd=outside)
            version = run(command, "--version", cwd=outside).strip()
            assert version.startswith("trainerday "), version
        else:
            done = subprocess.run(
                [str(command), "--help"], cwd=outside, capture_output=True, text=True, check=False
            )
            assert done.returncode != 0 and "trainerday[cli]" in done.stderr, done.stderr
    return f"{wheel.name} ({version})"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="trainerday-wheel-") as work:
        print(f"wheel ok: {check(Path(work))}")


if __name__ == "__main__":
    main()
