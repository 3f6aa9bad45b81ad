"""A Keras cell's fixed cost (build, trace, clean-up) against a 512-sequence cell, in one run.

    python benchmarks/fixed_cost.py [--models keras-lstm,keras-simplernn,keras-gru]
                                    [--lengths 5,20,50,100] [--cells 5] [--budget 512]

Issue 18 asks that a Keras cell's fixed cost be at most half of a 512-sequence cell at the
studies' shapes (batch 64, 32 units, delayed recall at the teaching study's lags). The cells run
in this one process as a sweep worker runs them (`run_cell_in_worker`: the registered cell
scopes, the reuse of traced models, the clean-up), seeds 0..N-1 of one (model, length) after
another. The first cell of each (model, length) traces; the others are the steady state a worker
settles into.

Per cell the script times its phases by wrapping the functions that do them:
- `build`: the model factory (layers, initializers from the seed, and either the restart of the
  kept traced model or a compile), of which `restart` is copying the weights into the kept model
  and zeroing its optimizer;
- `grad`: `grad_ratio_init` (the NumPy twin built from the Keras weights);
- `train`, `predict`: the model's `train` and `predict` calls (a first call traces inside them);
- `scope`: what `run_cell_in_worker` adds around `run_cell` (entering and leaving the cell
  scopes, dropping TensorFlow's custom gradients);
- `cell`: the whole `run_cell_in_worker`.

Two tables from the same cells: wall seconds, and this process's CPU seconds (all its threads;
TensorFlow's pools are held to one thread each, as in a worker). On a machine shared with other
jobs the wall times stretch with the load, the CPU times much less.

The work a cell cannot avoid is its training steps and its held-out evaluation, measured after
the cells on the kept traced model, best of 3: `work` = training `budget` sequences in batches of
64 + predicting the held-out set. The fixed cost is `cell - work`, and `fixed %` its share of the
cell: the issue's ratio, target at most 50%.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from rnnbench import harness
from rnnbench.executors import hygiene
from rnnbench.executors.hygiene import limit_threads
from rnnbench.models import keras_models
from rnnbench.schema import SweepCell

FORGET_BIAS = {"keras-lstm": 4.0, "keras-gru": 1.0}  # each at a value the teaching study runs
PHASES = ("build", "restart", "grad", "train", "predict", "scope", "cell")
spent: dict[str, float] = defaultdict(float)  # phase -> wall seconds; "phase cpu" -> CPU seconds


def timed(phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[phase] += time.perf_counter() - started
            spent[f"{phase} cpu"] += time.process_time() - cpu

    return wrapper


@contextlib.contextmanager
def instrumented() -> Iterator[None]:
    """Wrap the phase functions where the harness and the worker look them up."""
    patches = [
        (harness, "make_model", timed("build", harness.make_model)),
        (keras_models, "_restart", timed("restart", keras_models._restart)),
        (harness, "first_to_last_ratio", timed("grad", harness.first_to_last_ratio)),
        (keras_models.KerasModel, "train", timed("train", keras_models.KerasModel.train)),
        (keras_models.KerasModel, "predict", timed("predict", keras_models.KerasModel.predict)),
        (hygiene, "run_cell", timed("run_cell", hygiene.run_cell)),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for owner, name, new in patches:
        setattr(owner, name, new)
    try:
        yield
    finally:
        for owner, name, old in saved:
            setattr(owner, name, old)


def run_one(cell: SweepCell) -> dict[str, float]:
    spent.clear()
    result = timed("cell", hygiene.run_cell_in_worker)(cell)
    phases = dict(spent)
    phases["scope"] = phases["cell"] - phases.pop("run_cell", 0.0)
    phases["scope cpu"] = phases["cell cpu"] - phases.pop("run_cell cpu", 0.0)
    if result.status != "ok":
        raise SystemExit(f"cell {cell} ended {result.status}: {result.error}")
    return phases


def work_seconds(cell: SweepCell, repeats: int = 3) -> tuple[float, float]:
    """Training `cell.max_sequences` sequences and one held-out evaluation on the kept model:
    the best wall and CPU seconds of `repeats`."""
    task = harness.make_task(cell)
    x, y = task.generate(cell.max_sequences, cell.length, np.random.default_rng(99))
    x_eval, _ = task.generate(cell.eval_size, cell.length, np.random.default_rng(98))
    model = harness.make_model(cell, task)  # restarts the kept traced model: no trace here
    wall, cpu = np.inf, np.inf
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        model.train(x, y)
        model.predict(x_eval)
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - cpu_started)
    return float(wall), float(cpu)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="keras-lstm,keras-simplernn,keras-gru")
    parser.add_argument("--lengths", default="5,20,50,100")  # the teaching study's lags
    parser.add_argument("--cells", type=int, default=5)
    parser.add_argument("--budget", type=int, default=512)
    args = parser.parse_args()
    limit_threads(1)
    started = time.perf_counter()
    keras_models.import_keras()
    print(f"Keras import: {time.perf_counter() - started:.2f} s")
    rows: dict[str, list[str]] = {"Wall": [], "CPU": []}
    with instrumented():
        for model in args.models.split(","):
            for length in (int(v) for v in args.lengths.split(",")):
                cells = [SweepCell(task="delayed-recall", model=model, length=length, seed=seed,
                                   max_sequences=args.budget, units=32, batch_size=64,
                                   forget_bias=FORGET_BIAS.get(model))
                         for seed in range(args.cells)]
                runs = [run_one(cell) for cell in cells]
                works = work_seconds(cells[0])
                for clock, suffix, work in (("Wall", "", works[0]), ("CPU", " cpu", works[1])):
                    for label, chosen in (("first", runs[:1]), ("steady", runs[1:])):
                        med = {p: statistics.median(r.get(p + suffix, 0.0) for r in chosen)
                               for p in PHASES}
                        fixed = med["cell"] - work
                        rows[clock].append(
                            f"| {model} | {length} | {label} ({len(chosen)}) | "
                            + " | ".join(f"{med[p]:.3f}" for p in PHASES)
                            + f" | {work:.3f} | {fixed:.3f} | {100 * fixed / med['cell']:.0f} |")
    head = ["model", "length", "cells", *PHASES, "work", "fixed", "fixed %"]
    for clock, lines in rows.items():
        print(f"\n{clock} seconds, median over the cells of each row:\n")
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        print("\n".join(lines))

if __name__ == "__main__":
    main()
