"""The lesson's loop: a tanh RNN in NumPy, trained by hand-written backpropagation through time.

    h_t = tanh(x_t @ W_x + h_{t-1} @ W_h + b)      (B, H)
    logits = h_T @ V + c                            (B, O)
    logits_t = h_t @ V + c  at every step t         (B, T, O)   built for a task scored per step

Read `rnn_step` and `rnn_step_backward` in lesson.py first: they are these equations written
plainly. The loops below compute the same numbers (a test holds them equal), rearranged for speed.

W_x, W_h, b use Keras's SimpleRNN layout (kernel, recurrent_kernel, bias), so weights copy both
ways and the forward pass equals `keras.layers.SimpleRNN`'s to float32 rounding.
"""

from __future__ import annotations

import numpy as np

from rnnbench.models.base import DEFAULT_BATCH_SIZE, DEFAULT_CLIPNORM, DEFAULT_LEARNING_RATE
from rnnbench.models.numpy_common import (
    NumpyRecurrentModel,
    flush_to_zero,
    glorot_uniform,
    orthogonal,
)
from rnnbench.schema import DEFAULT_OPTIMIZER


class NumpyRNN(NumpyRecurrentModel):
    """A batched float32 tanh RNN with a linear read-out of the last state."""

    keras_weight_names = ("W_x", "W_h", "b", "V", "c")  # SimpleRNN's 3, then Dense's 2

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
        params = {
            "W_x": glorot_uniform(rng, input_dim, units),  # (D, H) kernel
            "W_h": orthogonal(rng, units, units),  # (H, H) recurrent_kernel
            "b": np.zeros(units, np.float32),  # (H,)
            "V": glorot_uniform(rng, units, output_dim),  # (H, O) read-out kernel
            "c": np.zeros(output_dim, np.float32),  # (O,)
        }
        super().__init__(params, kind, learning_rate, batch_size, clipnorm, optimizer, per_step)

    # -- forward and backward, side by side ---------------------------------------------------

    def forward(self, x: np.ndarray, keep_states: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """States h (T+1, B, H) with h[0] = 0, and the read-out logits (B, O), or (B, T, O) for
        a per-step model.

        Without `keep_states` (predicting: no backward pass follows) only the last two states are
        kept, h (2, B, H), and step t works in rows t % 2: a 1,000-sequence held-out set at
        length 1,000 would otherwise hold 256 MB of states.
        """
        W_x, W_h, b = self.params["W_x"], self.params["W_h"], self.params["b"]
        B, T, _ = x.shape
        rows = T + 1 if keep_states else 2
        H = W_h.shape[0]
        h = self.work_array("h", (rows, B, H)) if keep_states else np.empty((rows, B, H), W_h.dtype)
        h[0] = 0.0
        x_tb = x.transpose(1, 0, 2)  # (T, B, D): time-major, so each step's slice is contiguous
        if keep_states:
            # (T, B, H): input projections for all steps at once
            xW = np.matmul(x_tb, W_x, out=self.work_array("xW", (T, B, H)))
            xW += b
        else:
            xW = np.empty((1, B, H), W_h.dtype)  # one step's, made in the loop
        V, c = self.params["V"], self.params["c"]
        every = None  # (B, T, O) per-step logits, made in the loop when states are not kept
        if self.per_step and not keep_states:
            every = np.empty((B, T, V.shape[1]), W_h.dtype)
        # The step works in place in h[now] with out=: a step is three NumPy calls and no
        # temporaries, since at batch 128 and 64 units each call's overhead costs as much as
        # its arithmetic.
        for t in range(T):
            now, before = (t + 1) % rows, t % rows  # t + 1 and t when every state is kept
            if keep_states:
                xW_t = xW[t]
            else:
                xW_t = np.matmul(x_tb[t], W_x, out=xW[0])
                xW_t += b
            np.matmul(h[before], W_h, out=h[now])  # h_tm1 W_h                       (B, H)
            h[now] += xW_t  # + x_t W_x + b                                           (B, H)
            np.tanh(h[now], out=h[now])  # h_t = tanh(x_t W_x + h_tm1 W_h + b)        (B, H)
            if every is not None:
                every[:, t] = h[now] @ V + c  # logits_t = h_t V + c                    (B, O)
        if every is not None:
            return h, every
        if self.per_step:  # every step's read-out at once: (T, B, H)(H, O) -> (B, T, O)
            return h, (h[1:] @ V + c).transpose(1, 0, 2)
        logits = h[T % rows] @ V + c  # (B, O)
        return h, logits

    def backward(
        self, x: np.ndarray, h: np.ndarray, dlogits: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Gradients of every parameter, and dLoss/dh_t for t = 1..T as (T, B, H).

        `dlogits` (B, O) of the last step's read-out, or (B, T, O) of every step's: then each
        step's dlogits_t V^T joins dLoss/dh_t before BPTT carries it further back.
        """
        if self.per_step:
            return self._backward_every_step(x, h, dlogits)
        W_h, V = self.params["W_h"], self.params["V"]
        B, T, _ = x.shape
        H = W_h.shape[0]
        W_h_T = np.ascontiguousarray(W_h.T)  # (H, H): a contiguous transpose multiplies faster
        # da starts as tanh'(a_t) = 1 - h_t^2 for every step at once, outside the loop; the loop
        # then multiplies dh_t into it in place, leaving da_t = dLoss/da_t.
        da = np.square(h[1:], out=self.work_array("da", (T, B, H)))  # (T, B, H)
        np.subtract(1.0, da, out=da)
        dh_all = self.work_array("dh_all", (T, B, H))  # dh_all[t] is dLoss/dh_t (t from 0)
        np.matmul(dlogits, V.T, out=dh_all[T - 1])  # (B, H): dLoss/dh_T through the read-out
        for t in range(T - 1, -1, -1):
            flush_to_zero(dh_all[t])  # a vanishing gradient must not go subnormal: see there
            da[t] *= dh_all[t]  # (B, H): back through tanh
            if t > 0:  # dLoss/dh_tm1 through the recurrence, written straight into dh_all  (B, H)
                np.matmul(da[t], W_h_T, out=dh_all[t - 1])
        da_flat = da.reshape(T * B, H)  # (T*B, H): one big product instead of T small ones
        x_flat = x.transpose(1, 0, 2).reshape(T * B, -1)  # (T*B, D)
        grads = {
            "W_x": x_flat.T @ da_flat,  # sum_t x_t^T da_t        (D, H)
            "W_h": h[:-1].reshape(T * B, H).T @ da_flat,  # sum_t h_tm1^T da_t    (H, H)
            "b": da_flat.sum(axis=0),  # (H,)
            "V": h[T].T @ dlogits,  # (H, O)
            "c": dlogits.sum(axis=0),  # (O,)
        }
        return grads, dh_all

    def _backward_every_step(
        self, x: np.ndarray, h: np.ndarray, dlogits: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """`backward` with a read-out at every step: dlogits (B, T, O)."""
        W_h, V = self.params["W_h"], self.params["V"]
        B, T, _ = x.shape
        H = W_h.shape[0]
        W_h_T = np.ascontiguousarray(W_h.T)  # (H, H)
        da = np.square(h[1:], out=self.work_array("da", (T, B, H)))  # (T, B, H): 1 - h_t^2 ...
        np.subtract(1.0, da, out=da)
        dlogits_tb = np.ascontiguousarray(dlogits.transpose(1, 0, 2))  # (T, B, O)
        dh_all = self.work_array("dh_all", (T, B, H))
        # each step's read-out gradient, dLoss_t/dh_t = dlogits_t V^T, for all steps at once
        np.matmul(dlogits_tb, V.T, out=dh_all)  # (T, B, O)(O, H) -> (T, B, H)
        carried = np.empty((B, H), W_h.dtype)  # dLoss/dh_tm1 through the recurrence
        for t in range(T - 1, -1, -1):
            flush_to_zero(dh_all[t])
            da[t] *= dh_all[t]  # (B, H): back through tanh
            if t > 0:  # the later steps' gradient joins step t-1's own read-out gradient
                np.matmul(da[t], W_h_T, out=carried)
                dh_all[t - 1] += carried
        da_flat = da.reshape(T * B, H)
        x_flat = x.transpose(1, 0, 2).reshape(T * B, -1)  # (T*B, D)
        dlogits_flat = dlogits_tb.reshape(T * B, V.shape[1])  # (T*B, O)
        grads = {
            "W_x": x_flat.T @ da_flat,  # sum_t x_t^T da_t        (D, H)
            "W_h": h[:-1].reshape(T * B, H).T @ da_flat,  # sum_t h_tm1^T da_t    (H, H)
            "b": da_flat.sum(axis=0),  # (H,)
            "V": h[1:].reshape(T * B, H).T @ dlogits_flat,  # sum_t h_t^T dlogits_t  (H, O)
            "c": dlogits_flat.sum(axis=0),  # (O,)
        }
        return grads, dh_all
