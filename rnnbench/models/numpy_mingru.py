"""minGRU (Feng et al. 2024, "Were RNNs all we needed?"), trained by its parallel scan, in NumPy.

    z_t  = sigmoid(x_t @ W_z + b_z)                    (B, H)   the gate reads x only, not h
    h~_t = g(x_t @ W_h + b_h)                          (B, H)   g(k) = k + 1/2 (k >= 0), sigmoid(k)
    h_t  = (1 - z_t) * h_{t-1} + z_t * h~_t            (B, H)   h_0 = 0
    logits = h_T @ V + c                               (B, O)

No gate reads the state, so h_t = a_t h_{t-1} + v_t (a_t = 1 - z_t, v_t = z_t h~_t) is a linear
recurrence whose coefficients are all known before it runs, and the whole sequence comes out of
one scan with no Python loop over time. The scan is Heinsen (2023)'s in log space, as the
paper's log-space minGRU (its Appendix listings): with a*_t = sum_{s<=t} log a_s,

    h_t = sum_{s<=t} exp(a*_t - a*_s) v_s = exp(a*_t + logcumsumexp_s(log v_s - a*_s))

`np.cumsum` gives a* and `np.logaddexp.accumulate` the log-cumulative-sum; g keeps h~ > 0 so
log v is defined (that is why the paper's log-space minGRU uses g), and log(1 - z) =
-softplus(k_z), log z = -softplus(-k_z) are exact for any k_z.

Backward: the recurrence is linear in h, so dL/dh_t = sum_{s>=t} exp(a*_s - a*_t) dL_s/dh_s
(dL_s: what reaches h_s from outside the recurrence, the read-out), a scan run backwards in
time. Those terms have either sign, so it runs in log space twice, on the positive and negative
parts (Heinsen's treatment of signed values), and every exponent a*_s - a*_t <= 0 stays finite.
Then dL/dk_z = dh_t (h~_t - h_{t-1}) z_t (1 - z_t) and dL/dk_h = dh_t z_t g'(k_h).

One minGRU layer of `units` width with rnnbench's linear read-out (the paper stacks layers with
residual connections and normalisation; here the cell is compared on its own, as the others are).
Its kernels and biases start as the paper's PyTorch `nn.Linear` does: U(-1/sqrt(D), 1/sqrt(D));
the read-out as every NumPy model's (glorot-uniform kernel, zero bias).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnbench.models.base import DEFAULT_BATCH_SIZE, DEFAULT_CLIPNORM, DEFAULT_LEARNING_RATE
from rnnbench.models.numpy_common import NumpyRecurrentModel, glorot_uniform
from rnnbench.schema import DEFAULT_OPTIMIZER

PREDICT_CHUNK = 256  # sequences per scan when predicting: the scan holds all T steps at once


def softplus(k: np.ndarray) -> np.ndarray:
    """log(1 + e^k), stable for either sign of k."""
    return np.logaddexp(0.0, k).astype(k.dtype)


def g(k: np.ndarray) -> np.ndarray:
    """The paper's positive activation for h~: k + 1/2 for k >= 0, sigmoid(k) below."""
    return np.where(k >= 0, k + 0.5, 1.0 / (1.0 + np.exp(-np.minimum(k, 0.0)))).astype(k.dtype)


def log_g(k: np.ndarray) -> np.ndarray:
    """log g(k): log(k + 1/2) for k >= 0, -softplus(-k) below."""
    return np.where(k >= 0, np.log(np.maximum(k, 0.0) + 0.5), -softplus(-k)).astype(k.dtype)


def log_scan(log_a: np.ndarray, log_v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """h_t = a_t h_{t-1} + v_t with h_0 = 0, over axis 0, from log a and log v (T, ...).

    Returns (h, a*): h (T, ...) and a*_t = sum_{s<=t} log a_s (T, ...), which backward reuses.
    """
    a_star = np.cumsum(log_a, axis=0)  # (T, B, H)
    log_h = np.logaddexp.accumulate(log_v - a_star, axis=0)  # log sum_{s<=t} v_s / A_s
    log_h += a_star
    return np.exp(log_h), a_star


def reverse_scan(a_star: np.ndarray, g_out: np.ndarray) -> np.ndarray:
    """dh_t = sum_{s>=t} exp(a*_s - a*_t) g_out_s over axis 0: the backward of `log_scan`.

    g_out may have either sign: the positive and negative parts are scanned apart, in log space.
    """
    dh = np.zeros_like(g_out)
    with np.errstate(divide="ignore"):  # log 0 = -inf: a step with no gradient of that sign
        for part, sign in ((np.maximum(g_out, 0.0), 1.0), (np.maximum(-g_out, 0.0), -1.0)):
            log_part = np.log(part) + a_star  # (T, B, H) log(g_s A_s)
            log_sum = np.logaddexp.accumulate(log_part[::-1], axis=0)[::-1]  # sum over s >= t
            dh += sign * np.exp(log_sum - a_star)
    return dh


def mingru_sequential(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The minGRU as the plain loop its equations say: states h (T, B, H), for tests and readers."""
    B, T, _ = x.shape
    h = np.zeros((B, params["b_z"].shape[0]), params["b_z"].dtype)
    states = []
    for t in range(T):
        z_t = 1.0 / (1.0 + np.exp(-(x[:, t] @ params["W_z"] + params["b_z"])))  # (B, H)
        h_tilde = g(x[:, t] @ params["W_h"] + params["b_h"])  # (B, H)
        h = (1.0 - z_t) * h + z_t * h_tilde  # (B, H)
        states.append(h)
    return np.stack(states)


class MinGRUStates(NamedTuple):
    h: np.ndarray  # (T, B, H) h_1..h_T
    a_star: np.ndarray  # (T, B, H) cumulative log(1 - z)
    k_z: np.ndarray  # (T, B, H) gate pre-activations
    k_h: np.ndarray  # (T, B, H) candidate pre-activations


class NumpyMinGRU(NumpyRecurrentModel):
    """One minGRU layer, computed by a log-space parallel scan, and a linear read-out."""

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
    ) -> None:
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(input_dim)  # nn.Linear's default range

        def linear(*shape: int) -> np.ndarray:
            return rng.uniform(-bound, bound, shape).astype(np.float32)

        params = {
            "W_z": linear(input_dim, units),  # (D, H)
            "b_z": linear(units),  # (H,)
            "W_h": linear(input_dim, units),  # (D, H)
            "b_h": linear(units),  # (H,)
            "V": glorot_uniform(rng, units, output_dim),  # (H, O)
            "c": np.zeros(output_dim, np.float32),  # (O,)
        }
        super().__init__(params, kind, learning_rate, batch_size, clipnorm, optimizer)

    def _scan(self, x: np.ndarray) -> MinGRUStates:
        p = self.params
        x_tb = x.transpose(1, 0, 2)  # (T, B, D) time-major: the scans run over axis 0
        k_z = x_tb @ p["W_z"] + p["b_z"]  # (T, B, H)
        k_h = x_tb @ p["W_h"] + p["b_h"]  # (T, B, H)
        log_a = -softplus(k_z)  # log(1 - z_t)                                          (T, B, H)
        log_v = log_g(k_h) - softplus(-k_z)  # log(z_t h~_t)                            (T, B, H)
        h, a_star = log_scan(log_a, log_v)
        return MinGRUStates(h, a_star, k_z, k_h)

    def forward(
        self, x: np.ndarray, keep_states: bool = True
    ) -> tuple[MinGRUStates | None, np.ndarray]:
        """States (h_1..h_T and what backward needs, each (T, B, H)) and the logits (B, O).

        Without `keep_states` (predicting) it scans PREDICT_CHUNK sequences at a time and keeps
        only the logits.
        """
        p = self.params
        if keep_states:
            states = self._scan(x)
            return states, states.h[-1] @ p["V"] + p["c"]
        logits = [self._scan(x[i : i + PREDICT_CHUNK]).h[-1] @ p["V"] + p["c"]
                  for i in range(0, len(x), PREDICT_CHUNK)]
        return None, np.concatenate(logits)

    def backward(
        self, x: np.ndarray, states: MinGRUStates | None, dlogits: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Gradients of every parameter, and dLoss/dh_t for t = 1..T as (T, B, H)."""
        if states is None:
            raise ValueError("backward needs the states of forward(x, keep_states=True)")
        p = self.params
        h, a_star, k_z, k_h = states
        B, T, _ = x.shape
        H = h.shape[-1]
        g_out = np.zeros_like(h)  # (T, B, H) what reaches h_t from the read-out
        g_out[-1] = dlogits @ p["V"].T
        dh = reverse_scan(a_star, g_out)  # (T, B, H) dLoss/dh_t through the recurrence
        z = 1.0 / (1.0 + np.exp(-k_z))  # (T, B, H)
        h_prev = np.concatenate([np.zeros_like(h[:1]), h[:-1]])  # h_{t-1}, h_0 = 0
        dk_z = dh * (g(k_h) - h_prev) * z * (1.0 - z)  # (T, B, H)
        sig_h = 1.0 / (1.0 + np.exp(-np.minimum(k_h, 0.0)))  # sigmoid(k_h) where k_h < 0
        g_slope = np.where(k_h >= 0, 1.0, sig_h * (1.0 - sig_h))  # g'(k_h)            (T, B, H)
        dk_h = dh * z * g_slope  # (T, B, H)
        x_flat = x.transpose(1, 0, 2).reshape(T * B, -1)  # (T*B, D)
        dk_z_flat, dk_h_flat = dk_z.reshape(T * B, H), dk_h.reshape(T * B, H)
        grads = {
            "W_z": x_flat.T @ dk_z_flat,  # (D, H)
            "b_z": dk_z_flat.sum(axis=0),  # (H,)
            "W_h": x_flat.T @ dk_h_flat,  # (D, H)
            "b_h": dk_h_flat.sum(axis=0),  # (H,)
            "V": h[-1].T @ dlogits,  # (H, O)
            "c": dlogits.sum(axis=0),  # (O,)
        }
        return {k: v.astype(h.dtype) for k, v in grads.items()}, dh
