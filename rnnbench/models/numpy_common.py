"""Pieces every NumPy model shares: Keras-like initialisers, the read-out loss, and Adam.

They mirror Keras's defaults (glorot_uniform kernels, orthogonal recurrent kernels, zero biases,
Adam with per-variable `clipnorm`) so a NumPy model and its Keras twin train on the same footing.
"""

from __future__ import annotations

import numpy as np

from rnnbench.models.base import (
    ADAM_BETA_1,
    ADAM_BETA_2,
    ADAM_EPSILON,
    DEFAULT_CLIPNORM,
    DEFAULT_LEARNING_RATE,
)


def glorot_uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)


def orthogonal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # make the decomposition unique, as Keras's Orthogonal does
    q = q if rows >= cols else q.T
    return q[:rows, :cols].astype(np.float32)


def readout_loss(kind: str, logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Loss of the read-out `logits` (B, O) against `y`, and dLoss/dlogits (B, O).

    regression: mean squared error on logits[:, 0]; classification: softmax cross-entropy.
    """
    B = logits.shape[0]
    if kind == "regression":
        err = logits[:, 0] - y  # (B,)
        loss = float(np.mean(err**2))
        dlogits = (2.0 / B) * err[:, None]  # (B, 1)
        return loss, dlogits.astype(logits.dtype)
    shifted = logits - logits.max(axis=1, keepdims=True)  # (B, O) for a stable softmax
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (B, O)
    rows = np.arange(B)
    loss = float(-np.mean(log_p[rows, y]))
    dlogits = np.exp(log_p)  # softmax (B, O)
    dlogits[rows, y] -= 1.0
    return loss, (dlogits / B).astype(logits.dtype)


class Adam:
    """keras.optimizers.Adam(learning_rate, clipnorm) on a dict of NumPy arrays, in place."""

    def __init__(
        self,
        params: dict[str, np.ndarray],
        learning_rate: float = DEFAULT_LEARNING_RATE,
        clipnorm: float | None = DEFAULT_CLIPNORM,
    ) -> None:
        self.learning_rate = learning_rate
        self.clipnorm = clipnorm
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.iterations = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.iterations += 1
        t = self.iterations
        # Keras folds the bias corrections into the step size.
        alpha = self.learning_rate * np.sqrt(1 - ADAM_BETA_2**t) / (1 - ADAM_BETA_1**t)
        for name, p in params.items():
            g = grads[name]
            if self.clipnorm is not None:
                norm = float(np.sqrt(np.sum(g * g)))
                if norm > self.clipnorm:  # each variable clipped on its own, as Keras clipnorm
                    g = g * (self.clipnorm / norm)
            m, v = self.m[name], self.v[name]
            m += (1 - ADAM_BETA_1) * (g - m)
            v += (1 - ADAM_BETA_2) * (g * g - v)
            p -= (alpha * m / (np.sqrt(v) + ADAM_EPSILON)).astype(p.dtype)
