"""The lesson's loop: a tanh RNN in NumPy, trained by hand-written backpropagation through time.

    h_t = tanh(x_t @ W_x + h_{t-1} @ W_h + b)      (B, H)
    logits = h_T @ V + c                            (B, O)

W_x, W_h, b use Keras's SimpleRNN layout (kernel, recurrent_kernel, bias), so weights copy both
ways and the forward pass equals `keras.layers.SimpleRNN`'s to float32 rounding.
"""

from __future__ import annotations

import numpy as np

from rnnbench.models.base import DEFAULT_BATCH_SIZE, DEFAULT_CLIPNORM, DEFAULT_LEARNING_RATE
from rnnbench.models.numpy_common import NumpyRecurrentModel, glorot_uniform, orthogonal


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
    ) -> None:
        rng = np.random.default_rng(seed)
        params = {
            "W_x": glorot_uniform(rng, input_dim, units),  # (D, H) kernel
            "W_h": orthogonal(rng, units, units),  # (H, H) recurrent_kernel
            "b": np.zeros(units, np.float32),  # (H,)
            "V": glorot_uniform(rng, units, output_dim),  # (H, O) read-out kernel
            "c": np.zeros(output_dim, np.float32),  # (O,)
        }
        super().__init__(params, kind, learning_rate, batch_size, clipnorm)

    # -- forward and backward, side by side ---------------------------------------------------

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """States h (T+1, B, H) with h[0] = 0, and the read-out logits (B, O)."""
        W_x, W_h, b = self.params["W_x"], self.params["W_h"], self.params["b"]
        B, T, _ = x.shape
        h = np.zeros((T + 1, B, W_h.shape[0]), W_h.dtype)
        xW = (x @ W_x + b).transpose(1, 0, 2)  # (T, B, H): input projections for all steps at once
        for t in range(T):
            h[t + 1] = np.tanh(xW[t] + h[t] @ W_h)  # h_t = tanh(x_t W_x + h_tm1 W_h + b)  (B, H)
        logits = h[T] @ self.params["V"] + self.params["c"]  # (B, O)
        return h, logits

    def backward(
        self, x: np.ndarray, h: np.ndarray, dlogits: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Gradients of every parameter, and dLoss/dh_t for t = 1..T as (T, B, H)."""
        W_h, V = self.params["W_h"], self.params["V"]
        B, T, _ = x.shape
        dh_all = np.zeros((T, B, W_h.shape[0]), W_h.dtype)
        dh = dlogits @ V.T  # (B, H): dLoss/dh_T through the read-out
        da = np.empty((T, B, W_h.shape[0]), W_h.dtype)
        for t in range(T - 1, -1, -1):
            dh_all[t] = dh
            da[t] = dh * (1.0 - h[t + 1] ** 2)  # (B, H): back through tanh
            dh = da[t] @ W_h.T  # (B, H): dLoss/dh_tm1 through the recurrence
        H = W_h.shape[0]
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
