"""The LSTM as a NumPy loop, trained by hand-written backpropagation through time.

    z_t = x_t @ W_x + h_{t-1} @ W_h + b             (B, 4H)  gates in Keras's order i, f, k, o
    i_t = sigmoid(z_i)   input gate                 (B, H)
    f_t = sigmoid(z_f)   forget gate                (B, H)
    k_t = tanh(z_k)      candidate cell             (B, H)
    o_t = sigmoid(z_o)   output gate                (B, H)
    c_t = f_t * c_{t-1} + i_t * k_t                 (B, H)   the additive cell state
    h_t = o_t * tanh(c_t)                           (B, H)
    logits = h_T @ V + b_out                        (B, O)
    logits_t = h_t @ V + b_out  at every step t     (B, T, O)  built for a task scored per step

Read `lstm_step` and `lstm_step_backward` in lesson.py first: they are these equations written
plainly. The loops below compute the same numbers (a test holds them equal), rearranged for speed:
the gates stacked gate-major, the sigmoid as a tanh of halved weights, the bias folded into W_x.

W_x (D, 4H), W_h (H, 4H) and b (4H,) are exactly keras.layers.LSTM's kernel, recurrent_kernel and
bias, so weights copy both ways. Backward, the cell state's gradient flows through
`dc_{t-1} = dc_t * f_t`: a product of forget gates, not of squashed recurrent matrices as in the
tanh RNN, which is why the error signal survives long lags when f_t stays near 1.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnbench.models.base import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CLIPNORM,
    DEFAULT_LEARNING_RATE,
    initial_lstm_bias,
)
from rnnbench.models.numpy_common import (
    NumpyRecurrentModel,
    flush_to_zero,
    glorot_uniform,
    orthogonal,
)
from rnnbench.schema import DEFAULT_OPTIMIZER
from rnnbench.settings import DEFAULT_FORGET_BIAS


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)), without overflow for large -z


def per_gate(W: np.ndarray) -> np.ndarray:
    """Keras's (rows, 4H) gate columns i, f, k, o as a (4, rows, H) stack, one block per gate."""
    return W.reshape(W.shape[0], 4, -1).transpose(1, 0, 2)


def with_ones(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """x (B, T, D) time-major with a column of ones appended, in `out` (T, B, D+1), so that one
    product with the stacked [W_x; b] (D+1, 4H) gives x_t W_x + b, and its gradient both at once."""
    D = x.shape[2]
    out[..., :D] = x.transpose(1, 0, 2)
    out[..., D] = 1.0
    return out


class LSTMStates(NamedTuple):
    """What the forward loop keeps for the backward one."""

    h: np.ndarray  # (T+1, B, H) hidden states, h[0] = 0
    c: np.ndarray  # (T+1, B, H) cell states, c[0] = 0
    tanh_c: np.ndarray  # (T+1, B, H) tanh(c_t): computed forward, reused backward
    gates: np.ndarray  # (T, 4, B, H) activated gates i, f, k, o of every step, gate-major


class NumpyLSTM(NumpyRecurrentModel):
    """A batched float32 LSTM with a linear read-out of the last hidden state."""

    keras_weight_names = ("W_x", "W_h", "b", "V", "b_out")  # LSTM's 3, then Dense's 2

    def __init__(
        self,
        input_dim: int,
        units: int,
        output_dim: int,
        kind: str,
        seed: int,
        forget_bias: float = DEFAULT_FORGET_BIAS,
        learning_rate: float = DEFAULT_LEARNING_RATE,
        batch_size: int = DEFAULT_BATCH_SIZE,
        clipnorm: float | None = DEFAULT_CLIPNORM,
        optimizer: str = DEFAULT_OPTIMIZER,
        per_step: bool = False,
    ) -> None:
        rng = np.random.default_rng(seed)
        H = units
        params = {
            "W_x": glorot_uniform(rng, input_dim, 4 * H),  # (D, 4H) kernel
            "W_h": orthogonal(rng, H, 4 * H),  # (H, 4H) recurrent_kernel
            "b": initial_lstm_bias(H, forget_bias),  # (4H,) bias
            "V": glorot_uniform(rng, H, output_dim),  # (H, O) read-out kernel
            "b_out": np.zeros(output_dim, np.float32),  # (O,)
        }
        super().__init__(params, kind, learning_rate, batch_size, clipnorm, optimizer, per_step)

    # -- forward and backward, side by side ---------------------------------------------------

    # Layout, for speed: at batch 128 and 64 units every NumPy call costs about as much in
    # overhead as in arithmetic, so each step is a few calls on contiguous arrays, with out= into
    # arrays allocated once. The gates are kept gate-major, (4, B, H) per step, so i_t, f_t, k_t
    # and o_t are each one contiguous (B, H) block (column slices of a (B, 4H) array are strided,
    # and NumPy is several times slower on them).

    def forward(
        self, x: np.ndarray, keep_states: bool = True
    ) -> tuple[LSTMStates, np.ndarray]:
        """States (h, c, tanh_c: (T+1, B, H) from 0; gates (T, 4, B, H)) and the logits (B, O),
        or (B, T, O) for a per-step model.

        Without `keep_states` (predicting: no backward pass follows) only the last two steps'
        states and the current step's gates are kept, and step t works in rows t % 2: a
        1,000-sequence held-out set at length 500 would otherwise hold 900 MB of states.
        """
        W_x, W_h, b = self.params["W_x"], self.params["W_h"], self.params["b"]
        B, T, D = x.shape
        H = W_h.shape[0]
        dtype = W_h.dtype
        rows = T + 1 if keep_states else 2

        def states_array(name: str) -> np.ndarray:  # (rows, B, H), kept by the model if large
            shape = (rows, B, H)
            return self.work_array(name, shape) if keep_states else np.empty(shape, dtype)

        h, c, tanh_c = states_array("h"), states_array("c"), states_array("tanh_c")
        h[0], c[0], tanh_c[0] = 0.0, 0.0, 0.0
        # sigmoid(z) = 1/2 + 1/2 tanh(z/2): with the i, f, o weights halved, one np.tanh per step
        # activates all four gates, and `* half + half` turns i, f, o into sigmoids. Halving is
        # exact in floating point, so the numbers are those of `sigmoid` above.
        half = np.array([0.5, 0.5, 1.0, 0.5], dtype)[:, None, None]  # (4, 1, 1): k keeps tanh
        W_xb = np.concatenate([W_x, b[None, :]])  # (D+1, 4H): the bias as a last input row
        W_xb4, W_h4 = per_gate(W_xb) * half, per_gate(W_h) * half  # (4, D+1, H), (4, H, H)
        x1 = with_ones(x, self.work_array("x1", (T, B, D + 1)))  # (T, B, D+1)
        if keep_states:
            # x_t W_x + b for every step at once, straight into the gates array  (T, 4, B, H)
            gates = np.matmul(x1[:, None], W_xb4, out=self.work_array("gates", (T, 4, B, H)))
        else:
            gates = np.empty((1, 4, B, H), dtype)  # only one step's, made in the loop
        zh = np.empty((4, B, H), dtype)  # h_tm1 W_h of one step: work array reused every step
        ik = np.empty((B, H), dtype)  # i_t * k_t: work array reused every step
        V, b_out = self.params["V"], self.params["b_out"]
        every = None  # (B, T, O) per-step logits, made in the loop when states are not kept
        if self.per_step and not keep_states:
            every = np.empty((B, T, V.shape[1]), dtype)
        for t in range(T):
            now, before = (t + 1) % rows, t % rows  # t + 1 and t when every state is kept
            # (4, B, H): x_t W_x + b, halved in i, f, o
            g = gates[t] if keep_states else np.matmul(x1[t], W_xb4, out=gates[0])
            np.matmul(h[before], W_h4, out=zh)  # h_tm1 W_h per gate                (4, B, H)
            g += zh  # z_t = x_t W_x + h_tm1 W_h + b                            (4, B, H)
            np.tanh(g, out=g)  # k_t = tanh(z_k); tanh(z/2) in i, f, o              (4, B, H)
            g *= half  # i, f, o = 1/2 + 1/2 tanh(z/2) = sigmoid(z)
            g += 1.0 - half
            i_t, f_t, k_t, o_t = g  # each (B, H)
            np.multiply(f_t, c[before], out=c[now])  # c_t = f_t c_tm1 ...          (B, H)
            np.multiply(i_t, k_t, out=ik)
            c[now] += ik  # ... + i_t k_t                                           (B, H)
            np.tanh(c[now], out=tanh_c[now])  # (B, H)
            np.multiply(o_t, tanh_c[now], out=h[now])  # h_t = o_t tanh(c_t)       (B, H)
            if every is not None:
                every[:, t] = h[now] @ V + b_out  # logits_t = h_t V + b_out           (B, O)
        states = LSTMStates(h, c, tanh_c, gates)
        if every is not None:
            return states, every
        if self.per_step:  # every step's read-out at once: (T, B, H)(H, O) -> (B, T, O)
            return states, (h[1:] @ V + b_out).transpose(1, 0, 2)
        logits = h[T % rows] @ V + b_out  # (B, O)
        return states, logits

    def backward(
        self, x: np.ndarray, states: LSTMStates, dlogits: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Gradients of every parameter, and dLoss/dh_t for t = 1..T as (T, B, H).

        `dlogits` (B, O) of the last step's read-out, or (B, T, O) of every step's: then each
        step's dlogits_t V^T joins dLoss/dh_t before BPTT carries it further back.
        """
        W_h, V = self.params["W_h"], self.params["V"]
        h, c, tanh_c, gates = states
        every = self.per_step
        B, T, D = x.shape
        H = W_h.shape[0]
        dtype = W_h.dtype
        x1 = with_ones(x, self.work_array("x1", (T, B, D + 1)))  # (T, B, D+1)
        W_h4_T = np.ascontiguousarray(per_gate(W_h).transpose(0, 2, 1))  # (4, H, H): W_h^T per gate
        dW_xb4 = np.zeros((4, D + 1, H), dtype)  # sum_t [x_t, 1]^T dz_t, per gate
        dW_h4 = np.zeros((4, H, H), dtype)  # sum_t h_tm1^T dz_t, per gate
        # Work arrays of one step, reused by every step:
        dz = np.empty((4, B, H), dtype)  # dLoss/dz_t, the gates' pre-activations, per gate
        dact = np.empty((4, B, H), dtype)  # the gates' activation derivatives
        dc_from_h = np.empty((B, H), dtype)
        dh_parts = np.empty((4, B, H), dtype)  # dz_t W_h^T per gate, summed into dh_tm1
        dW_xb_t, dW_h_t = np.empty_like(dW_xb4), np.empty_like(dW_h4)  # one step's products
        dh_all = self.work_array("dh_all", (T, B, H))  # dh_all[t] is dLoss/dh_t (t from 0)
        if every:  # each step's read-out gradient dlogits_t V^T, all at once    (T, B, H)
            dlogits_tb = np.ascontiguousarray(dlogits.transpose(1, 0, 2))  # (T, B, O)
            np.matmul(dlogits_tb, V.T, out=dh_all)
        else:
            np.matmul(dlogits, V.T, out=dh_all[T - 1])  # (B, H): dLoss/dh_T through the read-out
        carried = np.empty((B, H), dtype)  # a per-step model's dLoss/dh_tm1 from later steps
        dc = np.zeros((B, H), dtype)  # dLoss/dc_T from later steps: none
        for t in range(T - 1, -1, -1):
            dh = dh_all[t]  # (B, H)
            flush_to_zero(dh)  # a vanishing gradient must not go subnormal: see flush_to_zero
            flush_to_zero(dc)
            i_t, f_t, k_t, o_t = gates[t]  # each (B, H)
            dz_i, dz_f, dz_k, dz_o = dz  # each (B, H), filled first with dLoss/d(gate)
            np.multiply(dh, tanh_c[t + 1], out=dz_o)  # h_t = o_t tanh(c_t)          (B, H)
            np.square(tanh_c[t + 1], out=dc_from_h)
            np.subtract(1.0, dc_from_h, out=dc_from_h)
            dc_from_h *= o_t
            dc_from_h *= dh  # dh_t o_t (1 - tanh(c_t)^2)                              (B, H)
            dc += dc_from_h  # both paths into c_t: through h_t and from c_{t+1}      (B, H)
            np.multiply(dc, k_t, out=dz_i)  # c_t = f_t c_tm1 + i_t k_t                (B, H)
            np.multiply(dc, c[t], out=dz_f)
            np.multiply(dc, i_t, out=dz_k)
            np.subtract(1.0, gates[t], out=dact)  # sigmoid' = s (1 - s) for i, f, o
            dact *= gates[t]
            np.square(k_t, out=dact[2])  # tanh' = 1 - k^2 for k
            np.subtract(1.0, dact[2], out=dact[2])
            dz *= dact  # back through the activations: dz_t                          (4, B, H)
            dc *= f_t  # dLoss/dc_tm1: the additive path, scaled by the forget gate
            # Weight gradients step by step, while dz_t is in cache (no (T, B, 4H) array)
            np.matmul(x1[t].T, dz, out=dW_xb_t)  # [x_t, 1]^T dz_t              (4, D+1, H)
            dW_xb4 += dW_xb_t
            np.matmul(h[t].T, dz, out=dW_h_t)  # h_tm1^T dz_t                       (4, H, H)
            dW_h4 += dW_h_t
            if t > 0:  # dLoss/dh_tm1 through the recurrence, written straight into dh_all
                np.matmul(dz, W_h4_T, out=dh_parts)  # (4, B, H)
                if every:  # joining step t-1's own read-out gradient
                    np.sum(dh_parts, axis=0, out=carried)
                    dh_all[t - 1] += carried
                else:
                    np.sum(dh_parts, axis=0, out=dh_all[t - 1])  # (B, H)
        dW_xb = dW_xb4.transpose(1, 0, 2).reshape(D + 1, 4 * H)  # back to Keras's gate columns
        grads = {
            "W_x": dW_xb[:D],  # sum_t x_t^T dz_t        (D, 4H)
            "W_h": dW_h4.transpose(1, 0, 2).reshape(H, 4 * H),  # sum_t h_tm1^T dz_t   (H, 4H)
            "b": dW_xb[D],  # sum_t dz_t over the batch  (4H,)
        }
        if every:  # the read-out at every step: sum_t h_t^T dlogits_t
            dlogits_flat = dlogits_tb.reshape(T * B, V.shape[1])  # (T*B, O)
            grads["V"] = h[1:].reshape(T * B, H).T @ dlogits_flat  # (H, O)
            grads["b_out"] = dlogits_flat.sum(axis=0)  # (O,)
        else:
            grads["V"] = h[T].T @ dlogits  # (H, O)
            grads["b_out"] = dlogits.sum(axis=0)  # (O,)
        return grads, dh_all
