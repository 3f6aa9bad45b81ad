"""Milliseconds per training step of every built-in model, beside bare Keras and the GEMM bound.

    python benchmarks/steps.py [--lengths 100,500] [--backends tensorflow,jax] [--models ...]
                               [--batch 128] [--units 64]

For each installed Keras backend (each in its own process, since Keras fixes its backend at
import) and each built-in model, at batch 128 and 64 units (or --batch, --units; the studies'
shape is --batch 64 --units 32):
  step ms     one training step through the model's own `train` (steady state, after warm-up)
  seq us      the same per sequence, in microseconds: step ms / batch
  fit ms      the same Keras layer trained with a bare `model.fit` on the same arrays
              (both timed interleaved across all models of a length, best of STEP_REPEATS)
  cell s      a whole harness cell (build, grad_ratio_init, then 4 chunks of the default 2,048
              sequences: generate / train / evaluate on the default 1,000 held-out sequences)
  bare s      the same model built and fitted by one bare `model.fit` on the same budget
              (pre-made arrays, generation time added): `overhead %` is cell against this
  bare+eval s the same, but fitted chunk by chunk with a `predict_on_batch` of the held-out set
              after each, as the cell evaluates: `over eval %` is cell against this
  bound ms    the step's multiply-add FLOPs divided by this machine's single-core matmul rate
  data %      generating the cell's chunks and held-out set, as a share of the cell's time
The cell, bare and data timings are each the best of REPEATS interleaved runs.
All numbers of one table come from one run, so their ratios hold on a noisy shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
# The parent hands --batch and --units to each backend's worker process through the environment.
BATCH = int(os.environ.get("RNNBENCH_STEPS_BATCH", "128"))
UNITS = int(os.environ.get("RNNBENCH_STEPS_UNITS", "64"))
CHUNKS = 4  # chunks of the harness's default size in the cell measured against bare Keras
REPEATS = 2  # of the cell and bare runs, interleaved; the best of each counts
STEP_REPEATS = 5  # of the step timings, interleaved across models; the best of each counts
# The parent measures the matmul rate once and hands it to each backend's worker process.
GFLOPS = float(os.environ.get("RNNBENCH_GFLOPS", "0")) or None


def matmul_gflops(batch: int = BATCH, units: int = UNITS) -> float:
    """Single-core float32 rate on products the size of an LSTM step's, in GFLOP/s."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.random((batch, units + units), dtype=np.float32)
    b = rng.random((units + units, 4 * units), dtype=np.float32)
    with threadpool_limits(1, "blas"):
        for _ in range(200):
            a @ b
        n = 5000
        start = time.perf_counter()
        for _ in range(n):
            a @ b
        seconds = time.perf_counter() - start
    return 2 * a.shape[0] * a.shape[1] * b.shape[1] * n / seconds / 1e9


# Weights one step of each model multiplies by, as a function of (D, H): its matmul work per
# sequence-step (element-wise work is left out, as the bound is a GEMM bound). Unlisted: an LSTM.
STEP_WEIGHTS = {
    "numpy-rnn": lambda D, H: (D + H) * H,
    "keras-simplernn": lambda D, H: (D + H) * H,
    "numpy-indrnn": lambda D, H: D * H + H * H,  # u * h is element-wise; layer 2's input is H
    "numpy-exprnn": lambda D, H: (D + H) * H,  # plus one expm per update, left out
    "numpy-mingru": lambda D, H: D * 2 * H,  # two input projections, nothing on h
    "numpy-gru": lambda D, H: (D + H) * 3 * H,  # three gates' products
    "keras-gru": lambda D, H: (D + H) * 3 * H,
}


def step_flops(model: str, length: int, input_dim: int) -> float:
    """Multiply-adds of forward + backward (about 3x forward) of one step over the sequence."""
    weights = STEP_WEIGHTS.get(model, lambda D, H: (D + H) * 4 * H)(input_dim, UNITS)
    forward = 2 * BATCH * weights * length
    return 3.0 * forward


def step_times(names: list[str], length: int) -> dict[str, dict[str, float]]:
    """ms per training step of each model (and of a bare `model.fit` for Keras models), timed
    interleaved: every repeat runs each model once, and the fastest repeat counts, so a busy
    spell on a shared machine slows all the models of a repeat alike rather than one model."""
    from rnnbench.registry import models, tasks

    task = tasks.get("delayed-recall")()
    steps = max(4, 4000 // length)
    x, y = task.generate(BATCH * steps, length, np.random.default_rng(0))
    runs = {}
    for name in names:
        model = models.get(name)(task, UNITS, 0, batch_size=BATCH)
        model.train(x[: 2 * BATCH], y[: 2 * BATCH])  # warm-up: tracing, compilation, caches
        runs[(name, "step_ms")] = lambda model=model: model.train(x, y)
        keras_model = getattr(model, "model", None)
        if keras_model is not None:
            keras_model.fit(x[: 2 * BATCH], y[: 2 * BATCH], batch_size=BATCH, verbose=0)
            runs[(name, "fit_ms")] = lambda keras_model=keras_model: keras_model.fit(
                x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(STEP_REPEATS):
        for key, run in runs.items():
            start = time.perf_counter()
            run()
            best[key] = min(best[key], time.perf_counter() - start)
    times: dict[str, dict[str, float]] = {name: {} for name in names}
    for (name, column), seconds in best.items():
        times[name][column] = seconds / steps * 1e3
    return times


def time_model(name: str, length: int, backend: str) -> dict:
    from rnnbench.harness import run_cell
    from rnnbench.models.keras_models import KerasModel
    from rnnbench.registry import models, tasks
    from rnnbench.schema import DEFAULT_CHUNK_SIZE, DEFAULT_EVAL_SIZE, SweepCell

    task = tasks.get("delayed-recall")()
    factory = models.get(name)
    row = {"backend": backend, "model": name, "length": length}

    # A whole cell through the harness against bare Keras doing the same, same budget and model:
    # the harness's default chunk and held-out set, four chunks.
    budget = CHUNKS * DEFAULT_CHUNK_SIZE
    cell = SweepCell("delayed-recall", name, length, 0, units=UNITS, max_sequences=budget,
                     batch_size=BATCH, solve_threshold=1.01, backend=backend)

    def bare_train(model, x, y) -> None:
        if isinstance(model, KerasModel):
            model.model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
        else:
            model.train(x, y)

    def bare_predict(model, x) -> None:
        if isinstance(model, KerasModel):
            model.model.predict_on_batch(x)
        else:
            model.predict(x)

    def time_cell() -> float:
        start = time.perf_counter()
        result = run_cell(cell)
        if result.status != "ok":
            raise RuntimeError(f"{name} at length {length}: {result.status}: {result.error}")
        return time.perf_counter() - start

    def time_data() -> float:  # what the cell generates: its chunks and its held-out set
        rng = np.random.default_rng(1)
        start = time.perf_counter()
        for _ in range(CHUNKS):
            task.generate(DEFAULT_CHUNK_SIZE, length, rng)
        task.generate(DEFAULT_EVAL_SIZE, length, rng)
        return time.perf_counter() - start

    xb, yb = task.generate(budget, length, np.random.default_rng(1))
    x_eval, _ = task.generate(DEFAULT_EVAL_SIZE, length, np.random.default_rng(2))

    def time_bare() -> float:  # built, then one bare fit on pre-made arrays
        start = time.perf_counter()
        bare_train(factory(task, UNITS, 0, batch_size=BATCH), xb, yb)
        return time.perf_counter() - start

    def time_bare_eval() -> float:  # the same plus the held-out evaluation after each chunk
        start = time.perf_counter()
        bare = factory(task, UNITS, 0, batch_size=BATCH)
        for start_at in range(0, budget, DEFAULT_CHUNK_SIZE):
            chunk = slice(start_at, start_at + DEFAULT_CHUNK_SIZE)
            bare_train(bare, xb[chunk], yb[chunk])
            bare_predict(bare, x_eval)
        return time.perf_counter() - start

    # Interleaved repeats, best of each: a busy spell then slows one repeat of all four alike.
    timers = {"cell_s": time_cell, "data_s": time_data, "bare_s": time_bare,
              "bare_eval_s": time_bare_eval}
    best = dict.fromkeys(timers, float("inf"))
    for _ in range(REPEATS):
        for key, timer in timers.items():
            best[key] = min(best[key], timer())
    row.update(best)
    row["bare_s"] += row["data_s"]  # the bare runs had their data made for them
    row["bare_eval_s"] += row["data_s"]
    row["bound_ms"] = step_flops(name, length + 2, task.input_dim) / (GFLOPS * 1e9) * 1e3
    return row


def worker(backend: str, lengths: list[int], names: list[str]) -> None:
    os.environ["KERAS_BACKEND"] = backend
    from rnnbench.registry import models

    rows = []
    names = [name for name in names if name in models]
    for length in lengths:
        steps = step_times(names, length)
        for name in names:
            rows.append({**time_model(name, length, backend), **steps[name]})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(json.dumps(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="100,500")
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--models", default="numpy-rnn,keras-simplernn,numpy-lstm,keras-lstm,"
                        "numpy-gru,keras-gru")
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--units", type=int, default=UNITS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    lengths = [int(v) for v in args.lengths.split(",")]
    names = args.models.split(",")
    if args.worker:
        worker(args.worker, lengths, names)
        return

    import importlib.util

    import pandas as pd

    os.environ["RNNBENCH_STEPS_BATCH"] = str(args.batch)
    os.environ["RNNBENCH_STEPS_UNITS"] = str(args.units)
    gflops = matmul_gflops(args.batch, args.units)
    B, H = args.batch, args.units
    print(f"single-core float32 matmul ({B}x{2 * H} @ {2 * H}x{4 * H}): "
          f"{gflops:.1f} GFLOP/s")
    rows = []
    for backend in args.backends.split(","):
        if importlib.util.find_spec(backend) is None:
            print(f"backend {backend}: not installed, skipped")
            continue
        env = {**os.environ, "RNNBENCH_GFLOPS": str(gflops), "RNNBENCH_NO_PLUGINS": "1",
               "TF_CPP_MIN_LOG_LEVEL": "2"}
        numpy_names = [n for n in names if n.startswith("numpy")]
        run_names = names if backend == "tensorflow" else [n for n in names if n not in numpy_names]
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", backend, "--lengths", args.lengths,
             "--models", ",".join(run_names)],
            capture_output=True, text=True, env=env, cwd=REPO,
        )
        if proc.returncode != 0:
            print(f"backend {backend}: failed\n{proc.stderr[-2000:]}")
            continue
        rows += json.loads(proc.stdout.strip().splitlines()[-1])
    df = pd.DataFrame(rows)
    df["overhead_%"] = (df["cell_s"] / df["bare_s"] - 1) * 100
    df["over_eval_%"] = (df["cell_s"] / df["bare_eval_s"] - 1) * 100
    df["data_%"] = df["data_s"] / df["cell_s"] * 100
    df["seq_us"] = df["step_ms"] / args.batch * 1e3
    columns = ["backend", "model", "length", "step_ms", "seq_us", "fit_ms", "bound_ms", "cell_s",
               "bare_s", "bare_eval_s", "overhead_%", "over_eval_%", "data_%"]
    with pd.option_context("display.width", 200, "display.float_format", "{:.1f}".format):
        print(df[[c for c in columns if c in df]].to_string(index=False))


if __name__ == "__main__":
    main()
