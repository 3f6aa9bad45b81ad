"""numpy-mingru is Feng et al.'s minGRU: its parallel scan equals the sequential loop, its
gradients match finite differences, and a forward is worked by hand."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import assert_param_gradients_match, in_float64

from rnnbench.models.numpy_mingru import (
    NumpyMinGRU,
    last_step_reverse_scan,
    log_scan,
    mingru_sequential,
    reverse_scan,
)
from rnnbench.tasks.adding import AddingProblem
from rnnbench.tasks.delayed_recall import DelayedRecall


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 2e-5)])
def test_parallel_scan_equals_the_sequential_loop(dtype, tol):
    task = DelayedRecall()
    model = NumpyMinGRU(task.input_dim, 16, task.output_dim, task.kind, 0)
    model.params = {k: v.astype(dtype) for k, v in model.params.items()}
    rng = np.random.default_rng(1)
    for name in ("W_z", "W_h", "b_z", "b_h"):  # gates near 0 and 1, candidates of both signs
        model.params[name][...] = rng.normal(0, 3.0, model.params[name].shape)
    x, _ = task.generate(8, 60, np.random.default_rng(2))
    x = x.astype(dtype)
    states, logits = model.forward(x)
    sequential = mingru_sequential(model.params, x)
    np.testing.assert_allclose(states.h, sequential, rtol=tol, atol=tol)
    np.testing.assert_allclose(model.predict(x), logits, rtol=tol, atol=tol)


def test_reverse_scan_equals_the_backward_loop():
    """dh_t = g_t + a_{t+1} dh_{t+1}, the backward of h_t = a_t h_{t-1} + v_t, signed g."""
    rng = np.random.default_rng(0)
    T = 30
    log_a = -rng.uniform(0, 0.5, (T, 3))
    g_out = rng.normal(0, 1, (T, 3))
    g_out[5] = 0.0  # a step with no gradient at all
    _, a_star = log_scan(log_a, np.zeros_like(log_a))
    expected = np.zeros_like(g_out)
    carry = np.zeros(3)
    for t in range(T - 1, -1, -1):
        carry = g_out[t] + (np.exp(log_a[t + 1]) * carry if t + 1 < T else 0.0)
        expected[t] = carry
    np.testing.assert_allclose(reverse_scan(a_star, g_out), expected, rtol=1e-10, atol=1e-12)
    last_only = np.zeros_like(g_out)
    last_only[-1] = g_out[-1]  # a read-out of h_T alone: the closed form training uses
    np.testing.assert_allclose(last_step_reverse_scan(a_star, g_out[-1]),
                               reverse_scan(a_star, last_only), rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("task", [AddingProblem(), DelayedRecall()], ids=["adding", "recall"])
def test_mingru_gradients_match_finite_differences(task):
    x, y = task.generate(4, 6, np.random.default_rng(0))
    model = in_float64(NumpyMinGRU(task.input_dim, 4, task.output_dim, task.kind, 0))
    assert_param_gradients_match(model, x.astype(np.float64), y)


def test_mingru_forward_on_a_tiny_input_by_hand():
    """One unit, z = sigmoid(0) = 1/2 throughout; h~ = g(x_t)."""
    model = NumpyMinGRU(1, 1, 1, "regression", 0)
    p = model.params
    p["W_z"][...], p["b_z"][...] = 0.0, 0.0
    p["W_h"][...], p["b_h"][...] = 1.0, 0.0
    p["V"][...], p["c"][...] = 2.0, 0.1
    x = np.array([[[1.0], [-np.log(3.0)]]], np.float32)
    # h~_1 = g(1) = 1 + 1/2 = 1.5;  h_1 = (1/2) 0 + (1/2) 1.5 = 0.75
    # h~_2 = g(-ln 3) = sigmoid(-ln 3) = 1/4;  h_2 = (1/2) 0.75 + (1/2) 0.25 = 0.5
    # logits = 2 * 0.5 + 0.1 = 1.1
    states, logits = model.forward(x)
    np.testing.assert_allclose(states.h[:, 0, 0], [0.75, 0.5], rtol=1e-6)
    np.testing.assert_allclose(logits, [[1.1]], rtol=1e-6)


def test_mingru_state_gradients_match_finite_differences():
    """dLoss/dh_t from the reverse scan equals a nudge of h_t run on by the sequential rule."""
    from rnnbench.models.numpy_common import readout_loss

    task = DelayedRecall()
    x, y = task.generate(2, 4, np.random.default_rng(1))
    x = x.astype(np.float64)
    model = in_float64(NumpyMinGRU(task.input_dim, 3, task.output_dim, task.kind, 0))
    p = model.params
    _, _, dh_all = model.loss_and_grads(x, y)
    states, _ = model.forward(x)

    def loss_from(t, h):  # steps t+1..T from a given h_t (t counted from 1)
        for s in range(t, x.shape[1]):
            z = 1 / (1 + np.exp(-(x[:, s] @ p["W_z"] + p["b_z"])))
            k = x[:, s] @ p["W_h"] + p["b_h"]
            h = (1 - z) * h + z * np.where(k >= 0, k + 0.5, 1 / (1 + np.exp(-k)))
        return readout_loss(task.kind, h @ p["V"] + p["c"], y)[0]

    for t in range(1, x.shape[1] + 1):
        base = states.h[t - 1]
        numeric = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            up, down = base.copy(), base.copy()
            up[i] += 1e-6
            down[i] -= 1e-6
            numeric[i] = (loss_from(t, up) - loss_from(t, down)) / 2e-6
        np.testing.assert_allclose(dh_all[t - 1], numeric, rtol=1e-5, atol=1e-9, err_msg=f"t={t}")
