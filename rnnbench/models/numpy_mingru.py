"""minGRU (Feng et al. 2024, "Were RNNs all we needed?"), trained by its parallel scan, in NumPy.

    z_t  = sigmoid(x_t @ W_z + b_z)                    (B, H)   the gate reads x only, not h
    h~_t = g(x_t @ W_h + b_h)                          (B, H)   g(k) = k + 1/2 (k >= 0), sigmoid(k)
    h_t  = (1 - z_t) * h_{t-1} + z_t * h~_t            (B, H)   h_0 = 0
    logits = h_T @ V + c                               (B, O)
    logits_t = h_t @ V + c  at every step t            (B, T, O)   for a task scored per step

No gate reads the state, so h_t = a_t h_{t-1} + v_t (a_t = 1 - z_t, v_t = z_t h~_t) is a linear
recurrence whose coefficients are all known before it runs, and the whole sequence comes out of
one scan. The scan is Heinsen (2023)'s in log space, as the paper's log-space minGRU (its
Appendix listings): with a*_t = sum_{s<=t} log a_s,

    h_t = sum_{s<=t} exp(a*_t - a*_s) v_s = exp(a*_t + logcumsumexp_s(log v_s - a*_s))

`np.cumsum` gives a*, and the log-cumulative-sum is a Hillis-Steele prefix scan of log-add-exp
(ceil(log2 T) whole-array passes, no loop over time steps). g keeps h~ > 0 so log v is defined
(that is why the paper's log-space minGRU uses g), and log(1 - z) = -softplus(k_z),
log z = k_z - softplus(k_z) are exact for any k_z.

Backward: the recurrence is linear in h, so dL/dh_t = sum_{s>=t} exp(a*_s - a*_t) dL_s/dh_s
(dL_s: what reaches h_s from outside the recurrence), a scan run backwards in time. With the
read-out of h_T alone it is one product, dL/dh_t = exp(a*_T - a*_t) dL/dh_T, every exponent <= 0;
`reverse_scan` is the general form (terms of either sign, scanned in log space as positive and
negative parts, Heinsen's treatment of signed values) for outputs at every step.
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

PREDICT_CHUNK = 64  # sequences per scan when predicting (the scan holds all T steps at once):
# a training batch's worth, so predicting needs no more than training (ModelTraits.state_arrays)


# log 0 in the scans: finite, so a - b stays defined where both are "log 0" (-inf - -inf is NaN),
# and exp of it is 0 in float32 and float64 alike.
LOG_ZERO = -1e30


def softplus(k: np.ndarray) -> np.ndarray:
    """log(1 + e^k) = max(k, 0) + log1p(e^-|k|), stable for either sign of k.

    Written out rather than np.logaddexp(0, k): that ufunc measured 60x slower here (20 ms
    against 0.33 ms on a (100, 64, 32) float32 array).
    """
    return np.maximum(k, 0.0) + np.log1p(np.exp(-np.abs(k)))


def logaddexp(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log(e^a + e^b) = max(a, b) + log1p(e^-|a - b|), written out for speed (see softplus)."""
    return np.maximum(a, b) + np.log1p(np.exp(-np.abs(a - b)))


def logcumsumexp(u: np.ndarray) -> np.ndarray:
    """log sum_{s<=t} e^(u_s) over axis 0, by a Hillis-Steele scan: ceil(log2 T) passes, each
    combining every step with the one 2^k before it (np.logaddexp.accumulate does the same in
    one sequential pass, but runs 40 ms where this runs a few: see softplus)."""
    u = u.copy()
    shift = 1
    while shift < len(u):
        u[shift:] = logaddexp(u[shift:], u[:-shift])  # the right side is read before writing
        shift *= 2
    return u


def g(k: np.ndarray) -> np.ndarray:
    """The paper's positive activation for h~: k + 1/2 for k >= 0, sigmoid(k) below."""
    return np.where(k >= 0, k + 0.5, 1.0 / (1.0 + np.exp(-np.minimum(k, 0.0)))).astype(k.dtype)


def log_g(k: np.ndarray) -> np.ndarray:
    """log g(k): log(k + 1/2) for k >= 0, log sigmoid(k) = min(k, 0) - log1p(e^-|k|) below."""
    below = np.minimum(k, 0.0) - np.log1p(np.exp(-np.abs(k)))
    return np.where(k >= 0, np.log(np.maximum(k, 0.0) + 0.5), below)


def log_scan(log_a: np.ndarray, log_v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """h_t = a_t h_{t-1} + v_t with h_0 = 0, over axis 0, from log a and log v (T, ...).

    Returns (h, a*): h (T, ...) and a*_t = sum_{s<=t} log a_s (T, ...), which backward reuses.
    """
    a_star = np.cumsum(log_a, axis=0)  # (T, B, H)
    log_h = logcumsumexp(log_v - a_star)  # log sum_{s<=t} v_s / A_s
    log_h += a_star
    return np.exp(log_h), a_star


def reverse_scan(a_star: np.ndarray, g_out: np.ndarray) -> np.ndarray:
    """dh_t = sum_{s>=t} exp(a*_s - a*_t) g_out_s over axis 0: the backward of `log_scan`.

    g_out may have either sign: the positive and negative parts are scanned apart, in log space.
    """
    dh = np.zeros_like(g_out)
    for part, sign in ((np.maximum(g_out, 0.0), 1.0), (np.maximum(-g_out, 0.0), -1.0)):
        tiny = np.finfo(part.dtype).tiny  # log of 0 is LOG_ZERO, not -inf and a warning
        log_part = np.where(part > 0, np.log(np.maximum(part, tiny)), LOG_ZERO) + a_star
        log_sum = logcumsumexp(log_part[::-1])[::-1]  # log sum_{s>=t} g_s A_s
        dh += sign * np.exp(log_sum - a_star)
    return dh


def last_step_reverse_scan(a_star: np.ndarray, g_last: np.ndarray) -> np.ndarray:
    """`reverse_scan` when only the last step has a gradient from outside (a read-out of h_T):
    dh_t = exp(a*_T - a*_t) g_T, every exponent <= 0."""
    return np.exp(a_star[-1] - a_star) * g_last  # (T, B, H)


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
    z: np.ndarray  # (T, B, H) the gates
    h_tilde: np.ndarray  # (T, B, H) the candidates g(k_h)
    linear: np.ndarray  # (T, B, H) bool: k_h >= 0, where g is k + 1/2


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
        per_step: bool = False,
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
        super().__init__(params, kind, learning_rate, batch_size, clipnorm, optimizer, per_step)

    def _scan(self, x: np.ndarray) -> MinGRUStates:
        p = self.params
        x_tb = x.transpose(1, 0, 2)  # (T, B, D) time-major: the scans run over axis 0
        k_z = x_tb @ p["W_z"] + p["b_z"]  # (T, B, H)
        k_h = x_tb @ p["W_h"] + p["b_h"]  # (T, B, H)
        log_a = -softplus(k_z)  # log(1 - z_t)                                          (T, B, H)
        log_z = k_z + log_a  # log z_t = log(1 - z_t) + k_z, since z / (1 - z) = e^k    (T, B, H)
        log_h_tilde = log_g(k_h)  # (T, B, H)
        h, a_star = log_scan(log_a, log_z + log_h_tilde)  # v_t = z_t h~_t
        return MinGRUStates(h, a_star, np.exp(log_z), np.exp(log_h_tilde), k_h >= 0)

    def forward(
        self, x: np.ndarray, keep_states: bool = True
    ) -> tuple[MinGRUStates | None, np.ndarray]:
        """States (h_1..h_T and what backward needs, each (T, B, H)) and the logits (B, O), or
        (B, T, O) for a per-step model.

        Without `keep_states` (predicting) it scans PREDICT_CHUNK sequences at a time and keeps
        only the logits.
        """
        if keep_states:
            states = self._scan(x)
            return states, self._readout(states.h)
        logits = [self._readout(self._scan(x[i : i + PREDICT_CHUNK]).h)
                  for i in range(0, len(x), PREDICT_CHUNK)]
        return None, np.concatenate(logits)

    def _readout(self, h: np.ndarray) -> np.ndarray:
        """h (T, B, H) -> the last step's logits (B, O), or every step's (B, T, O)."""
        V, c = self.params["V"], self.params["c"]
        return (h @ V + c).transpose(1, 0, 2) if self.per_step else h[-1] @ V + c

    def backward(
        self, x: np.ndarray, states: MinGRUStates | None, dlogits: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Gradients of every parameter, and dLoss/dh_t for t = 1..T as (T, B, H).

        `dlogits` (B, O) of the last step's read-out, or (B, T, O) of every step's.
        """
        if states is None:
            raise ValueError("backward needs the states of forward(x, keep_states=True)")
        p = self.params
        h, a_star, z, h_tilde, linear = states
        B, T, _ = x.shape
        H = h.shape[-1]
        if self.per_step:  # every step's read-out reaches its h_t; the reverse scan carries it back
            dlogits_tb = np.ascontiguousarray(dlogits.transpose(1, 0, 2))  # (T, B, O)
            dh = reverse_scan(a_star, dlogits_tb @ p["V"].T)  # (T, B, H)
            dlogits_flat = dlogits_tb.reshape(T * B, -1)  # (T*B, O)
            dV, dc = h.reshape(T * B, H).T @ dlogits_flat, dlogits_flat.sum(axis=0)
        else:  # (T, B, H) dLoss/dh_t through the recurrence, from the read-out's dLoss/dh_T
            dh = last_step_reverse_scan(a_star, dlogits @ p["V"].T)
            dV, dc = h[-1].T @ dlogits, dlogits.sum(axis=0)
        h_prev = np.concatenate([np.zeros_like(h[:1]), h[:-1]])  # h_{t-1}, h_0 = 0
        dk_z = dh * (h_tilde - h_prev) * z * (1.0 - z)  # (T, B, H)
        # g'(k) = 1 for k >= 0; sigmoid'(k) = g (1 - g) below, where g is the sigmoid
        g_slope = np.where(linear, 1.0, h_tilde * (1.0 - h_tilde))  # (T, B, H)
        dk_h = dh * z * g_slope  # (T, B, H)
        x_flat = x.transpose(1, 0, 2).reshape(T * B, -1)  # (T*B, D)
        dk_z_flat, dk_h_flat = dk_z.reshape(T * B, H), dk_h.reshape(T * B, H)
        grads = {
            "W_z": x_flat.T @ dk_z_flat,  # (D, H)
            "b_z": dk_z_flat.sum(axis=0),  # (H,)
            "W_h": x_flat.T @ dk_h_flat,  # (D, H)
            "b_h": dk_h_flat.sum(axis=0),  # (H,)
            "V": dV,  # (H, O)
            "c": dc,  # (O,)
        }
        return {k: v.astype(h.dtype) for k, v in grads.items()}, dh
