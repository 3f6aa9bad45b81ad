"""numpy-exprnn is Lezcano-Casado & Martinez-Rubio's expRNN: W = expm(A) stays orthogonal, the
gradient through the exponential map and BPTT match finite differences, the forward is worked."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import assert_param_gradients_match, in_float64

from rnnbench.models.numpy_exprnn import (
    NumpyExpRNN,
    henaff_skew,
    orthogonal_from,
    skew,
    skew_gradient,
)
from rnnbench.tasks.adding import AddingProblem
from rnnbench.tasks.delayed_recall import DelayedRecall


def test_skew_gradient_matches_finite_differences_of_expm():
    """dL/da through W = expm(U - U^T), for L = <G, W> with a fixed random G."""
    from scipy.linalg import expm

    H = 5
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1.0, H * (H - 1) // 2)
    G = rng.normal(0, 1.0, (H, H))
    analytic = skew_gradient(a, H, G)
    numeric = np.zeros_like(a)
    for k in range(len(a)):
        up, down = a.copy(), a.copy()
        up[k] += 1e-6
        down[k] -= 1e-6
        numeric[k] = (np.sum(G * expm(skew(up, H))) - np.sum(G * expm(skew(down, H)))) / 2e-6
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("task", [AddingProblem(), DelayedRecall()], ids=["adding", "recall"])
def test_exprnn_gradients_match_finite_differences(task):
    x, y = task.generate(3, 5, np.random.default_rng(0))
    model = in_float64(NumpyExpRNN(task.input_dim, 4, task.output_dim, task.kind, 0))
    model.params["a"] += np.random.default_rng(3).normal(0, 0.5, model.params["a"].shape)
    assert_param_gradients_match(model, x.astype(np.float64), y)


def test_henaff_initialisation_and_orthogonality():
    """A block-diagonal with 2x2 blocks [[0, s], [-s, 0]], |s| <= pi (official default), and
    W = expm(A) orthogonal with det +1, before and after training."""
    rng = np.random.default_rng(0)
    A = skew(henaff_skew(rng, 7), 7)
    off_blocks = A.copy()
    for i in range(3):
        assert A[2 * i, 2 * i + 1] == -A[2 * i + 1, 2 * i] and abs(A[2 * i, 2 * i + 1]) <= np.pi
        off_blocks[2 * i, 2 * i + 1] = off_blocks[2 * i + 1, 2 * i] = 0
    assert not off_blocks.any() and np.count_nonzero(A) == 6  # unit 7 (odd) has no partner
    task = DelayedRecall()
    model = NumpyExpRNN(task.input_dim, 16, task.output_dim, task.kind, 0)
    assert model.num_params == 16 * 15 // 2 + task.input_dim * 16 + 16 + 16 * 8 + 8
    model.train(*task.generate(256, 6, np.random.default_rng(1)))
    W = orthogonal_from(model.params["a"], 16).astype(np.float64)
    np.testing.assert_allclose(W @ W.T, np.eye(16), atol=1e-5)
    assert np.linalg.det(W) == pytest.approx(1.0, abs=1e-4)


def test_exprnn_forward_on_a_tiny_input_by_hand():
    """Two units, A = [[0, pi/2], [-pi/2, 0]]: W = expm(A) = [[0, 1], [-1, 0]], a quarter turn."""
    model = NumpyExpRNN(1, 2, 1, "regression", 0)
    p = model.params
    p["a"][...] = np.pi / 2
    p["W_x"][...] = [[1.0, 2.0]]
    p["b"][...] = [-0.5, 0.5]
    p["V"][...] = [[1.0], [10.0]]
    p["c"][...] = 0.0
    x = np.array([[[1.0], [1.0]]], np.float32)  # x_1 = x_2 = 1: x_t W_x = (1, 2)
    # z_1 = (1, 2); h_1 = sign(z) relu(|z| + b) = (0.5, 2.5)
    # z_2 = (1, 2) + h_1 W = (1, 2) + (0.5 * 0 + 2.5 * -1, 0.5 * 1 + 2.5 * 0) = (-1.5, 2.5)
    # h_2 = (-(1.5 - 0.5), 2.5 + 0.5) = (-1, 3); logits = -1 + 10 * 3 = 29
    states, logits = model.forward(x)
    np.testing.assert_allclose(states.W, [[0, 1], [-1, 0]], atol=1e-6)
    np.testing.assert_allclose(states.h[1:, 0], [[0.5, 2.5], [-1.0, 3.0]], atol=1e-6)
    np.testing.assert_allclose(logits, [[29.0]], atol=1e-5)
    p["b"][...] = [-3.0, 0.5]  # |z| + b <= 0 silences unit 1: h_1 = (0, 2.5),
    # z_2 = (1, 2) + (-2.5, 0) = (-1.5, 2): h_2 = (0, 2.5); logits = 25
    np.testing.assert_allclose(model.predict(x), [25.0], atol=1e-5)


def test_exprnn_predict_equals_the_training_forward():
    task = DelayedRecall()
    model = NumpyExpRNN(task.input_dim, 8, task.output_dim, task.kind, 0)
    model.train(*task.generate(128, 6, np.random.default_rng(0)))
    x, _ = task.generate(16, 6, np.random.default_rng(1))
    np.testing.assert_allclose(model.predict(x), model.forward(x)[1], rtol=1e-5, atol=1e-6)


def test_exprnn_state_gradients_match_finite_differences():
    from rnnbench.models.numpy_common import readout_loss

    task = DelayedRecall()
    x, y = task.generate(2, 4, np.random.default_rng(1))
    x = x.astype(np.float64)
    model = in_float64(NumpyExpRNN(task.input_dim, 3, task.output_dim, task.kind, 0))
    p = model.params
    _, _, dh_all = model.loss_and_grads(x, y)
    states, _ = model.forward(x)

    def loss_from(t, h):
        for s in range(t, x.shape[1]):
            z = x[:, s] @ p["W_x"] + h @ states.W
            h = np.sign(z) * np.maximum(np.abs(z) + p["b"], 0.0)
        return readout_loss(task.kind, h @ p["V"] + p["c"], y)[0]

    for t in range(1, x.shape[1] + 1):
        base = states.h[t].copy()
        numeric = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            up, down = base.copy(), base.copy()
            up[i] += 1e-6
            down[i] -= 1e-6
            numeric[i] = (loss_from(t, up) - loss_from(t, down)) / 2e-6
        np.testing.assert_allclose(dh_all[t - 1], numeric, rtol=1e-5, atol=1e-9, err_msg=f"t={t}")
