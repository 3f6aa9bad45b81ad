"""Keras cells with and without reusing a worker's traced model, interleaved in one process.

    python benchmarks/reuse.py [--cells 6] [--length 20] [--budget 4096]

For each Keras model, runs the same delayed-recall cells (seeds 0..N-1) twice, alternating cell
by cell: "fresh" as workers did before (build, trace, then clear the Keras session) and "reused"
as they do now (rnnbench.executors.hygiene.run_cell_in_worker: the traced model restarted from a
fresh build's weights). Prints the median cell seconds of each and checks the rows agree. The
first cell of each mode (TensorFlow's start-up, the first trace) is left out of the medians.
"""

from __future__ import annotations

import argparse
import statistics
import time

from rnnbench.executors.hygiene import limit_threads, run_cell_in_worker
from rnnbench.harness import run_cell
from rnnbench.models import keras_models
from rnnbench.schema import SweepCell


def fresh(cell: SweepCell):
    keras_models._reuse_on = False  # off for this cell only: the kept models stay kept
    try:
        return run_cell(cell)
    finally:
        keras_models.import_keras().backend.clear_session()
        keras_models._reuse_on = True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=6)
    parser.add_argument("--length", type=int, default=20)
    parser.add_argument("--budget", type=int, default=4096)
    args = parser.parse_args()
    limit_threads(1)
    print("| model | cells | fresh s/cell | reused s/cell | saved s/cell | rows identical |")
    print("|---|---|---|---|---|---|")
    for model in ("keras-simplernn", "keras-lstm"):
        times: dict[str, list[float]] = {"fresh": [], "reused": []}
        same = True
        for seed in range(args.cells + 1):
            cell = SweepCell(task="delayed-recall", model=model, length=args.length, seed=seed,
                             max_sequences=args.budget,
                             forget_bias=4.0 if model == "keras-lstm" else None)
            results = {}
            for mode, run in (("fresh", fresh), ("reused", run_cell_in_worker)):
                started = time.perf_counter()
                results[mode] = run(cell)
                if seed:  # the first cell pays for start-up in either mode
                    times[mode].append(time.perf_counter() - started)
            a, b = results["fresh"], results["reused"]
            same &= (a.accuracy, a.sequences_seen, a.status) == (b.accuracy, b.sequences_seen,
                                                                  b.status)
            same &= abs(a.final_loss - b.final_loss) <= 1e-6 * max(1.0, abs(a.final_loss))
        f, r = statistics.median(times["fresh"]), statistics.median(times["reused"])
        print(f"| {model} | {args.cells} | {f:.2f} | {r:.2f} | {f - r:.2f} | "
              f"{'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
