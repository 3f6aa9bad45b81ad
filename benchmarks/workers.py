"""Throughput of `rnnbench sweep` with 1 and with 2 (or more) local workers.

    python benchmarks/workers.py                      # the default study, tasks/teaching.toml
    python benchmarks/workers.py tasks/smoke.toml --workers 1,2 -- --model numpy-rnn --seeds 4

Each run is a fresh `python -m rnnbench.cli sweep SPEC --workers N --out <temp> --quiet` (so the
times include starting the workers), from this checkout. Prints cells per minute for each N, the
ratio to the first N, and the load average, since other work on the machine skews the numbers.
Goal on a 2-core machine: 2 workers >= 1.8x the throughput of 1.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(spec: str, workers: int, extra: list[str], out: Path) -> tuple[float, int]:
    """Seconds taken and rows written by one sweep."""
    path = os.pathsep.join(p for p in [str(REPO), os.environ.get("PYTHONPATH", "")] if p)
    env = {**os.environ, "PYTHONPATH": path}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    command = [sys.executable, "-m", "rnnbench.cli", "sweep", spec, "--workers", str(workers),
               "--out", str(out), "--quiet", *extra]
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    with open(out, newline="", encoding="utf-8") as f:
        rows = sum(1 for _ in csv.DictReader(f))
    return seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(REPO / "tasks" / "teaching.toml"))
    parser.add_argument("--workers", default="1,2", help="comma list of worker counts")
    parser.add_argument("extra", nargs=argparse.REMAINDER,
                        help="after --: more `rnnbench sweep` options, e.g. --model numpy-rnn")
    args = parser.parse_args()
    extra = [a for a in args.extra if a != "--"]
    counts = [int(n) for n in args.workers.split(",")]
    print(f"study {args.spec} {' '.join(extra)}; {os.cpu_count()} cores; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    base = None
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            seconds, rows = run(args.spec, n, extra, Path(tmp) / f"workers{n}.csv")
            per_minute = rows / seconds * 60
            base = base or per_minute
            print(f"--workers {n}: {rows} cells in {seconds:.1f}s = {per_minute:.1f} cells/min "
                  f"({per_minute / base:.2f}x of --workers {counts[0]}); "
                  f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
