"""A worker's resident memory (RSS) over many cells, run in one process with no recycling.

    python benchmarks/memory.py                       # 200 cells, keras-lstm and keras-simplernn
    python benchmarks/memory.py --cells 60 --models keras-lstm --csv /tmp/rss.csv

Runs the cells the way a local sweep worker does (rnnbench.executors): threads capped as for two
workers, then `run_cell_in_worker` on each cell, which runs the cell and then does the worker's
per-cell clean-up. Unlike a sweep, the process is never replaced (a sweep replaces its workers
after DEFAULT_CELLS_PER_WORKER cells), so this shows whether the clean-up alone keeps memory flat.
The cells are small (delayed recall, length 10, a tiny budget: about a second each); models
alternate and the seed changes every cell, so no two cells are the same.

Prints the RSS after cells 1, 20, 50, 100 and the last, and the growth from cell 20 to the last
in percent (the goal: within 10%). `--csv` writes the RSS after every cell.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

REPORT_AT = (1, 20, 50, 100, 200)
FROM_CELL = 20  # growth is measured from here: the first cells load libraries and warm caches


def rss_mb() -> float:
    """This process's resident set size in MB (psutil if installed, else /proc/self/statm)."""
    try:
        import psutil
    except ImportError:
        with open("/proc/self/statm", encoding="ascii") as f:
            resident_pages = int(f.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    return psutil.Process().memory_info().rss / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--models", default="keras-lstm,keras-simplernn")
    parser.add_argument("--task", default="delayed-recall")
    parser.add_argument("--length", type=int, default=10)
    parser.add_argument("--max-sequences", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1,
                        help="thread cap, as a worker of a 2-worker sweep on 2 cores has")
    parser.add_argument("--backend", default=None, help="Keras backend (default: KERAS_BACKEND)")
    parser.add_argument("--csv", type=Path, help="write cell, model, seconds, rss_mb per cell")
    args = parser.parse_args()

    from rnnbench import executors

    executors.limit_threads(args.threads)  # first, as in a worker: before TensorFlow starts
    from rnnbench.backends import current_backend, select_backend
    from rnnbench.registry import load_plugins
    from rnnbench.schema import SweepCell

    backend = select_backend(args.backend or current_backend())
    load_plugins()
    names = args.models.split(",")
    rows = []
    start_mb = rss_mb()
    print(f"before any cell: {start_mb:.0f} MB (backend {backend}, {args.threads} thread(s))")
    for i in range(1, args.cells + 1):
        cell = SweepCell(args.task, names[(i - 1) % len(names)], args.length, seed=i,
                         max_sequences=args.max_sequences, chunk_size=args.max_sequences // 2,
                         eval_size=200, backend=backend)
        started = time.perf_counter()
        result = executors.run_cell_in_worker(cell)
        seconds = time.perf_counter() - started
        if result.status != "ok":
            raise SystemExit(f"cell {i} ({cell.model}): {result.status}: {result.error}")
        rows.append((i, cell.model, seconds, rss_mb()))
        if i in REPORT_AT or i == args.cells:
            print(f"cell {i:>4}: {rows[-1][3]:7.0f} MB  ({seconds:.2f} s for this cell)",
                  flush=True)
    if args.csv:
        args.csv.write_text("cell,model,seconds,rss_mb\n" + "".join(
            f"{i},{m},{s:.3f},{r:.1f}\n" for i, m, s, r in rows), encoding="utf-8")
    if args.cells >= FROM_CELL:
        at_from, at_end = rows[FROM_CELL - 1][3], rows[-1][3]
        print(f"growth from cell {FROM_CELL} to cell {args.cells}: "
              f"{(at_end / at_from - 1) * 100:+.1f}% ({at_from:.0f} -> {at_end:.0f} MB)")


if __name__ == "__main__":
    main()
