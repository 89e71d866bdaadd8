"""`make bench`: every benchmark in this folder, one after another, each printing its own figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = sorted(
    p for p in HERE.glob("*.py") if p.name not in {"run.py", "common.py"} and not p.name.startswith("_")
)

if __name__ == "__main__":
    failed = []
    for bench in BENCHMARKS:
        print(f"\n=== {bench.stem} ===", flush=True)
        if subprocess.run([sys.executable, str(bench)]).returncode != 0:
            failed.append(bench.stem)
    if failed:
        sys.exit(f"benchmarks failed: {', '.join(failed)}")
