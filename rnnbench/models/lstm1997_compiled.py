"""The 1997 LSTM's online training compiled by numba: one call trains on a whole chunk, sequence
by sequence (forward, truncated gradient, plain gradient-descent update), as the paper does.

Why: the adding net has 93 weights, so online NumPy training is all per-call overhead (~2.5 ms a
sequence at T = 100, a few hundred tiny array operations); one compiled loop over the chunk does
the same arithmetic in scalar code (~0.02 ms; benchmarks/lstm1997_online.py measures both).

The kernel computes the truncated gradient the way Appendix A.1 does, forward and local in time:
it carries the derivatives of each internal state with respect to the weights into its cell and
its block's input gate (eqs. 25 and 27),

    ds_c/dw_{c m}  += y_in(t) g'(net_c(t)) y^m(t-1)
    ds_c/dw_{in m} += g(net_c(t)) f'(net_in(t)) y^m(t-1)

and at each scored step (the sequence's last, or every scored step of a per-step task) multiplies
them by that step's internal state errors (eqs. 23, 24, 26, 28); output gates, hidden units and
output units get their ordinary backprop errors of that step (eqs. 19-22). The step's
contributions are summed over the sequence and the weights change once, at its end.

With errors at every step that product would cost 2 x cells x sources at every step on top of
carrying the traces; instead the kernel keeps each step's sources u_tau and the two local factors
and sums once, backward along the CEC, after the sequence (the same sum reordered):

    sum_t e_s(t) sum_{tau <= t} a(tau) u_tau  =  sum_tau a(tau) u_tau sum_{t >= tau} e_s(t)

(cells + blocks) x sources per step and no traces, so errors at every step cost well under
twice the final-step path for the small nets (benchmarks/lstm1997_every_step.py).
lstm1997.py computes the same gradient backward in time; the tests hold both equal.

numba is imported inside `kernel()`, so importing this module (and `rnnbench --help`) stays light;
the first call compiles (about a second or two; cached on disk after, `cache=True`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_KERNEL: Any = None


def kernel() -> Any:
    """The compiled `train_online_truncated`, or None if numba is not installed."""
    global _KERNEL
    if _KERNEL is None:
        try:
            import numba
        except ImportError:
            return None
        _KERNEL = numba.njit(cache=True, fastmath=False, nogil=True)(train_online_truncated)
    return _KERNEL


def train_online(
    compiled: Any,
    params: dict[str, np.ndarray],
    masks: dict[str, np.ndarray],
    net: Any,
    x: np.ndarray,
    lengths: np.ndarray,
    d: np.ndarray,
    learning_rate: float,
    scored: np.ndarray | None = None,
    step_updates: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Online truncated SGD over x (n, T, D), updating params in place.

    d (n, K): targets at each sequence's last real step; or, with `scored` (n, T) (1.0 on the
    scored steps), d (n, T, K): targets at every step.

    Returns:
        E per sequence (n,) (summed over its scored steps), and the output units of each
        sequence before its update: (n, K), or (n, T, K) with `scored`.
    """
    every = scored is not None
    n, K = d.shape[0], d.shape[-1]
    if not every:  # one scored step, the last: targets and outputs in slot 0 of the time axis
        d, scored = d[:, None, :], np.ones((n, 1))
    errors, y_k = np.empty(n), np.zeros((n, d.shape[1], K))
    compiled(
        np.ascontiguousarray(x, np.float64),
        np.ascontiguousarray(lengths, np.int64),
        np.ascontiguousarray(d, np.float64),
        np.ascontiguousarray(scored, np.float64),
        every,
        params["W"],
        params["W_k"],
        masks["W"],
        masks["W_k"],
        net.input_dim,
        net.blocks,
        net.cells_per_block,
        net.hidden_units,
        float(learning_rate),
        net.output_activation == "logistic",
        net.output_gate,
        net.g == (0.0, 1.0),
        net.h == "identity",
        net.connectivity == "B",
        errors,
        y_k,
        bool(step_updates),
    )
    return errors, (y_k if every else y_k[:, 0])


def train_online_truncated(
    x, lengths, d, scored, every, W, W_k, mask_W, mask_Wk, D, NB, S, H, lr, logistic_out,
    has_out_gate, g_is_f, h_is_identity, inputs_to_out, errors, y_k, step_updates,
):  # pragma: no cover - runs compiled (the tests compare it with the NumPy loop)
    """Plain Python, compiled by `kernel()`; the layout is lstm1997's (W (M, R), W_k (Z, K)).
    f, g and h are written out with lstm1997's formulas: 1/2 (1 + tanh(z/2)), 2 tanh(z/2) (or f,
    `g_is_f`) and tanh(s/2) (or s, `h_is_identity`). Without output gates (`has_out_gate`
    False) y_out is 1 and R has no output gate columns; `inputs_to_out` (connectivity "B"): the
    output layer's sources start with the last real step's inputs, z = [x_t, y_c, y_h, 1] (the
    hidden layer's recurrent weights are then absent, zero in W and mask_W).

    Targets `d` (n, Td, K) and `scored` (n, Td): with `every`, Td = T and step t is scored where
    scored[q, t] > 0; else Td = 1 and the last real step is scored, with slot 0's target.

    Updates W and W_k in place, once per sequence by the sum of its scored steps' gradients
    (or, `step_updates`, after every scored step by that step's contribution, the traces carried
    on across the change as in online RTRL; the backward sweep is then not used);
    writes each sequence's squared error E (summed over its scored steps) and its output units
    (before its update) into `errors` (n,) and `y_k` (n, Td, K).
    """
    n = x.shape[0]
    M, R = W.shape
    Z, K = W_k.shape
    C = NB * S
    NO = NB if has_out_gate else 0  # output gates
    in0, out0, h0 = C, C + NB, C + NB + NO  # first columns of input gates, output gates, hidden
    z0 = D if inputs_to_out else 0  # first row of the cells in z
    u = np.empty(M)  # [x_t, y_{t-1}, 1]
    y = np.empty(R)  # y_t: [y_c, y_in, y_out, y_h]
    net = np.empty(R)
    s = np.empty(C)  # internal states
    dS_c = np.empty((C, M))  # ds_c / dw_{c m}
    dS_in = np.empty((C, M))  # ds_c / dw_{in_j m}, j the block of c
    # With errors at every step the traces are not carried: each step keeps its sources and the
    # two local factors of eqs. 25 and 27, and one backward sweep along the CEC sums them,
    # weighted by the internal state errors of that step and all later ones (see the docstring).
    sweep = every and not step_updates  # per-step updates need the forward traces (RTRL)
    Tx = x.shape[1] if sweep else 1
    U = np.empty((Tx, M))  # u_t
    A = np.empty((Tx, C))  # y_in(t) g'(net_c(t))                                     (eq. 27)
    Bf = np.empty((Tx, C))  # g(net_c(t)) f'(net_in(t))                               (eq. 25)
    Es = np.empty((Tx, C))  # e_s(t), the internal state errors of step t (0 if unscored)
    later = np.empty(C)  # the sweep's sum of e_s over steps >= t
    z = np.empty(Z)  # output layer's sources [x_t ("B"), y_c, y_h, 1]
    e_k = np.empty(K)
    net_k = np.empty(K)
    dy = np.empty(Z)  # dL/dz
    nonzero = np.empty(Z, np.int64)  # indices of z's nonzero entries
    gW = np.empty((M, R))  # the sequence's summed gradient dE/dW
    gW_k = np.empty((Z, K))
    for q in range(n):
        gW[:] = 0.0
        gW_k[:] = 0.0
        errors[q] = 0.0
        y[:] = 0.0
        s[:] = 0.0
        dS_c[:] = 0.0
        dS_in[:] = 0.0
        u[:] = 0.0
        u[M - 1] = 1.0
        for t in range(lengths[q]):
            for m in range(D):
                u[m] = x[q, t, m]
            for r in range(R):
                u[D + r] = y[r]
            if sweep:
                for m in range(M):
                    U[t, m] = u[m]
                for c in range(C):
                    Es[t, c] = 0.0
            for r in range(R):  # net_t = u_t W
                acc = 0.0
                for m in range(M):
                    acc += u[m] * W[m, r]
                net[r] = acc
            for j in range(NB):
                y_in = 0.5 * (1.0 + np.tanh(0.5 * net[in0 + j]))
                y[in0 + j] = y_in
                y_out = 1.0  # no output gate: y_out := 1
                if has_out_gate:
                    y_out = 0.5 * (1.0 + np.tanh(0.5 * net[out0 + j]))
                    y[out0 + j] = y_out
                for v in range(S):
                    c = j * S + v
                    if g_is_f:
                        g_c = 0.5 * (1.0 + np.tanh(0.5 * net[c]))  # g = f in [0, 1]
                        dg = g_c * (1.0 - g_c)
                    else:
                        g_c = 2.0 * np.tanh(0.5 * net[c])  # g = 4 f - 2 in [-2, 2]
                        dg = 1.0 - 0.25 * g_c * g_c
                    s[c] += y_in * g_c  # the CEC
                    h_s = s[c] if h_is_identity else np.tanh(0.5 * s[c])  # h = id or 2 f - 1
                    y[c] = y_out * h_s  # y_out h(s_c)
                    a = y_in * dg  # y_in g'(net_c)                                (eq. 27)
                    b = g_c * y_in * (1.0 - y_in)  # g(net_c) f'(net_in)           (eq. 25)
                    if sweep:
                        A[t, c] = a
                        Bf[t, c] = b
                    else:
                        for m in range(M):
                            dS_c[c, m] += a * u[m]
                            dS_in[c, m] += b * u[m]
            for i in range(H):
                y[h0 + i] = 0.5 * (1.0 + np.tanh(0.5 * net[h0 + i]))
            if every:
                if scored[q, t] <= 0.0:
                    continue
                slot = t
            elif t == lengths[q] - 1:
                slot = 0
            else:
                continue
            # A scored step: u holds its sources (its inputs x_t first), y and s its activations
            # and states, dS_c and dS_in the traces up to it.
            for m in range(z0):
                z[m] = u[m]
            for c in range(C):
                z[z0 + c] = y[c]
            for i in range(H):
                z[z0 + C + i] = y[h0 + i]
            z[Z - 1] = 1.0
            nz = 0  # the nonzero sources: a one-hot input's zeros skipped (Exp. 2a's 101 outputs)
            for m in range(Z):
                if z[m] != 0.0:
                    nonzero[nz] = m
                    nz += 1
            for k in range(K):
                net_k[k] = 0.0
            for i in range(nz):  # row by row: W_k's rows are contiguous (Exp. 2a: 101 outputs)
                m = nonzero[i]
                z_m = z[m]
                for k in range(K):
                    net_k[k] += z_m * W_k[m, k]
            for k in range(K):
                acc = net_k[k]
                yk = 0.5 * (1.0 + np.tanh(0.5 * acc)) if logistic_out else acc
                y_k[q, slot, k] = yk
                err = yk - d[q, slot, k]
                errors[q] += err * err
                e_k[k] = err * yk * (1.0 - yk) if logistic_out else err  # dL/dnet_k, L = E / 2
            for m in range(z0, Z):  # dL/dz = W_k e_k (the input rows' errors lead nowhere)
                acc = 0.0
                for k in range(K):
                    acc += W_k[m, k] * e_k[k]
                dy[m] = acc
            for i in range(nz):  # output units (eq. 22)
                m = nonzero[i]
                for k in range(K):
                    gW_k[m, k] += z[m] * e_k[k]
            for j in range(NB):
                y_out = y[out0 + j] if has_out_gate else 1.0
                dnet_out = 0.0
                for v in range(S):
                    c = j * S + v
                    if h_is_identity:
                        h_s, dh = s[c], 1.0
                    else:
                        h_s = np.tanh(0.5 * s[c])
                        dh = 0.5 * (1.0 - h_s * h_s)
                    dnet_out += dy[z0 + c] * h_s
                    ds = dy[z0 + c] * y_out * dh  # e_s: y_out h'(s) W_k e_k          (eq. 23)
                    if sweep:
                        Es[t, c] = ds  # summed into eqs. 26 and 28 by the sweep below
                    else:
                        for m in range(M):
                            gW[m, c] += ds * dS_c[c, m]  # (eq. 28)
                            gW[m, in0 + j] += ds * dS_in[c, m]  # (eq. 26)
                if has_out_gate:
                    dnet_out *= y_out * (1.0 - y_out)  # (eq. 21)
                    for m in range(M):
                        gW[m, out0 + j] += dnet_out * u[m]  # (eq. 22)
            for i in range(H):  # conventional hidden units (eq. 20)
                y_h = y[h0 + i]
                dnet_h = dy[z0 + C + i] * y_h * (1.0 - y_h)
                for m in range(M):
                    gW[m, h0 + i] += dnet_h * u[m]
            if step_updates:  # Appendix A.1's "time t's contribution" applied at time t
                for i in range(nz):  # only this step's nonzero sources' rows have a gradient
                    m = nonzero[i]
                    for k in range(K):
                        W_k[m, k] -= lr * mask_Wk[m, k] * gW_k[m, k]
                        gW_k[m, k] = 0.0
                for m in range(M):
                    for r in range(R):
                        W[m, r] -= lr * mask_W[m, r] * gW[m, r]
                        gW[m, r] = 0.0
        if sweep:  # eqs. 26 and 28 summed over the scored steps t, the traces unrolled:
            # sum_t e_s(t) sum_{tau <= t} a(tau) u_tau = sum_tau a(tau) u_tau sum_{t >= tau} e_s(t)
            for c in range(C):
                later[c] = 0.0
            for t in range(lengths[q] - 1, -1, -1):
                for j in range(NB):
                    coef_in = 0.0
                    for v in range(S):
                        c = j * S + v
                        later[c] += Es[t, c]
                        coef_in += later[c] * Bf[t, c]
                        coef_c = later[c] * A[t, c]
                        if coef_c != 0.0:
                            for m in range(M):
                                gW[m, c] += coef_c * U[t, m]
                    if coef_in != 0.0:
                        for m in range(M):
                            gW[m, in0 + j] += coef_in * U[t, m]
        # apply the sequence's summed gradient: W -= lr dE/dw (eq. 17), absent weights stay 0
        for m in range(Z):
            for k in range(K):
                W_k[m, k] -= lr * mask_Wk[m, k] * gW_k[m, k]
        for m in range(M):
            for r in range(R):
                W[m, r] -= lr * mask_W[m, r] * gW[m, r]
