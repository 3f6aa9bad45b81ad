"""The LSTM as a NumPy loop, trained by hand-written backpropagation through time.

    z_t = x_t @ W_x + h_{t-1} @ W_h + b             (B, 4H)  gates in Keras's order i, f, k, o
    i_t = sigmoid(z_i)   input gate                 (B, H)
    f_t = sigmoid(z_f)   forget gate                (B, H)
    k_t = tanh(z_k)      candidate cell             (B, H)
    o_t = sigmoid(z_o)   output gate                (B, H)
    c_t = f_t * c_{t-1} + i_t * k_t                 (B, H)   the additive cell state
    h_t = o_t * tanh(c_t)                           (B, H)
    logits = h_T @ V + b_out                        (B, O)

W_x (D, 4H), W_h (H, 4H) and b (4H,) are exactly keras.layers.LSTM's kernel, recurrent_kernel and
bias, so weights copy both ways. Backward, the cell state's gradient flows through
`dc_{t-1} = dc_t * f_t`: a product of forget gates, not of squashed recurrent matrices as in the
tanh RNN, which is why the error signal survives long lags when f_t stays near 1.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnbench.models.base import DEFAULT_BATCH_SIZE, DEFAULT_CLIPNORM, DEFAULT_LEARNING_RATE
from rnnbench.models.keras_models import (  # Keras itself is not imported
    DEFAULT_FORGET_BIAS,
    initial_lstm_bias,
)
from rnnbench.models.numpy_common import NumpyRecurrentModel, glorot_uniform, orthogonal


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)), without overflow for large -z


class LSTMStates(NamedTuple):
    """What the forward loop keeps for the backward one."""

    h: np.ndarray  # (T+1, B, H) hidden states, h[0] = 0
    c: np.ndarray  # (T+1, B, H) cell states, c[0] = 0
    gates: np.ndarray  # (T, B, 4H) activated gates i, f, k, o of every step


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
        super().__init__(params, kind, learning_rate, batch_size, clipnorm)

    # -- forward and backward, side by side ---------------------------------------------------

    def forward(self, x: np.ndarray) -> tuple[LSTMStates, np.ndarray]:
        """States (h, c: (T+1, B, H) starting at 0; gates (T, B, 4H)) and the logits (B, O)."""
        W_x, W_h, b = self.params["W_x"], self.params["W_h"], self.params["b"]
        B, T, _ = x.shape
        H = W_h.shape[0]
        h = np.zeros((T + 1, B, H), W_h.dtype)
        c = np.zeros((T + 1, B, H), W_h.dtype)
        gates = np.empty((T, B, 4 * H), W_h.dtype)
        xW = (x @ W_x + b).transpose(1, 0, 2)  # (T, B, 4H): input projections for all steps
        for t in range(T):
            z = xW[t] + h[t] @ W_h  # (B, 4H)
            i_t = sigmoid(z[:, :H])  # (B, H) input gate
            f_t = sigmoid(z[:, H : 2 * H])  # (B, H) forget gate
            k_t = np.tanh(z[:, 2 * H : 3 * H])  # (B, H) candidate
            o_t = sigmoid(z[:, 3 * H :])  # (B, H) output gate
            c[t + 1] = f_t * c[t] + i_t * k_t  # c_t = f_t c_tm1 + i_t k_t      (B, H)
            h[t + 1] = o_t * np.tanh(c[t + 1])  # h_t = o_t tanh(c_t)          (B, H)
            gates[t] = np.concatenate([i_t, f_t, k_t, o_t], axis=1)
        logits = h[T] @ self.params["V"] + self.params["b_out"]  # (B, O)
        return LSTMStates(h, c, gates), logits

    def backward(
        self, x: np.ndarray, states: LSTMStates, dlogits: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Gradients of every parameter, and dLoss/dh_t for t = 1..T as (T, B, H)."""
        W_h, V = self.params["W_h"], self.params["V"]
        h, c, gates = states
        B, T, _ = x.shape
        H = W_h.shape[0]
        dh_all = np.zeros((T, B, H), W_h.dtype)
        dz = np.empty((T, B, 4 * H), W_h.dtype)  # dLoss/dz_t, the gates' pre-activations
        dh = dlogits @ V.T  # (B, H): dLoss/dh_T through the read-out
        dc = np.zeros((B, H), W_h.dtype)  # dLoss/dc_T from later steps: none
        for t in range(T - 1, -1, -1):
            dh_all[t] = dh
            i_t, f_t, k_t, o_t = np.split(gates[t], 4, axis=1)  # each (B, H)
            tanh_c = np.tanh(c[t + 1])  # (B, H)
            do = dh * tanh_c  # h_t = o_t tanh(c_t)                                (B, H)
            dc = dc + dh * o_t * (1.0 - tanh_c**2)  # both paths into c_t          (B, H)
            di, df, dk = dc * k_t, dc * c[t], dc * i_t  # c_t = f_t c_tm1 + i_t k_t  (B, H)
            dz[t] = np.concatenate(
                [
                    di * i_t * (1.0 - i_t),  # back through sigmoid
                    df * f_t * (1.0 - f_t),  # back through sigmoid
                    dk * (1.0 - k_t**2),  # back through tanh
                    do * o_t * (1.0 - o_t),  # back through sigmoid
                ],
                axis=1,
            )  # (B, 4H)
            dc = dc * f_t  # dLoss/dc_tm1: the additive path, scaled by the forget gate
            dh = dz[t] @ W_h.T  # (B, H): dLoss/dh_tm1 through the recurrence
        dz_flat = dz.reshape(T * B, 4 * H)  # (T*B, 4H): one big product instead of T small ones
        x_flat = x.transpose(1, 0, 2).reshape(T * B, -1)  # (T*B, D)
        grads = {
            "W_x": x_flat.T @ dz_flat,  # sum_t x_t^T dz_t        (D, 4H)
            "W_h": h[:-1].reshape(T * B, H).T @ dz_flat,  # sum_t h_tm1^T dz_t   (H, 4H)
            "b": dz_flat.sum(axis=0),  # (4H,)
            "V": h[T].T @ dlogits,  # (H, O)
            "b_out": dlogits.sum(axis=0),  # (O,)
        }
        return grads, dh_all
