"""The independently recurrent network (IndRNN) of Li et al. (2018), two layers, in NumPy.

    h1_t = relu(x_t @ W1 + u1 * h1_{t-1} + b1)      (B, H)   u1 (H,): one weight per unit
    h2_t = relu(h1_t @ W2 + u2 * h2_{t-1} + b2)     (B, H)
    logits = h2_T @ V + c                            (B, O)
    logits_t = h2_t @ V + c  at every step t         (B, T, O)   built for a task scored per step

Each unit recurs only on itself, so its gradient through time is a product of u times the ReLU's
0/1 slopes: bounded, neither vanishing nor exploding, when |u| <= 2^(1/T) over T steps (the
paper's rule for the adding problem, Sec. 4 and its code's `MAG = 2`). Two layers, as the paper
stacks them for the adding problem (Sec. 5.1).

Set up as the official code's adding experiment (Sunnydreamrain/IndRNN_Theano_Lasagne,
adding/adding.py): input weights N(0, 0.001^2), biases 0, layer 1's u ~ U(0, 2^(1/T)), layer 2's
u ~ U(2^(-1/T), 2^(1/T)), and every u clipped to [-2^(1/T), 2^(1/T)] around each update. The
read-out is Keras's Dense default (glorot-uniform kernel, zero bias), as the code's Lasagne
DenseLayer. The optimizer, rate and batch are rnnbench's shared defaults (the paper: Adam 2e-4,
batch 32, per-value gradient clip 10), so this model stands on the same footing as the others.

The bound needs T, and a factory is not told the length. The model takes T from the first batch
it sees (the steps its recurrence runs, x.shape[1]) and draws u then; a constructor `length`
sets it up front instead. A cell of a fixed-length task runs one length, so that is the cell's;
for a variable-length task a longer training batch later raises T, tightening the bound.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnbench.models.base import DEFAULT_BATCH_SIZE, DEFAULT_CLIPNORM, DEFAULT_LEARNING_RATE
from rnnbench.models.numpy_common import NumpyRecurrentModel, flush_to_zero, glorot_uniform
from rnnbench.schema import DEFAULT_OPTIMIZER

INPUT_WEIGHT_STD = 0.001  # the official code's `in2hidW`: input kernels N(0, 0.001^2)
MAGNITUDE = 2.0  # the official code's `MAG`: a unit's gain over the whole sequence is at most 2


def recurrent_bound(length: int) -> float:
    """|u| <= MAGNITUDE^(1/T): over T steps a unit's own recurrence multiplies by at most 2."""
    return float(MAGNITUDE ** (1.0 / length))


class IndRNNStates(NamedTuple):
    h1: np.ndarray  # (T+1, B, H) layer 1's states, h1[0] = 0 (or (2, B, H) when predicting)
    h2: np.ndarray  # (T+1, B, H) layer 2's states, likewise


class NumpyIndRNN(NumpyRecurrentModel):
    """Two IndRNN layers (ReLU) and a linear read-out of the top layer's last state."""

    def __init__(
        self,
        input_dim: int,
        units: int,
        output_dim: int,
        kind: str,
        seed: int,
        length: int | None = None,
        learning_rate: float = DEFAULT_LEARNING_RATE,
        batch_size: int = DEFAULT_BATCH_SIZE,
        clipnorm: float | None = DEFAULT_CLIPNORM,
        optimizer: str = DEFAULT_OPTIMIZER,
        per_step: bool = False,
    ) -> None:
        self.rng = np.random.default_rng(seed)
        rng = self.rng
        params = {
            "W1": rng.normal(0, INPUT_WEIGHT_STD, (input_dim, units)).astype(np.float32),  # (D, H)
            "u1": np.zeros(units, np.float32),  # (H,) drawn once T is known
            "b1": np.zeros(units, np.float32),  # (H,)
            "W2": rng.normal(0, INPUT_WEIGHT_STD, (units, units)).astype(np.float32),  # (H, H)
            "u2": np.zeros(units, np.float32),  # (H,)
            "b2": np.zeros(units, np.float32),  # (H,)
            "V": glorot_uniform(rng, units, output_dim),  # (H, O)
            "c": np.zeros(output_dim, np.float32),  # (O,)
        }
        super().__init__(params, kind, learning_rate, batch_size, clipnorm, optimizer, per_step)
        self.length: int | None = None
        if length is not None:
            self.set_length(length)

    def set_length(self, length: int) -> None:
        """Fix T: draw u1 ~ U(0, 2^(1/T)) and u2 ~ U(2^(-1/T), 2^(1/T)) as the official code."""
        bound = recurrent_bound(length)
        H = self.params["u1"].shape[0]
        self.params["u1"][...] = self.rng.uniform(0.0, bound, H)
        self.params["u2"][...] = self.rng.uniform(1.0 / bound, bound, H)
        self.length = length

    @property
    def bound(self) -> float:
        """The current |u| bound (needs T: the first batch's length, or the constructor's)."""
        if self.length is None:
            raise RuntimeError("the IndRNN's bound needs the sequence length; no batch seen yet")
        return recurrent_bound(self.length)

    def clip_recurrent_weights(self) -> None:
        """u clipped to [-2^(1/T), 2^(1/T)], as the official code does before every update."""
        for name in ("u1", "u2"):
            np.clip(self.params[name], -self.bound, self.bound, out=self.params[name])

    # -- forward and backward, side by side ---------------------------------------------------

    @staticmethod
    def _layer(a: np.ndarray, u: np.ndarray, h: np.ndarray) -> None:
        """h_t = relu(a_t + u * h_{t-1}) for t = 1..T, in place in h (T+1, B, H), h[0] = 0.

        a: (T, B, H) the layer's input projections with its bias.
        """
        h[0] = 0.0
        for t in range(a.shape[0]):
            np.multiply(h[t], u, out=h[t + 1])  # u * h_{t-1}                       (B, H)
            h[t + 1] += a[t]  # + x_t W + b                                           (B, H)
            np.maximum(h[t + 1], 0.0, out=h[t + 1])  # relu                           (B, H)

    def forward(self, x: np.ndarray, keep_states: bool = True) -> tuple[IndRNNStates, np.ndarray]:
        """States of both layers, each (T+1, B, H) with h[0] = 0, and the logits (B, O), or
        (B, T, O) for a per-step model.

        Without `keep_states` (predicting) each layer keeps its last two states, (2, B, H), and
        layer 2 runs step by step beside layer 1.
        """
        if self.length is None:
            self.set_length(x.shape[1])
        p = self.params
        B, T, _ = x.shape
        H = p["u1"].shape[0]
        x_tb = x.transpose(1, 0, 2)  # (T, B, D) time-major
        if keep_states:
            h1 = self.work_array("h1", (T + 1, B, H))
            h2 = self.work_array("h2", (T + 1, B, H))
            a1 = np.matmul(x_tb, p["W1"], out=self.work_array("a", (T, B, H)))  # (T, B, H)
            a1 += p["b1"]
            self._layer(a1, p["u1"], h1)
            a2 = np.matmul(h1[1:], p["W2"], out=a1)  # (T, B, H): layer 2's input projections
            a2 += p["b2"]
            self._layer(a2, p["u2"], h2)
            if self.per_step:  # every step's read-out at once: (T, B, H)(H, O) -> (B, T, O)
                return IndRNNStates(h1, h2), (h2[1:] @ p["V"] + p["c"]).transpose(1, 0, 2)
            top = h2[T]
        else:
            every = np.empty((B, T, p["V"].shape[1]), p["u1"].dtype) if self.per_step else None
            h1 = np.zeros((2, B, H), p["u1"].dtype)
            h2 = np.zeros((2, B, H), p["u1"].dtype)
            for t in range(T):
                now, before = (t + 1) % 2, t % 2
                a1_t = x_tb[t] @ p["W1"] + p["b1"] + p["u1"] * h1[before]  # (B, H)
                np.maximum(a1_t, 0.0, out=h1[now])
                a2_t = h1[now] @ p["W2"] + p["b2"] + p["u2"] * h2[before]  # (B, H)
                np.maximum(a2_t, 0.0, out=h2[now])
                if every is not None:
                    every[:, t] = h2[now] @ p["V"] + p["c"]  # logits_t              (B, O)
            if every is not None:
                return IndRNNStates(h1, h2), every
            top = h2[T % 2]
        logits = top @ p["V"] + p["c"]  # (B, O)
        return IndRNNStates(h1, h2), logits

    def _layer_backward(
        self, h: np.ndarray, u: np.ndarray, dh: np.ndarray
    ) -> np.ndarray:
        """Back through h_t = relu(a_t + u * h_{t-1}); dh (T, B, H) holds dLoss/dh_t from above
        (the read-out or the next layer) and leaves as the full dLoss/dh_t. Returns da (T, B, H),
        dLoss/da_t, in a work array."""
        T = dh.shape[0]
        da = np.greater(h[1:], 0.0, out=self.work_array("da_mask", dh.shape))  # relu' (T, B, H)
        for t in range(T - 1, -1, -1):
            flush_to_zero(dh[t])
            da[t] *= dh[t]  # dLoss/da_t                                              (B, H)
            if t > 0:
                dh[t - 1] += da[t] * u  # through u * h_{t-1}                         (B, H)
        return da

    def backward(
        self, x: np.ndarray, states: IndRNNStates, dlogits: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Gradients of every parameter, and dLoss/dh2_t (the read-out layer's) as (T, B, H).

        `dlogits` (B, O) of the last step's read-out, or (B, T, O) of every step's.
        """
        p = self.params
        h1, h2 = states
        B, T, _ = x.shape
        H = p["u1"].shape[0]
        dh2 = self.work_array("dh_all", (T, B, H))  # dLoss/dh2_t, t = 1..T, from the read-out
        if self.per_step:
            dlogits_tb = np.ascontiguousarray(dlogits.transpose(1, 0, 2))  # (T, B, O)
            np.matmul(dlogits_tb, p["V"].T, out=dh2)  # every step's read-out    (T, B, H)
            dlogits_flat = dlogits_tb.reshape(T * B, -1)  # (T*B, O)
            dV, dc = h2[1:].reshape(T * B, H).T @ dlogits_flat, dlogits_flat.sum(axis=0)
        else:
            dh2[:] = 0.0
            np.matmul(dlogits, p["V"].T, out=dh2[T - 1])  # (B, H) the last step's read-out
            dV, dc = h2[T].T @ dlogits, dlogits.sum(axis=0)
        da2 = self._layer_backward(h2, p["u2"], dh2)  # (T, B, H)
        da2_flat = da2.reshape(T * B, H)
        grads = {
            "u2": np.einsum("tbh,tbh->h", da2, h2[:-1]),  # sum_t da2_t * h2_{t-1}      (H,)
            "b2": da2_flat.sum(axis=0),  # (H,)
            "W2": h1[1:].reshape(T * B, H).T @ da2_flat,  # sum_t h1_t^T da2_t        (H, H)
            "V": dV,  # (H, O)
            "c": dc,  # (O,)
        }
        dh1 = np.matmul(da2, p["W2"].T, out=self.work_array("dh1", (T, B, H)))  # from layer 2
        da1 = self._layer_backward(h1, p["u1"], dh1)  # (T, B, H); reuses da_mask: da2 is done
        da1_flat = da1.reshape(T * B, H)
        x_flat = x.transpose(1, 0, 2).reshape(T * B, -1)  # (T*B, D)
        grads["u1"] = np.einsum("tbh,tbh->h", da1, h1[:-1])  # (H,)
        grads["b1"] = da1_flat.sum(axis=0)  # (H,)
        grads["W1"] = x_flat.T @ da1_flat  # (D, H)
        return grads, dh2

    def train_with_outputs(
        self, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        """As every NumPy model's, then u clipped back within the bound after each update."""
        if self.length is None:
            self.set_length(x.shape[1])
        self.length = max(self.length, x.shape[1])  # the longest sequence trained on
        losses, outputs = [], []
        for start in range(0, len(x), self.batch_size):
            stop = start + self.batch_size
            loss, out = super().train_with_outputs(
                x[start:stop], y[start:stop], None if mask is None else mask[start:stop]
            )
            self.clip_recurrent_weights()
            losses.append(loss * len(out))
            outputs.append(out)
        return float(np.sum(losses) / len(x)), np.concatenate(outputs)
