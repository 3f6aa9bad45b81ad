"""What errors at every step cost numpy-lstm1997's compiled online path: ms per training sequence
with every step scored, over ms with the last step scored, at the same T, in one run.

    $ python benchmarks/lstm1997_every_step.py            # T = 100, 2,000 sequences
    $ python benchmarks/lstm1997_every_step.py --steps 20 --sequences 5000

For each of the paper's nets whose task signals errors at every step or whose size is typical
(the adding net of Exp. 4, 93 weights; Exp. 3's, 102; Exp. 1's, 276; Exp. 2a's, 10,504, with 101
output units), the same random sequences are trained twice from the same weights, online, with
per-step targets on every step or one target at the end; each figure is the best of --repeats.
Inputs: one-hot random symbols for the symbol tasks' nets, U[-1, 1] otherwise.
One thread. The issue's bound: at most 2x for the nets whose output layer is small; a net with
101 output units (Exp. 2a) pays its output layer's 10,302 weights at every step, not once.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402

from rnnbench.models import lstm1997_compiled  # noqa: E402
from rnnbench.models.lstm1997 import Net1997, NumpyLSTM1997  # noqa: E402
from rnnbench.registry import tasks  # noqa: E402

NETS = {  # label: the task whose reference net it is
    "adding (Exp. 4, 93 weights)": "adding-1997",
    "2-sequence (Exp. 3, 102)": "noisy-sequence-1997",
    "Reber 3x2 (Exp. 1, 276)": "embedded-reber-1997",
    "2a (Exp. 2a, 10,504)": "two-sequence-1997",
}


def timed(model_factory, x, d, lengths, mask, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        model = model_factory()
        t0 = time.perf_counter()
        model.train(x, d, lengths, mask) if mask is not None else model.train(x, d, lengths)
        best = min(best, time.perf_counter() - t0)
    return 1e3 * best / len(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--sequences", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if lstm1997_compiled.kernel() is None:
        raise SystemExit("numba is not installed: the compiled online path is what is measured")
    rng = np.random.default_rng(0)
    n, T = args.sequences, args.steps
    print(f"T = {T}, {n} sequences, online SGD, compiled; ms per sequence, best of "
          f"{args.repeats}")
    print("| net | last step | every step | ratio |")
    print("|---|---|---|---|")
    for label, task_name in NETS.items():
        ref = tasks.get(task_name)().reference
        shape = tasks.get(task_name)()
        D, K = int(shape.input_dim), int(shape.output_dim)
        task = SimpleNamespace(name=task_name, input_dim=D, output_dim=K, reference=ref)
        net = Net1997.from_task(task)
        one_hot = np.eye(D)[rng.integers(0, D, (n, T))]  # the symbol tasks' inputs
        x = one_hot if K > 1 else rng.uniform(-1, 1, (n, T, D))
        lengths = np.full(n, T)
        d_last = rng.uniform(0, 1, (n, K))  # regression-style targets: any kind costs the same
        d_every = rng.uniform(0, 1, (n, T, K))
        every = np.ones((n, T), bool)
        kind = "regression" if K == 1 else "classification"
        if kind == "classification":
            d_last = rng.integers(0, K, n)

        def last_model(net=net, kind=kind):
            return NumpyLSTM1997(net, kind, 0, use_compiled=True)

        def every_model(net=net, kind=kind):
            return NumpyLSTM1997(net, kind, 0, use_compiled=True, every_step=True)

        timed(last_model, x[:2], d_last[:2], lengths[:2], None, 1)  # compile / load the cache
        d_e = d_every[..., 0] if kind == "regression" else d_every
        last = timed(last_model, x, d_last, lengths, None, args.repeats)
        per_step = timed(every_model, x, d_e, lengths, every, args.repeats)
        print(f"| {label} | {last:.4f} | {per_step:.4f} | {per_step / last:.2f} |", flush=True)


if __name__ == "__main__":
    main()
