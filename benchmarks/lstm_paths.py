"""Ways to run keras-lstm's training on TensorFlow's CPU, timed side by side in one process.

    python benchmarks/lstm_paths.py [--lengths 100,500] [--repeats 3]

Each variant trains the same LSTM (batch 128, 64 units, delayed recall) on the same chunk of the
harness's default 2,048 sequences; the table gives ms per training step (best of the repeats,
the variants interleaved so that a busy machine slows them alike) and the speed-up over
`model.fit`, the harness's path before it stepped through `train_on_batch`:
  fit             one `model.fit(chunk)` per chunk: Keras's own loop, with its per-call set-up
  train_on_batch  rnnbench's KerasModel.train: the same steps, one `train_on_batch` each
  xla             the same with `jit_compile=True` (XLA)
  unroll          `LSTM(unroll=True)`: the time loop written out in the graph (length <= 100)
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

BATCH, UNITS = 128, 64
UNROLL_MAX_LENGTH = 100  # beyond it the written-out graph takes minutes to compile


def variants(task, length: int) -> dict:
    from rnnbench.models import keras_models

    keras = keras_models.import_keras()
    built = {
        "fit": keras_models.lstm(task, UNITS, 0, batch_size=BATCH),
        "train_on_batch": keras_models.lstm(task, UNITS, 0, batch_size=BATCH),
        "xla": keras_models.lstm(task, UNITS, 0, batch_size=BATCH, jit_compile=True),
    }
    if length <= UNROLL_MAX_LENGTH:
        layer = keras.layers.LSTM(UNITS, unroll=True)
        built["unroll"] = keras_models.build_keras_model(task, layer, 0, batch_size=BATCH)
    return built


def train_chunk(name: str, model, x: np.ndarray, y: np.ndarray) -> None:
    if name == "fit":
        model.model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    else:
        model.train(x, y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="100,500")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import pandas as pd

    from rnnbench.registry import tasks
    from rnnbench.schema import DEFAULT_CHUNK_SIZE

    task = tasks.get("delayed-recall")()
    rows = []
    for length in (int(v) for v in args.lengths.split(",")):
        x, y = task.generate(DEFAULT_CHUNK_SIZE, length, np.random.default_rng(0))
        models = variants(task, length)

        for name, model in models.items():  # warm-up: tracing and compilation
            train_chunk(name, model, x, y)
        best = dict.fromkeys(models, float("inf"))
        for _ in range(args.repeats):
            for name, model in models.items():
                start = time.perf_counter()
                train_chunk(name, model, x, y)
                best[name] = min(best[name], time.perf_counter() - start)
        steps = DEFAULT_CHUNK_SIZE / BATCH
        for name in models:
            rows.append({"length": length, "variant": name, "step_ms": best[name] / steps * 1e3,
                         "speed_up": best["fit"] / best[name]})
        print(f"length {length} done", flush=True)
    with pd.option_context("display.float_format", "{:.2f}".format):
        print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
