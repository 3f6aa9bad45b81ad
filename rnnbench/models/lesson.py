"""The lesson's equations, plainly: one RNN, LSTM and GRU step, each with its backward below it.

Read this file first. Each step is the equations written out, micrograd-style: a forward function,
then the backward function that undoes it line by line (the chain rule, in reverse order), one
shape comment per line of tensor algebra. B is the batch, D the input features, H the units.

A task scored at every step (copy memory) reads out at every step: `linear_every_step` and its
backward, whose gradient at step t joins dLoss/dh_t as backpropagation through time passes step t
(`rnn_backward_every_step`, `lstm_backward_every_step`, `gru_backward_every_step`).

`numpy-rnn`, `numpy-lstm` and `numpy-gru` (numpy_rnn.py, numpy_lstm.py, numpy_gru.py) compute
exactly this, in loops rearranged for speed (arrays reused in place, the gates stacked, the bias
folded into the input weights); tests/test_lesson_path.py holds them equal to these functions in
float64. The weights are in Keras's layout: W_x is the `kernel` (D, H), (D, 4H) or (D, 3H), W_h
the `recurrent_kernel`, b the `bias`; the LSTM's gate columns come in Keras's order i, f, k (the
candidate, Keras's "c"), o, and the GRU's in Keras's order z, r, h (`reset_after=True`: its bias
is (2, 3H), one row added to x_t W_x and one to h_tm1 W_h).
"""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# -- the tanh RNN -----------------------------------------------------------------------------


def rnn_step(
    x_t: np.ndarray, h_tm1: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """h_t = tanh(x_t W_x + h_tm1 W_h + b): one step of the tanh RNN."""
    a_t = x_t @ W_x + h_tm1 @ W_h + b  # (B, D)(D, H) + (B, H)(H, H) + (H,) -> (B, H)
    h_t = np.tanh(a_t)  # (B, H)
    return h_t


def rnn_step_backward(
    dh_t: np.ndarray, x_t: np.ndarray, h_tm1: np.ndarray, h_t: np.ndarray, W_h: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Back through `rnn_step`: from dLoss/dh_t to (dh_tm1, dW_x, dW_h, db) of this step."""
    da_t = dh_t * (1.0 - h_t**2)  # tanh'(a) = 1 - tanh(a)^2                  (B, H)
    dW_x = x_t.T @ da_t  # (D, B)(B, H) -> (D, H)
    dW_h = h_tm1.T @ da_t  # (H, B)(B, H) -> (H, H)
    db = da_t.sum(axis=0)  # (H,)
    dh_tm1 = da_t @ W_h.T  # (B, H)(H, H) -> (B, H)
    return dh_tm1, dW_x, dW_h, db


# -- the LSTM ---------------------------------------------------------------------------------


def lstm_step(
    x_t: np.ndarray,
    h_tm1: np.ndarray,
    c_tm1: np.ndarray,
    W_x: np.ndarray,
    W_h: np.ndarray,
    b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """One LSTM step: (h_t, c_t), and the gates (i, f, k, o) its backward needs."""
    z_t = x_t @ W_x + h_tm1 @ W_h + b  # (B, D)(D, 4H) + (B, H)(H, 4H) + (4H,) -> (B, 4H)
    z_i, z_f, z_k, z_o = np.split(z_t, 4, axis=1)  # each (B, H)
    i = sigmoid(z_i)  # input gate: how much of the candidate to write       (B, H)
    f = sigmoid(z_f)  # forget gate: how much of the old cell to keep        (B, H)
    k = np.tanh(z_k)  # candidate cell value                                 (B, H)
    o = sigmoid(z_o)  # output gate: how much of the cell to show            (B, H)
    c_t = f * c_tm1 + i * k  # the additive cell state                        (B, H)
    h_t = o * np.tanh(c_t)  # (B, H)
    return h_t, c_t, (i, f, k, o)


def lstm_step_backward(
    dh_t: np.ndarray,
    dc_t: np.ndarray,
    x_t: np.ndarray,
    h_tm1: np.ndarray,
    c_tm1: np.ndarray,
    c_t: np.ndarray,
    gates: tuple[np.ndarray, ...],
    W_h: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Back through `lstm_step`: from dLoss/dh_t and the later steps' dLoss/dc_t to
    (dh_tm1, dc_tm1, dW_x, dW_h, db) of this step."""
    i, f, k, o = gates
    tanh_c = np.tanh(c_t)  # (B, H)
    do = dh_t * tanh_c  # h_t = o tanh(c_t)                                      (B, H)
    dc = dc_t + dh_t * o * (1.0 - tanh_c**2)  # both paths into c_t            (B, H)
    di = dc * k  # c_t = f c_tm1 + i k                                          (B, H)
    df = dc * c_tm1  # (B, H)
    dk = dc * i  # (B, H)
    dc_tm1 = dc * f  # the additive path: scaled by the forget gate alone       (B, H)
    dz_i = di * i * (1.0 - i)  # sigmoid'(z) = s (1 - s)                       (B, H)
    dz_f = df * f * (1.0 - f)  # (B, H)
    dz_k = dk * (1.0 - k**2)  # tanh'(z) = 1 - tanh(z)^2                        (B, H)
    dz_o = do * o * (1.0 - o)  # (B, H)
    dz_t = np.concatenate([dz_i, dz_f, dz_k, dz_o], axis=1)  # (B, 4H)
    dW_x = x_t.T @ dz_t  # (D, B)(B, 4H) -> (D, 4H)
    dW_h = h_tm1.T @ dz_t  # (H, B)(B, 4H) -> (H, 4H)
    db = dz_t.sum(axis=0)  # (4H,)
    dh_tm1 = dz_t @ W_h.T  # (B, 4H)(4H, H) -> (B, H)
    return dh_tm1, dc_tm1, dW_x, dW_h, db


# -- the GRU (Keras's, reset_after=True) ------------------------------------------------------


def gru_step(
    x_t: np.ndarray, h_tm1: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """One GRU step as Keras builds it: h_t, and (z, r, n, hW_n) its backward needs.

    Keras's convention: the update gate z keeps the old state, h_t = z h_tm1 + (1 - z) n, so a
    positive bias on z starts the GRU out keeping its state (the role of the LSTM's forget gate).
    """
    xz = x_t @ W_x + b[0]  # input side, bias row 0   (B, D)(D, 3H) + (3H,) -> (B, 3H)
    hz = h_tm1 @ W_h + b[1]  # recurrent side, row 1   (B, H)(H, 3H) + (3H,) -> (B, 3H)
    xz_z, xz_r, xz_n = np.split(xz, 3, axis=1)  # each (B, H), Keras's order z, r, h
    hz_z, hz_r, hW_n = np.split(hz, 3, axis=1)  # each (B, H)
    z = sigmoid(xz_z + hz_z)  # update gate: how much of the old state to keep     (B, H)
    r = sigmoid(xz_r + hz_r)  # reset gate: how much of the old state to show      (B, H)
    n = np.tanh(xz_n + r * hW_n)  # candidate; reset after the product             (B, H)
    h_t = z * h_tm1 + (1.0 - z) * n  # (B, H)
    return h_t, (z, r, n, hW_n)


def gru_step_backward(
    dh_t: np.ndarray,
    x_t: np.ndarray,
    h_tm1: np.ndarray,
    cache: tuple[np.ndarray, ...],
    W_h: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Back through `gru_step`: from dLoss/dh_t to (dh_tm1, dW_x, dW_h, db) of this step."""
    z, r, n, hW_n = cache
    dz = dh_t * (h_tm1 - n)  # h_t = z h_tm1 + (1 - z) n                         (B, H)
    dn = dh_t * (1.0 - z)  # (B, H)
    dh_direct = dh_t * z  # the path that skips the weights: scaled by z alone   (B, H)
    da_n = dn * (1.0 - n**2)  # tanh'(a) = 1 - tanh(a)^2                         (B, H)
    dr = da_n * hW_n  # n = tanh(xz_n + r hW_n)                                  (B, H)
    dhW_n = da_n * r  # (B, H)
    da_z = dz * z * (1.0 - z)  # sigmoid'(a) = s (1 - s)                          (B, H)
    da_r = dr * r * (1.0 - r)  # (B, H)
    dxz = np.concatenate([da_z, da_r, da_n], axis=1)  # dLoss/d(x_t W_x + b[0])  (B, 3H)
    dhz = np.concatenate([da_z, da_r, dhW_n], axis=1)  # dLoss/d(h_tm1 W_h + b[1]) (B, 3H)
    dW_x = x_t.T @ dxz  # (D, B)(B, 3H) -> (D, 3H)
    dW_h = h_tm1.T @ dhz  # (H, B)(B, 3H) -> (H, 3H)
    db = np.stack([dxz.sum(axis=0), dhz.sum(axis=0)])  # (2, 3H)
    dh_tm1 = dh_direct + dhz @ W_h.T  # (B, H) + (B, 3H)(3H, H) -> (B, H)
    return dh_tm1, dW_x, dW_h, db


# -- the read-out of the last state -----------------------------------------------------------


def linear(h_T: np.ndarray, V: np.ndarray, c: np.ndarray) -> np.ndarray:
    """logits = h_T V + c: the read-out of the last hidden state."""
    return h_T @ V + c  # (B, H)(H, O) + (O,) -> (B, O)


def linear_backward(
    dlogits: np.ndarray, h_T: np.ndarray, V: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Back through `linear`: (dh_T, dV, dc)."""
    dh_T = dlogits @ V.T  # (B, O)(O, H) -> (B, H)
    dV = h_T.T @ dlogits  # (H, B)(B, O) -> (H, O)
    dc = dlogits.sum(axis=0)  # (O,)
    return dh_T, dV, dc


# -- whole sequences: the steps in a loop over time -------------------------------------------


def rnn_forward(x: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    """The states [h_0 = 0, h_1, ..., h_T] of sequences x (B, T, D), each (B, H)."""
    B, T, _ = x.shape
    h = [np.zeros((B, W_h.shape[0]), W_h.dtype)]  # h_0 = 0                   (B, H)
    for t in range(T):
        h.append(rnn_step(x[:, t], h[-1], W_x, W_h, b))  # h_{t+1} from x's step t
    return h


def rnn_backward(
    x: np.ndarray, h: list[np.ndarray], dh_T: np.ndarray, W_x: np.ndarray, W_h: np.ndarray
) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """Backpropagation through time: the weights' gradients summed over the steps, and
    dLoss/dh_t for t = 1..T, given dLoss/dh_T from the read-out."""
    T = x.shape[1]
    grads = {name: np.zeros_like(w) for name, w in (("W_x", W_x), ("W_h", W_h))}
    grads["b"] = np.zeros(W_h.shape[1], W_h.dtype)  # (H,) or (4H,)
    dh = [np.zeros_like(dh_T)] * T  # dh[t - 1] will be dLoss/dh_t
    dh_t = dh_T
    for t in range(T, 0, -1):  # step t made h[t] from x[:, t - 1] and h[t - 1]
        dh[t - 1] = dh_t
        dh_t, dW_x, dW_h, db = rnn_step_backward(dh_t, x[:, t - 1], h[t - 1], h[t], W_h)
        grads["W_x"] += dW_x  # the same weights at every step: their gradients add up
        grads["W_h"] += dW_h
        grads["b"] += db
    return grads, dh


def lstm_forward(
    x: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray], list[tuple[np.ndarray, ...]]]:
    """The states [h_0 = 0, ..., h_T] and [c_0 = 0, ..., c_T], and each step's gates."""
    B, T, _ = x.shape
    H = W_h.shape[0]
    h = [np.zeros((B, H), W_h.dtype)]  # h_0 = 0                               (B, H)
    c = [np.zeros((B, H), W_h.dtype)]  # c_0 = 0                               (B, H)
    gates = []
    for t in range(T):
        h_t, c_t, gates_t = lstm_step(x[:, t], h[-1], c[-1], W_x, W_h, b)
        h.append(h_t)
        c.append(c_t)
        gates.append(gates_t)
    return h, c, gates


def lstm_backward(
    x: np.ndarray,
    h: list[np.ndarray],
    c: list[np.ndarray],
    gates: list[tuple[np.ndarray, ...]],
    dh_T: np.ndarray,
    W_x: np.ndarray,
    W_h: np.ndarray,
) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """Backpropagation through time for the LSTM, as `rnn_backward`."""
    T = x.shape[1]
    grads = {name: np.zeros_like(w) for name, w in (("W_x", W_x), ("W_h", W_h))}
    grads["b"] = np.zeros(W_h.shape[1], W_h.dtype)  # (H,) or (4H,)
    dh = [np.zeros_like(dh_T)] * T  # dh[t - 1] will be dLoss/dh_t
    dh_t, dc_t = dh_T, np.zeros_like(dh_T)  # nothing flows into c_T from later steps
    for t in range(T, 0, -1):
        dh[t - 1] = dh_t
        dh_t, dc_t, dW_x, dW_h, db = lstm_step_backward(
            dh_t, dc_t, x[:, t - 1], h[t - 1], c[t - 1], c[t], gates[t - 1], W_h
        )
        grads["W_x"] += dW_x
        grads["W_h"] += dW_h
        grads["b"] += db
    return grads, dh


def gru_forward(
    x: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray
) -> tuple[list[np.ndarray], list[tuple[np.ndarray, ...]]]:
    """The states [h_0 = 0, ..., h_T], and each step's (z, r, n, hW_n)."""
    B, T, _ = x.shape
    h = [np.zeros((B, W_h.shape[0]), W_h.dtype)]  # h_0 = 0                   (B, H)
    caches = []
    for t in range(T):
        h_t, cache = gru_step(x[:, t], h[-1], W_x, W_h, b)
        h.append(h_t)
        caches.append(cache)
    return h, caches


def gru_backward(
    x: np.ndarray,
    h: list[np.ndarray],
    caches: list[tuple[np.ndarray, ...]],
    dh_T: np.ndarray,
    W_x: np.ndarray,
    W_h: np.ndarray,
) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """Backpropagation through time for the GRU, as `rnn_backward`."""
    T = x.shape[1]
    grads = {name: np.zeros_like(w) for name, w in (("W_x", W_x), ("W_h", W_h))}
    grads["b"] = np.zeros((2, W_h.shape[1]), W_h.dtype)  # (2, 3H)
    dh = [np.zeros_like(dh_T)] * T  # dh[t - 1] will be dLoss/dh_t
    dh_t = dh_T
    for t in range(T, 0, -1):
        dh[t - 1] = dh_t
        dh_t, dW_x, dW_h, db = gru_step_backward(dh_t, x[:, t - 1], h[t - 1], caches[t - 1], W_h)
        grads["W_x"] += dW_x
        grads["W_h"] += dW_h
        grads["b"] += db
    return grads, dh


# -- the read-out at every step (a task scored at every step, such as copy memory) ------------


def linear_every_step(h: list[np.ndarray], V: np.ndarray, c: np.ndarray) -> list[np.ndarray]:
    """logits_t = h_t V + c for t = 1..T: the read-out of every state (h[0] = 0 has none)."""
    return [linear(h_t, V, c) for h_t in h[1:]]  # T arrays (B, O)


def linear_every_step_backward(
    dlogits: list[np.ndarray], h: list[np.ndarray], V: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Back through `linear_every_step`: (dh_out, dV, dc), where dh_out[t - 1] is the part of
    dLoss/dh_t that comes from step t's own read-out (zero where the step is not scored)."""
    dh_out, dV, dc = [], np.zeros_like(V), np.zeros(V.shape[1], V.dtype)
    for dlogits_t, h_t in zip(dlogits, h[1:], strict=True):
        dh_t, dV_t, dc_t = linear_backward(dlogits_t, h_t, V)
        dh_out.append(dh_t)  # (B, H)
        dV += dV_t  # the same read-out at every step: its gradients add up  (H, O)
        dc += dc_t  # (O,)
    return dh_out, dV, dc


def rnn_backward_every_step(
    x: np.ndarray, h: list[np.ndarray], dh_out: list[np.ndarray], W_x: np.ndarray,
    W_h: np.ndarray,
) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """`rnn_backward` with a read-out at every step: as the loop passes step t, that step's own
    read-out gradient dh_out[t - 1] joins the gradient coming back from the later steps."""
    T = x.shape[1]
    grads = {name: np.zeros_like(w) for name, w in (("W_x", W_x), ("W_h", W_h))}
    grads["b"] = np.zeros(W_h.shape[1], W_h.dtype)
    dh = [np.zeros_like(dh_out[0])] * T  # dh[t - 1] will be dLoss/dh_t
    dh_from_later = np.zeros_like(dh_out[0])  # nothing comes back from after step T  (B, H)
    for t in range(T, 0, -1):
        dh_t = dh_out[t - 1] + dh_from_later  # step t's read-out + steps t+1..T      (B, H)
        dh[t - 1] = dh_t
        dh_from_later, dW_x, dW_h, db = rnn_step_backward(dh_t, x[:, t - 1], h[t - 1], h[t], W_h)
        grads["W_x"] += dW_x
        grads["W_h"] += dW_h
        grads["b"] += db
    return grads, dh


def lstm_backward_every_step(
    x: np.ndarray,
    h: list[np.ndarray],
    c: list[np.ndarray],
    gates: list[tuple[np.ndarray, ...]],
    dh_out: list[np.ndarray],
    W_x: np.ndarray,
    W_h: np.ndarray,
) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """`lstm_backward` with a read-out at every step, as `rnn_backward_every_step`."""
    T = x.shape[1]
    grads = {name: np.zeros_like(w) for name, w in (("W_x", W_x), ("W_h", W_h))}
    grads["b"] = np.zeros(W_h.shape[1], W_h.dtype)
    dh = [np.zeros_like(dh_out[0])] * T
    dh_from_later, dc_t = np.zeros_like(dh_out[0]), np.zeros_like(dh_out[0])
    for t in range(T, 0, -1):
        dh_t = dh_out[t - 1] + dh_from_later  # step t's read-out + steps t+1..T      (B, H)
        dh[t - 1] = dh_t
        dh_from_later, dc_t, dW_x, dW_h, db = lstm_step_backward(
            dh_t, dc_t, x[:, t - 1], h[t - 1], c[t - 1], c[t], gates[t - 1], W_h
        )
        grads["W_x"] += dW_x
        grads["W_h"] += dW_h
        grads["b"] += db
    return grads, dh


def gru_backward_every_step(
    x: np.ndarray,
    h: list[np.ndarray],
    caches: list[tuple[np.ndarray, ...]],
    dh_out: list[np.ndarray],
    W_x: np.ndarray,
    W_h: np.ndarray,
) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """`gru_backward` with a read-out at every step, as `rnn_backward_every_step`."""
    T = x.shape[1]
    grads = {name: np.zeros_like(w) for name, w in (("W_x", W_x), ("W_h", W_h))}
    grads["b"] = np.zeros((2, W_h.shape[1]), W_h.dtype)  # (2, 3H)
    dh = [np.zeros_like(dh_out[0])] * T
    dh_from_later = np.zeros_like(dh_out[0])
    for t in range(T, 0, -1):
        dh_t = dh_out[t - 1] + dh_from_later  # step t's read-out + steps t+1..T      (B, H)
        dh[t - 1] = dh_t
        dh_from_later, dW_x, dW_h, db = gru_step_backward(
            dh_t, x[:, t - 1], h[t - 1], caches[t - 1], W_h
        )
        grads["W_x"] += dW_x
        grads["W_h"] += dW_h
        grads["b"] += db
    return grads, dh
