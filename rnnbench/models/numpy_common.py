"""Pieces every NumPy model shares: Keras-like initialisers, the read-out loss, Adam, and the
train / predict / Keras-weights plumbing around a model's own forward and backward passes.

They mirror Keras's defaults (glorot_uniform kernels, orthogonal recurrent kernels, zero biases,
Adam with per-variable `clipnorm`) so a NumPy model and its Keras twin train on the same footing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnbench.models._blas import single_threaded_blas
from rnnbench.models.base import (
    ADAM_BETA_1,
    ADAM_BETA_2,
    ADAM_EPSILON,
    DEFAULT_BATCH_SIZE,
    DEFAULT_CLIPNORM,
    DEFAULT_LEARNING_RATE,
)
from rnnbench.schema import DEFAULT_OPTIMIZER, OPTIMIZERS


def glorot_uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)


def orthogonal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # make the decomposition unique, as Keras's Orthogonal does
    q = q if rows >= cols else q.T
    return q[:rows, :cols].astype(np.float32)


def readout_loss(
    kind: str, logits: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Loss of the read-out `logits` against `y`, and dLoss/dlogits (shaped as `logits`).

    regression: mean squared error on logits[..., 0]; classification: softmax cross-entropy.
    Last step: logits (B, O), y (B,) values or int labels. Every step: logits (B, T, O), y
    (B, T) values or (B, T, K) target rows, `mask` (B, T) the scored steps (None: all).
    """
    if logits.ndim == 3:
        return per_step_readout_loss(kind, logits, y, mask)
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


def per_step_readout_loss(
    kind: str, logits: np.ndarray, y: np.ndarray, mask: np.ndarray | None
) -> tuple[float, np.ndarray]:
    """`readout_loss` at every step: the mean over the scored steps of the batch.

    With N = the number of scored (sequence, step) pairs and m_bt the mask:
      regression      L = (1/N) sum_bt m_bt (logits_bt0 - y_bt)^2
      classification  L = -(1/N) sum_bt m_bt sum_k q_btk log softmax(logits_bt)_k, where
                      q_bt = y_bt / sum_k y_btk (a target row normalised to sum 1; a one-hot
                      row is the label), so dL/dlogits_bt = m_bt (softmax(logits_bt) - q_bt) / N.
    """
    B, T, _ = logits.shape
    m = np.ones((B, T), logits.dtype) if mask is None else np.asarray(mask, logits.dtype)
    N = max(float(m.sum()), 1.0)
    if kind == "regression":
        err = (logits[..., 0] - np.asarray(y, logits.dtype)) * m  # (B, T), 0 where unscored
        dlogits = ((2.0 / N) * err)[..., None]  # (B, T, 1)
        return float(np.sum(err * err) / N), dlogits.astype(logits.dtype)
    target = np.asarray(y, logits.dtype)  # (B, T, K)
    q = target / np.maximum(target.sum(axis=2, keepdims=True), np.finfo(logits.dtype).tiny)
    shifted = logits - logits.max(axis=2, keepdims=True)  # (B, T, O) for a stable softmax
    log_p = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))  # (B, T, O)
    loss = float(-np.sum(m[..., None] * q * log_p) / N)
    dlogits = (np.exp(log_p) - q) * (m / N)[..., None]  # (B, T, O)
    return loss, dlogits.astype(logits.dtype)


def flush_to_zero(a: np.ndarray) -> None:
    """Zero, in place, the entries of `a` small enough to be about to turn subnormal.

    A gradient that vanishes over hundreds of steps ends in subnormal floats (below
    `finfo.tiny`, 1.2e-38 in float32), and x86 CPUs multiply and add those in slow microcode:
    at length 500 they made the LSTM's backward pass four times slower. TensorFlow switches the
    CPU to flush-to-zero; NumPy cannot, so the backward loops zero the carried gradients below
    `finfo.tiny / finfo.eps` themselves (1e-31 in float32, 1e-292 in float64): far below one
    rounding error of any gradient that matters, and high enough that the products of the next
    step mostly stay normal.
    """
    info = np.finfo(a.dtype)
    a[np.abs(a) < info.tiny / info.eps] = 0.0


class SGD:
    """Plain gradient descent, `p -= learning_rate * g`, as the 1997 paper trains (no clipping).

    Keras's `keras.optimizers.SGD(learning_rate)` with no momentum does the same.
    """

    def __init__(self, params: dict[str, np.ndarray], learning_rate: float) -> None:
        self.learning_rate = learning_rate
        self.iterations = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.iterations += 1
        for name, p in params.items():
            p -= (self.learning_rate * grads[name]).astype(p.dtype)


def make_optimizer(
    name: str, params: dict[str, np.ndarray], learning_rate: float, clipnorm: float | None
) -> Adam | SGD:
    """The NumPy optimizer a study names: "adam" (with clipnorm) or "sgd" (plain, no clip)."""
    if name == "adam":
        return Adam(params, learning_rate, clipnorm)
    if name == "sgd":
        return SGD(params, learning_rate)
    raise ValueError(f"optimizer {name!r} is not known; allowed: {', '.join(OPTIMIZERS)}")


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


MAX_WORK_ARRAYS = 16  # a pass uses a handful; more means shapes changed, and the old go


class NumpyRecurrentModel:
    """A NumPy recurrent layer + linear read-out, trained by its own BPTT and `Adam`.

    A subclass fills `self.params` (its names listed in Keras's weight order in
    `keras_weight_names`) and writes the math:
      forward(x, keep_states) -> (states, logits)     states: whatever backward needs (predict
                                                      passes keep_states=False: no backward)
      backward(x, states, dlogits) -> (grads, dh_all)         dh_all: dLoss/dh_t as (T, B, H)
    With `per_step` (built for a task scored at every step) the read-out runs at every step:
    logits are (B, T, O), and backward adds each step's read-out gradient dlogits_t V^T into
    dLoss/dh_t as BPTT passes that step.
    Everything else (the loss, the mini-batch loop, predict, the Keras weight layout, the gradient
    hook `state_gradients`) lives here once. Arrays follow the params' dtype (float32 by default;
    tests cast the params to float64 for finite differences).
    """

    keras_weight_names: tuple[str, ...] = ()

    def __init__(
        self,
        params: dict[str, np.ndarray],
        kind: str,
        learning_rate: float = DEFAULT_LEARNING_RATE,
        batch_size: int = DEFAULT_BATCH_SIZE,
        clipnorm: float | None = DEFAULT_CLIPNORM,
        optimizer: str = DEFAULT_OPTIMIZER,
        per_step: bool = False,
    ) -> None:
        self.params = params
        self.kind = kind
        self.per_step = per_step
        self.batch_size = batch_size
        self.optimizer = make_optimizer(optimizer, self.params, learning_rate, clipnorm)
        self._work_arrays: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}

    def work_array(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """An uninitialised array of the params' dtype, the same one each pass that asks for it.

        For the big per-pass arrays (a pass's states: 16 MB per (T, B, H) at length 500, batch
        128, 64 units): fresh ones cost their page faults on every mini-batch, measured at 20% of
        numpy-rnn's training step there. Whoever holds one must be done with it by the next pass,
        so nothing that leaves the model (gradients, logits, `state_gradients`) lives in one.
        """
        key = (name, tuple(shape))
        array = self._work_arrays.get(key)
        if array is None or array.dtype != self.dtype:
            if len(self._work_arrays) >= MAX_WORK_ARRAYS:  # shapes come and go (batch, length)
                self._work_arrays.clear()
            array = self._work_arrays[key] = np.empty(shape, self.dtype)
        return array

    @property
    def num_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    @property
    def dtype(self) -> Any:
        return next(iter(self.params.values())).dtype

    def forward(self, x: np.ndarray, keep_states: bool = True) -> tuple[Any, np.ndarray]:
        raise NotImplementedError

    def backward(
        self, x: np.ndarray, states: Any, dlogits: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        raise NotImplementedError

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None):
        """(loss, parameter gradients, dLoss/dh_t (T, B, H)) for one batch.

        dLoss/dh_t lives in a work array (`work_array`): valid until the model's next pass.
        `mask` (B, T): the scored steps of a per-step model's batch (None: all).
        """
        return self._pass(x, y, mask)[:3]

    def _pass(self, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None):
        """loss_and_grads, and the batch's logits (B, O) or (B, T, O) from the same forward."""
        states, logits = self.forward(x)
        loss, dlogits = readout_loss(self.kind, logits, y, mask)
        grads, dh_all = self.backward(x, states, dlogits)
        return loss, grads, dh_all, logits

    def state_gradients(
        self, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None
    ) -> np.ndarray:
        """The gradient hook of `rnnbench.gradients`: dLoss/dh_t (T, B, H), batch-mean loss."""
        with single_threaded_blas():
            return self.loss_and_grads(np.asarray(x, self.dtype), y, mask)[2].copy()  # ours

    # -- the Model contract ---------------------------------------------------------------------

    def train(self, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> float:
        return self.train_with_outputs(x, y, mask)[0]

    def train_with_outputs(
        self, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        """Train on (x, y) in mini-batches; the mean loss, and each sequence's output from its
        mini-batch's forward pass, before that batch's update (what a paper's online rule judges;
        it costs nothing extra: the forward pass computes it anyway). `mask` (n, T): the scored
        steps of a per-step model (each batch's loss is its mean over them)."""
        losses, outputs = [], []
        with single_threaded_blas():
            for start in range(0, len(x), self.batch_size):
                stop = start + self.batch_size
                xb, yb = x[start:stop], y[start:stop]
                mb = None if mask is None else mask[start:stop]
                loss, grads, _, logits = self._pass(xb, yb, mb)
                self.optimizer.step(self.params, grads)
                losses.append(loss * len(xb))
                outputs.append(logits[..., 0] if self.kind == "regression" else logits.copy())
        return float(np.sum(losses) / len(x)), np.concatenate(outputs)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Regression (n,) or per step (n, T); classification logits (n, O) or (n, T, O)."""
        with single_threaded_blas():
            _, logits = self.forward(np.asarray(x, self.dtype), keep_states=False)
        return logits[..., 0] if self.kind == "regression" else logits

    # -- Keras weight layout --------------------------------------------------------------------

    def get_keras_weights(self) -> list[np.ndarray]:
        """The recurrent layer's [kernel, recurrent_kernel, bias], then the Dense [kernel, bias]."""
        return [self.params[name].copy() for name in self.keras_weight_names]

    def set_keras_weights(self, weights: list[np.ndarray]) -> None:
        """Copy in weights in `keras.Model.get_weights()` order (recurrent layer, then Dense)."""
        weights = list(weights)
        if len(weights) != len(self.keras_weight_names):
            raise ValueError(
                f"{type(self).__name__} takes {len(self.keras_weight_names)} weights "
                f"({', '.join(self.keras_weight_names)}), got {len(weights)}"
            )
        for name, w in zip(self.keras_weight_names, weights, strict=True):
            if self.params[name].shape != np.shape(w):
                raise ValueError(
                    f"weight {name} has shape {np.shape(w)}; expected {self.params[name].shape}"
                )
        for name, w in zip(self.keras_weight_names, weights, strict=True):
            self.params[name][...] = w
