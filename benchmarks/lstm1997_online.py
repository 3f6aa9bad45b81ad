"""ms per training sequence of numpy-lstm1997's online path: the NumPy loop, the numba kernel, and
(if jax is installed) the same online truncated SGD as a JAX `lax.scan`, at T = 100, batch 1.

    $ python benchmarks/lstm1997_online.py                 # the adding net (93 weights)
    $ python benchmarks/lstm1997_online.py --steps 500 --sequences 5000

One thread everywhere (BLAS, XLA); each figure is the best of --repeats runs over the same
sequences, every path starting from the same weights. Also printed: numba's first-call compile
cost without its on-disk cache (and the model's first call in this process, which loads the cache
`cache=True` wrote), JAX's trace-and-compile cost (with one run over --numpy-sequences), and how
far the compiled paths' weights end from the NumPy loop's after the same --numpy-sequences updates.
"""

from __future__ import annotations

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
    " intra_op_parallelism_threads=1"
)
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from rnnbench.models import lstm1997_compiled  # noqa: E402
from rnnbench.models.lstm1997 import ADDING_NET, Net1997, NumpyLSTM1997  # noqa: E402


def adding_1997(rng: np.random.Generator, n: int, T: int) -> tuple[np.ndarray, np.ndarray]:
    """Section 5.4's sequences at a fixed length T: values U[-1, 1], X1 marked in the first 10,
    X2 in the first T/2 - 1 unmarked, -1 markers on the first and last step."""
    x = np.zeros((n, T, 2))
    x[:, :, 0] = rng.uniform(-1, 1, (n, T))
    x[:, 0, 1] = x[:, -1, 1] = -1.0
    rows = np.arange(n)
    first = rng.integers(0, 10, n)
    second = np.array([rng.choice(np.setdiff1d(np.arange(T // 2 - 1), [f])) for f in first])
    x[rows, first, 1] = x[rows, second, 1] = 1.0
    x[rows[first == 0], 0, 0] = 0.0  # "X1 = 0 if the first pair is marked"
    y = 0.5 + (x[rows, first, 0] + x[rows, second, 0]) / 4.0
    return x, y


def best_ms_per_sequence(train, repeats: int, n: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        train()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times) / n


def jax_online_trainer(net: Net1997):
    """Online truncated SGD as nested `lax.scan`s: over sequences (carrying the weights), over
    steps within each. The truncated gradient is jax.grad of the loss with y_{t-1} under
    stop_gradient: exactly its definition in lstm1997.py."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    C, NB, S = net.cells, net.blocks, net.cells_per_block
    cells, ins, outs, _ = net.columns()

    def f(z):
        return 0.5 * (1.0 + jnp.tanh(0.5 * z))

    def loss(params, x, d):  # x (T, D), d (K,)
        W, W_k = params

        def step(carry, x_t):
            y_tm1, s_tm1 = carry
            u_t = jnp.concatenate([x_t, jax.lax.stop_gradient(y_tm1), jnp.ones(1)])
            net_t = u_t @ W
            y_in, y_out = f(net_t[ins]), f(net_t[outs])
            s_t = s_tm1 + jnp.repeat(y_in, S) * 2.0 * jnp.tanh(0.5 * net_t[cells])
            y_c = jnp.repeat(y_out, S) * jnp.tanh(0.5 * s_t)
            return (jnp.concatenate([y_c, y_in, y_out]), s_t), None

        (y_T, _), _ = jax.lax.scan(step, (jnp.zeros(C + 2 * NB), jnp.zeros(C)), x)
        y_k = f(jnp.concatenate([y_T[:C], jnp.ones(1)]) @ W_k)
        return 0.5 * jnp.sum((y_k - d) ** 2), y_k

    grad = jax.grad(loss, has_aux=True)

    @jax.jit
    def train(params, xs, ds, lr):
        def one(params, xd):
            g, y_k = grad(params, *xd)
            return tuple(p - lr * gp for p, gp in zip(params, g, strict=True)), y_k

        return jax.lax.scan(one, params, (xs, ds))

    return train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--sequences", type=int, default=20_000, help="for the compiled paths")
    parser.add_argument("--numpy-sequences", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    T, n, n_np = args.steps, args.sequences, args.numpy_sequences

    net = Net1997(2, 1, **ADDING_NET)
    x, y = adding_1997(np.random.default_rng(0), n, T)
    d = y[:, None]
    lengths = np.full(n, T)

    def model(use_compiled):
        return NumpyLSTM1997(net, "regression", seed=0, use_compiled=use_compiled)

    print(f"adding net, {model(False).num_params} weights, T = {T}, online (batch 1), float64")
    rows = []

    reference = model(False)
    reference.train(x[:n_np], y[:n_np])
    ms = best_ms_per_sequence(lambda: model(False).train(x[:n_np], y[:n_np]), args.repeats, n_np)
    rows.append(("numpy loop", ms, n_np, "", ""))

    if lstm1997_compiled.kernel() is not None:
        import numba

        t0 = time.perf_counter()
        model(True).train(x[:1], y[:1])  # numba's on-disk cache, or a compile if there is none
        first_call_s = time.perf_counter() - t0
        fresh = numba.njit(cache=False)(lstm1997_compiled.train_online_truncated)
        p, m = model(True).params, model(True).masks
        t0 = time.perf_counter()
        lstm1997_compiled.train_online(fresh, p, m, net, x[:1], lengths[:1], d[:1], 0.5)
        compile_s = time.perf_counter() - t0
        compiled = model(True)
        compiled.train(x[:n_np], y[:n_np])
        gap = max(np.abs(compiled.params[k] - reference.params[k]).max() for k in p)
        ms = best_ms_per_sequence(lambda: model(True).train(x, y), args.repeats, n)
        compile_text = f"{compile_s:.2f} s (cached: {first_call_s:.2f} s)"
        rows.append((f"numba {numba.__version__}", ms, n, compile_text, f"{gap:.1e}"))
    else:
        print("numba is not installed: no compiled path")

    try:
        import jax
    except ImportError:
        print("jax is not installed: no JAX row")
    else:
        train = jax_online_trainer(net)
        start = model(False).params
        params0 = (jax.numpy.asarray(start["W"]), jax.numpy.asarray(start["W_k"]))
        t0 = time.perf_counter()
        out = train(params0, x[:n_np], d[:n_np], 0.5)
        jax.block_until_ready(out)
        compile_s = time.perf_counter() - t0  # trace + compile + one run of n_np sequences
        gap = max(
            np.abs(np.asarray(a) - reference.params[k]).max()
            for a, k in zip(out[0], ("W", "W_k"), strict=True)
        )
        train(params0, x, d, 0.5)[0][0].block_until_ready()  # compile the full-chunk shape

        def run():
            jax.block_until_ready(train(params0, x, d, 0.5))

        ms = best_ms_per_sequence(run, args.repeats, n)
        rows.append((f"jax {jax.__version__} lax.scan", ms, n, f"{compile_s:.2f} s", f"{gap:.1e}"))

    print()
    print("| path | ms / sequence | sequences timed | first-call compile | max weight gap |")
    print("|---|---|---|---|---|")
    for name, ms, count, compile_s, gap in rows:
        print(f"| {name} | {ms:.4f} | {count:,} | {compile_s} | {gap} |")
    base = rows[0][1]
    for name, ms, *_ in rows[1:]:
        print(f"{name}: {base / ms:.0f}x the NumPy loop")


if __name__ == "__main__":
    main()
