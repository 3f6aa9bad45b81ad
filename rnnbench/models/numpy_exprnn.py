"""expRNN (Lezcano-Casado & Martinez-Rubio 2019): an orthogonal RNN, W = expm(A), A skew-symmetric.

    A = U - U^T            (H, H)   U strictly upper triangular: the H(H-1)/2 trained numbers `a`
    W = expm(A)            (H, H)   orthogonal (det +1) for every A: norms pass through unchanged
    z_t = x_t @ W_x + h_{t-1} @ W                       (B, H)
    h_t = modrelu(z_t) = sign(z_t) * relu(|z_t| + b)    (B, H)   b: the modReLU bias (H,)
    logits = h_T @ V + c                                (B, O)
    logits_t = h_t @ V + c  at every step t             (B, T, O)   for a task scored per step

Training moves A freely in the (flat) space of skew-symmetric matrices and the exponential map
keeps W on the orthogonal group: the paper's "static" trivialization (`--mode exprnn` in the
official code, github.com/Lezcano/expRNN; that code's default mode, "dtriv", is the later
dynamic trivialization of Lezcano-Casado 2019b, which moves the base point every K = 100
steps). The gradient through the map is the adjoint of expm's Frechet derivative,
dL/dA = L_expm(A^T, dL/dW) (SciPy's `expm_frechet`), then projected onto the skew-symmetric
parameters: dL/dU = (dL/dA - dL/dA^T) on the strict upper triangle.

Initialised as the official code's default: A by Henaff et al. (2016)'s rule, block-diagonal
with 2x2 blocks [[0, s], [-s, 0]], s ~ U(-pi, pi) (`henaff_init_`); input kernel Kaiming normal
(std sqrt(2 / fan_in)) with no bias; modReLU bias U(-0.01, 0.01); read-out Kaiming normal, zero
bias. The optimizer is rnnbench's shared Adam (the paper: RMSprop with a 10x smaller rate on A),
so this model stands on the same footing as the others.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from rnnbench.models._blas import inspect_again, single_threaded_blas
from rnnbench.models.base import DEFAULT_BATCH_SIZE, DEFAULT_CLIPNORM, DEFAULT_LEARNING_RATE
from rnnbench.models.numpy_common import NumpyRecurrentModel, flush_to_zero
from rnnbench.schema import DEFAULT_OPTIMIZER


def skew(a: np.ndarray, units: int) -> np.ndarray:
    """A = U - U^T (H, H) from the strict upper triangle `a` (H(H-1)/2,), row by row."""
    A = np.zeros((units, units), a.dtype)
    A[np.triu_indices(units, 1)] = a
    return A - A.T


def henaff_skew(rng: np.random.Generator, units: int) -> np.ndarray:
    """`a` (H(H-1)/2,) of Henaff et al.'s A: s_i ~ U(-pi, pi) at (2i, 2i+1), zero elsewhere."""
    A = np.zeros((units, units), np.float32)
    blocks = np.arange(units // 2)
    A[2 * blocks, 2 * blocks + 1] = rng.uniform(-np.pi, np.pi, len(blocks))
    return A[np.triu_indices(units, 1)]


_scipy_loaded = False


def scipy_linalg() -> Any:
    """scipy.linalg, imported on first use; its own OpenBLAS is then held to one thread too."""
    global _scipy_loaded
    import scipy.linalg

    if not _scipy_loaded:
        inspect_again()
        _scipy_loaded = True
    return scipy.linalg


def orthogonal_from(a: np.ndarray, units: int) -> np.ndarray:
    """W = expm(A) (H, H), computed in float64 and returned in a's dtype."""
    linalg = scipy_linalg()
    with single_threaded_blas():
        return linalg.expm(skew(a.astype(np.float64), units)).astype(a.dtype)


def skew_gradient(a: np.ndarray, units: int, dW: np.ndarray) -> np.ndarray:
    """dL/da (H(H-1)/2,) from dL/dW (H, H), through W = expm(U - U^T)."""
    linalg = scipy_linalg()
    A = skew(a.astype(np.float64), units)
    with single_threaded_blas():
        # <G, L(A, E)> = <L(A^T, G), E>: the adjoint of expm's Frechet derivative
        dA = linalg.expm_frechet(A.T, dW.astype(np.float64), compute_expm=False)  # (H, H)
    return (dA - dA.T)[np.triu_indices(units, 1)].astype(a.dtype)  # A = U - U^T


class ExpRNNStates(NamedTuple):
    h: np.ndarray  # (T+1, B, H) states, h[0] = 0 (or (2, B, H) when predicting)
    z: np.ndarray  # (T, B, H) pre-activations (or (2, B, H) when predicting)
    W: np.ndarray  # (H, H) expm(A) this pass used


class NumpyExpRNN(NumpyRecurrentModel):
    """An orthogonal RNN with W = expm(A) and modReLU, and a linear read-out of the last state."""

    def __init__(
        self,
        input_dim: int,
        units: int,
        output_dim: int,
        kind: str,
        seed: int,
        learning_rate: float = DEFAULT_LEARNING_RATE,
        batch_size: int = DEFAULT_BATCH_SIZE,
        clipnorm: float | None = DEFAULT_CLIPNORM,
        optimizer: str = DEFAULT_OPTIMIZER,
        per_step: bool = False,
    ) -> None:
        rng = np.random.default_rng(seed)
        self.units = units
        params = {
            "a": henaff_skew(rng, units),  # (H(H-1)/2,) A's strict upper triangle
            "W_x": rng.normal(0, np.sqrt(2.0 / input_dim), (input_dim, units)).astype(np.float32),
            "b": rng.uniform(-0.01, 0.01, units).astype(np.float32),  # (H,) modReLU bias
            "V": rng.normal(0, np.sqrt(2.0 / units), (units, output_dim)).astype(np.float32),
            "c": np.zeros(output_dim, np.float32),  # (O,)
        }
        super().__init__(params, kind, learning_rate, batch_size, clipnorm, optimizer, per_step)

    # -- forward and backward, side by side ---------------------------------------------------

    def forward(self, x: np.ndarray, keep_states: bool = True) -> tuple[ExpRNNStates, np.ndarray]:
        """States h (T+1, B, H) with h[0] = 0, pre-activations z (T, B, H), and logits (B, O)
        (or (B, T, O) for a per-step model).

        Without `keep_states` (predicting) only two rows of each are kept, step t in rows t % 2.
        """
        p = self.params
        H = self.units
        W = orthogonal_from(p["a"], H)  # (H, H)
        b = p["b"]
        B, T, _ = x.shape
        x_tb = x.transpose(1, 0, 2)  # (T, B, D) time-major
        if keep_states:
            h = self.work_array("h", (T + 1, B, H))
            z = np.matmul(x_tb, p["W_x"], out=self.work_array("z", (T, B, H)))  # x_t W_x
        else:
            h, z = np.empty((2, B, H), W.dtype), np.empty((2, B, H), W.dtype)
        h[0] = 0.0
        rows_h, rows_z = len(h), len(z)
        V, c = p["V"], p["c"]
        every = np.empty((B, T, V.shape[1]), W.dtype) if self.per_step and not keep_states else None
        for t in range(T):
            now, before, zt = (t + 1) % rows_h, t % rows_h, t % rows_z
            if keep_states:
                z[zt] += h[before] @ W  # z_t = x_t W_x + h_{t-1} W                    (B, H)
            else:
                np.matmul(x_tb[t], p["W_x"], out=z[zt])
                z[zt] += h[before] @ W
            np.abs(z[zt], out=h[now])  # |z_t|                                            (B, H)
            h[now] += b
            np.maximum(h[now], 0.0, out=h[now])  # relu(|z_t| + b)                       (B, H)
            h[now] *= np.sign(z[zt])  # h_t = sign(z_t) relu(|z_t| + b)                   (B, H)
            if every is not None:
                every[:, t] = h[now] @ V + c  # logits_t                                   (B, O)
        if every is not None:
            return ExpRNNStates(h, z, W), every
        if self.per_step:  # every step's read-out at once: (T, B, H)(H, O) -> (B, T, O)
            return ExpRNNStates(h, z, W), (h[1:] @ V + c).transpose(1, 0, 2)
        logits = h[T % rows_h] @ V + c  # (B, O)
        return ExpRNNStates(h, z, W), logits

    def backward(
        self, x: np.ndarray, states: ExpRNNStates, dlogits: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Gradients of every parameter, and dLoss/dh_t for t = 1..T as (T, B, H).

        `dlogits` (B, O) of the last step's read-out, or (B, T, O) of every step's: each step's
        dlogits_t V^T joins dLoss/dh_t before BPTT carries it further back.
        """
        p = self.params
        h, z, W = states
        B, T, _ = x.shape
        H = self.units
        W_T = np.ascontiguousarray(W.T)  # (H, H)
        # dz starts as modReLU's slope, 1 where |z| + b > 0 (there h != 0), else 0
        dz = np.not_equal(h[1:], 0.0, out=self.work_array("dz", (T, B, H)))  # (T, B, H)
        dh_all = self.work_array("dh_all", (T, B, H))  # starts as what the read-out gives h_t
        if self.per_step:
            dlogits_tb = np.ascontiguousarray(dlogits.transpose(1, 0, 2))  # (T, B, O)
            np.matmul(dlogits_tb, p["V"].T, out=dh_all)  # (T, B, H)
            dlogits_flat = dlogits_tb.reshape(T * B, -1)  # (T*B, O)
            dV, dc = h[1:].reshape(T * B, H).T @ dlogits_flat, dlogits_flat.sum(axis=0)
        else:
            dh_all[:] = 0.0
            np.matmul(dlogits, p["V"].T, out=dh_all[T - 1])  # (B, H) the last step's read-out
            dV, dc = h[T].T @ dlogits, dlogits.sum(axis=0)
        carried = np.empty((B, H), W.dtype)  # dLoss/dh_{t-1} through the recurrence
        for t in range(T - 1, -1, -1):
            flush_to_zero(dh_all[t])
            dz[t] *= dh_all[t]  # dLoss/dz_t                                            (B, H)
            if t > 0:
                np.matmul(dz[t], W_T, out=carried)  # through h_{t-1} W                  (B, H)
                dh_all[t - 1] += carried
        dz_flat = dz.reshape(T * B, H)
        dW = h[:-1].reshape(T * B, H).T @ dz_flat  # sum_t h_{t-1}^T dz_t               (H, H)
        x_flat = x.transpose(1, 0, 2).reshape(T * B, -1)  # (T*B, D)
        grads = {
            "a": skew_gradient(p["a"], H, dW),  # (H(H-1)/2,)
            "W_x": x_flat.T @ dz_flat,  # (D, H)
            # h = sign(z) relu(|z| + b): dh/db = sign(z) where |z| + b > 0
            "b": np.einsum("tbh,tbh->h", dz, np.sign(z)),  # (H,)
            "V": dV,  # (H, O)
            "c": dc,  # (O,)
        }
        return grads, dh_all
