"""The GRU as Keras builds it (`reset_after=True`), a NumPy loop trained by hand-written BPTT.

    a_t = x_t @ W_x + b[0]                       (B, 3H)  input side, gates in Keras's order z, r, h
    u_t = h_{t-1} @ W_h + b[1]                   (B, 3H)  recurrent side
    z_t = sigmoid(a_z + u_z)    update gate      (B, H)   how much of the old state to keep
    r_t = sigmoid(a_r + u_r)    reset gate       (B, H)
    n_t = tanh(a_n + r_t * u_n) candidate        (B, H)   the reset applied after the product
    h_t = z_t * h_{t-1} + (1 - z_t) * n_t        (B, H)   Keras's convention
    logits = h_T @ V + b_out                     (B, O)
    logits_t = h_t @ V + b_out  at every step t  (B, T, O)  built for a task scored per step

Read `gru_step` and `gru_step_backward` in lesson.py first: they are these equations written
plainly. The loops below compute the same numbers (a test holds them equal), rearranged for speed:
the gates stacked gate-major, the sigmoid as a tanh of halved weights, the input bias folded into
W_x, and the factors of the backward pass that do not depend on the incoming gradient computed for
every step at once before the loop.

W_x (D, 3H), W_h (H, 3H) and b (2, 3H) are exactly keras.layers.GRU's kernel, recurrent_kernel and
bias, so weights copy both ways. Backward, the state's gradient has a path that skips the weights:
`dh_{t-1} = dh_t * z_t + (through the gates)`, a product of update gates, so a GRU whose z_t stays
near 1 (a positive bias on z: `forget_bias`) carries its error signal across long lags, as the
LSTM's forget gate does.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnbench.models.base import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CLIPNORM,
    DEFAULT_LEARNING_RATE,
    initial_gru_bias,
)
from rnnbench.models.numpy_common import (
    NumpyRecurrentModel,
    flush_to_zero,
    glorot_uniform,
    orthogonal,
)
from rnnbench.models.numpy_lstm import with_ones
from rnnbench.schema import DEFAULT_OPTIMIZER
from rnnbench.settings import DEFAULT_GRU_FORGET_BIAS


def per_gate(W: np.ndarray) -> np.ndarray:
    """Keras's (rows, 3H) gate columns z, r, h as a (3, rows, H) stack, one block per gate."""
    return W.reshape(W.shape[0], 3, -1).transpose(1, 0, 2)


def from_gates(W3: np.ndarray) -> np.ndarray:
    """The inverse of `per_gate`: (3, rows, H) back to Keras's (rows, 3H) columns."""
    return W3.transpose(1, 0, 2).reshape(W3.shape[1], -1)


class GRUStates(NamedTuple):
    """What the forward loop keeps for the backward one."""

    h: np.ndarray  # (T+1, B, H) hidden states, h[0] = 0
    gates: np.ndarray  # (3, T, B, H) activated z, r and the candidate n, gate-major
    u_n: np.ndarray  # (T, B, H) h_{t-1} @ W_hn + b[1]_n: what the reset gate multiplies


class NumpyGRU(NumpyRecurrentModel):
    """A batched float32 GRU (Keras's reset_after=True) with a linear read-out of the last state."""

    keras_weight_names = ("W_x", "W_h", "b", "V", "b_out")  # GRU's 3, then Dense's 2

    def __init__(
        self,
        input_dim: int,
        units: int,
        output_dim: int,
        kind: str,
        seed: int,
        forget_bias: float = DEFAULT_GRU_FORGET_BIAS,
        learning_rate: float = DEFAULT_LEARNING_RATE,
        batch_size: int = DEFAULT_BATCH_SIZE,
        clipnorm: float | None = DEFAULT_CLIPNORM,
        optimizer: str = DEFAULT_OPTIMIZER,
        per_step: bool = False,
    ) -> None:
        rng = np.random.default_rng(seed)
        H = units
        params = {
            "W_x": glorot_uniform(rng, input_dim, 3 * H),  # (D, 3H) kernel
            "W_h": orthogonal(rng, H, 3 * H),  # (H, 3H) recurrent_kernel
            "b": initial_gru_bias(H, forget_bias),  # (2, 3H) bias: input row, recurrent row
            "V": glorot_uniform(rng, H, output_dim),  # (H, O) read-out kernel
            "b_out": np.zeros(output_dim, np.float32),  # (O,)
        }
        super().__init__(params, kind, learning_rate, batch_size, clipnorm, optimizer, per_step)

    # -- forward and backward, side by side ---------------------------------------------------

    def _stacked_weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """[W_x; b[0] (+ b[1] for z, r)] per gate (3, D+1, H), W_h per gate (3, H, H), and the
        candidate's recurrent bias b[1]_n (H,); z's and r's columns halved (see `forward`)."""
        W_x, W_h, b = self.params["W_x"], self.params["W_h"], self.params["b"]
        H = W_h.shape[0]
        half = np.array([0.5, 0.5, 1.0], W_h.dtype)[:, None, None]  # (3, 1, 1): n keeps tanh
        b_x = b[0].copy()  # (3H,) z's and r's two biases are one sum; n's recurrent one is not
        b_x[: 2 * H] += b[1, : 2 * H]
        W_xb3 = per_gate(np.concatenate([W_x, b_x[None, :]])) * half  # (3, D+1, H)
        return W_xb3, per_gate(W_h) * half, b[1, 2 * H :]

    def forward(self, x: np.ndarray, keep_states: bool = True) -> tuple[GRUStates, np.ndarray]:
        """States (h (T+1, B, H) from 0; gates (3, T, B, H); u_n (T, B, H)) and the logits (B, O),
        or (B, T, O) for a per-step model.

        Without `keep_states` (predicting: no backward pass follows) only the last two states
        are kept, and step t works in rows t % 2, as numpy-lstm's forward does.
        """
        B, T, D = x.shape
        H = self.params["W_h"].shape[0]
        dtype = self.dtype
        rows = T + 1 if keep_states else 2
        # sigmoid(a) = 1/2 + 1/2 tanh(a/2): with z's and r's weights halved (exact in floating
        # point), one np.tanh activates both gates and `* 0.5 + 0.5` makes them sigmoids.
        W_xb3, W_h3, b_n = self._stacked_weights()
        x1 = with_ones(x, self.work_array("x1", (T, B, D + 1)))  # (T, B, D+1)
        if keep_states:
            h = self.work_array("h", (rows, B, H))
            u_n = self.work_array("u_n", (T, B, H))
            # x_t W_x + b for every step and gate at once, straight into the gates array
            gates = np.matmul(x1[None], W_xb3[:, None], out=self.work_array("gates", (3, T, B, H)))
        else:
            h, u_n, gates = (np.empty(shape, dtype) for shape in
                             ((rows, B, H), (1, B, H), (3, 1, B, H)))
        h[0] = 0.0
        u = np.empty((3, B, H), dtype)  # h_tm1 W_h of one step, per gate: reused every step
        r_u = np.empty((B, H), dtype)  # r_t * u_n: reused every step
        V, b_out = self.params["V"], self.params["b_out"]
        every = None  # (B, T, O) per-step logits, made in the loop when states are not kept
        if self.per_step and not keep_states:
            every = np.empty((B, T, V.shape[1]), dtype)
        for t in range(T):
            now, before = (t + 1) % rows, t % rows  # t + 1 and t when every state is kept
            s = t if keep_states else 0
            if not keep_states:
                np.matmul(x1[t], W_xb3, out=gates[:, 0])
            g = gates[:, s]  # (3, B, H): x_t W_x + b, halved in z, r
            np.matmul(h[before], W_h3, out=u)  # h_tm1 W_h per gate                 (3, B, H)
            np.add(u[2], b_n, out=u_n[s])  # u_n = h_tm1 W_hn + b[1]_n              (B, H)
            zr = g[:2]  # (2, B, H)
            zr += u[:2]  # a + u in z, r (halved)
            np.tanh(zr, out=zr)
            zr *= 0.5  # z, r = 1/2 + 1/2 tanh(a/2) = sigmoid(a)                    (2, B, H)
            zr += 0.5
            z_t, r_t, n_t = g  # each (B, H)
            np.multiply(r_t, u_n[s], out=r_u)
            n_t += r_u  # a_n + r_t u_n
            np.tanh(n_t, out=n_t)  # n_t                                              (B, H)
            np.subtract(h[before], n_t, out=h[now])  # h_t = n_t + z_t (h_tm1 - n_t)  (B, H)
            h[now] *= z_t
            h[now] += n_t
            if every is not None:
                every[:, t] = h[now] @ V + b_out  # logits_t = h_t V + b_out           (B, O)
        states = GRUStates(h, gates, u_n)
        if every is not None:
            return states, every
        if self.per_step:  # every step's read-out at once: (T, B, H)(H, O) -> (B, T, O)
            return states, (h[1:] @ V + b_out).transpose(1, 0, 2)
        return states, h[T % rows] @ V + b_out  # (B, O)

    def backward(
        self, x: np.ndarray, states: GRUStates, dlogits: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Gradients of every parameter, and dLoss/dh_t for t = 1..T as (T, B, H).

        `dlogits` (B, O) of the last step's read-out, or (B, T, O) of every step's: then each
        step's dlogits_t V^T joins dLoss/dh_t before BPTT carries it further back.
        """
        W_h, V = self.params["W_h"], self.params["V"]
        h, gates, u_n = states
        every = self.per_step
        B, T, D = x.shape
        H = W_h.shape[0]
        z, r, n = gates  # each (T, B, H)
        # The factors of each step's local derivatives that do not depend on dh_t, for all
        # steps at once (big element-wise operations instead of T small ones):
        c_z = self.work_array("c_z", (T, B, H))  # dLoss/da_z = dh_t * c_z
        np.subtract(h[:-1], n, out=c_z)  # (h_tm1 - n) ...
        one_minus = self.work_array("one_minus", (T, B, H))
        np.subtract(1.0, z, out=one_minus)  # 1 - z
        c_z *= z
        c_z *= one_minus  # ... * sigmoid'(a_z) = z (1 - z)
        c_n = self.work_array("c_n", (T, B, H))  # dLoss/da_n = dh_t * c_n
        np.square(n, out=c_n)
        np.subtract(1.0, c_n, out=c_n)  # tanh'(a_n) = 1 - n^2 ...
        c_n *= one_minus  # ... * (1 - z)
        c_r = self.work_array("c_r", (T, B, H))  # dLoss/da_r = dLoss/da_n * c_r
        np.subtract(1.0, r, out=c_r)
        c_r *= r  # sigmoid'(a_r) = r (1 - r) ...
        c_r *= u_n  # ... * u_n
        # What the loop fills: the gradients at the pre-activations of every step,
        # d_u = dLoss/du (recurrent side: z, r, then n's r_t * dLoss/da_n) and d_an = dLoss/da_n
        d_u = self.work_array("d_u", (3, T, B, H))
        d_an = self.work_array("d_an", (T, B, H))
        W_h3_T = np.ascontiguousarray(per_gate(W_h).transpose(0, 2, 1))  # (3, H, H)
        dh_parts = np.empty((5, B, H), self.dtype)  # d_u W_h^T per gate, dh_t z_t, own read-out
        dh_all = self.work_array("dh_all", (T, B, H))  # dh_all[t] is dLoss/dh_t (t from 0)
        if every:  # each step's read-out gradient dlogits_t V^T, all at once    (T, B, H)
            dlogits_tb = np.ascontiguousarray(dlogits.transpose(1, 0, 2))  # (T, B, O)
            np.matmul(dlogits_tb, V.T, out=dh_all)
        else:
            np.matmul(dlogits, V.T, out=dh_all[T - 1])  # (B, H): dLoss/dh_T through the read-out
        parts = dh_parts if every else dh_parts[:4]  # with step t-1's own read-out gradient
        for t in range(T - 1, -1, -1):
            dh = dh_all[t]  # (B, H)
            flush_to_zero(dh)  # a vanishing gradient must not go subnormal: see flush_to_zero
            np.multiply(dh, c_z[t], out=d_u[0, t])  # dLoss/da_z                       (B, H)
            np.multiply(dh, c_n[t], out=d_an[t])  # dLoss/da_n                          (B, H)
            np.multiply(d_an[t], c_r[t], out=d_u[1, t])  # dLoss/da_r                  (B, H)
            np.multiply(d_an[t], r[t], out=d_u[2, t])  # dLoss/du_n = r_t dLoss/da_n    (B, H)
            if t > 0:  # dLoss/dh_tm1 = dh_t z_t + sum_g d_u_g W_hg^T, straight into dh_all
                np.matmul(d_u[:, t], W_h3_T, out=dh_parts[:3])  # (3, B, H)
                np.multiply(dh, z[t], out=dh_parts[3])  # the path that skips the weights
                if every:
                    dh_parts[4] = dh_all[t - 1]
                np.sum(parts, axis=0, out=dh_all[t - 1])  # (B, H)
        # Weight gradients as one product per gate over all T*B rows
        x1 = with_ones(x, self.work_array("x1", (T, B, D + 1))).reshape(T * B, D + 1)
        h_tm1 = h[:-1].reshape(T * B, H)  # (T*B, H)
        d_u_flat = d_u.reshape(3, T * B, H)  # (3, T*B, H)
        dW_h3 = np.matmul(h_tm1.T, d_u_flat)  # sum_t h_tm1^T du_t per gate          (3, H, H)
        dW_xb3 = np.empty((3, D + 1, H), self.dtype)  # sum_t [x_t, 1]^T da_t per gate
        np.matmul(x1.T, d_u_flat[:2], out=dW_xb3[:2])  # z, r: da = du
        np.matmul(x1.T, d_an.reshape(T * B, H), out=dW_xb3[2])  # n: da_n, not du_n
        dW_xb = from_gates(dW_xb3)  # (D+1, 3H) in Keras's gate columns
        db = np.stack([dW_xb[D], d_u_flat.sum(axis=1).reshape(3 * H)])  # (2, 3H)
        grads = {
            "W_x": dW_xb[:D],  # (D, 3H)
            "W_h": from_gates(dW_h3),  # (H, 3H)
            "b": db,  # (2, 3H): input row, recurrent row
        }
        if every:  # the read-out at every step: sum_t h_t^T dlogits_t
            dlogits_flat = dlogits_tb.reshape(T * B, V.shape[1])  # (T*B, O)
            grads["V"] = h[1:].reshape(T * B, H).T @ dlogits_flat  # (H, O)
            grads["b_out"] = dlogits_flat.sum(axis=0)  # (O,)
        else:
            grads["V"] = h[T].T @ dlogits  # (H, O)
            grads["b_out"] = dlogits.sum(axis=0)  # (O,)
        return grads, dh_all
