"""numpy-indrnn is Li et al.'s IndRNN: exact gradients, the worked forward, the paper's bound."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import assert_param_gradients_match, in_float64

from rnnbench.models.numpy_indrnn import NumpyIndRNN, recurrent_bound
from rnnbench.tasks.adding import AddingProblem
from rnnbench.tasks.delayed_recall import DelayedRecall


def float64_indrnn(task, units=3, seed=0, length=5) -> NumpyIndRNN:
    model = in_float64(NumpyIndRNN(task.input_dim, units, task.output_dim, task.kind, seed,
                                   length=length), seed)
    rng = np.random.default_rng(seed + 7)
    for name in ("W1", "W2"):  # away from the 0.001 init, so every path carries weight
        model.params[name][...] = rng.normal(0, 0.7, model.params[name].shape)
    return model


@pytest.mark.parametrize("task", [AddingProblem(), DelayedRecall()], ids=["adding", "recall"])
def test_indrnn_gradients_match_finite_differences(task):
    x, y = task.generate(4, 5, np.random.default_rng(0))
    model = float64_indrnn(task)
    assert_param_gradients_match(model, x.astype(np.float64), y)


def test_indrnn_forward_on_a_tiny_input_by_hand():
    """One unit per layer, two steps: every number worked out by hand."""
    model = NumpyIndRNN(1, 1, 1, "regression", 0, length=2)
    p = model.params
    p["W1"][...], p["u1"][...], p["b1"][...] = 2.0, 0.5, -1.0
    p["W2"][...], p["u2"][...], p["b2"][...] = 1.0, -0.5, 0.0
    p["V"][...], p["c"][...] = 3.0, 0.25
    x = np.array([[[1.0], [0.25]]], np.float32)  # one sequence, x_1 = 1, x_2 = 0.25
    # layer 1: h1_1 = relu(2*1 - 1) = 1;   h1_2 = relu(2*0.25 + 0.5*1 - 1) = relu(0) = 0
    # layer 2: h2_1 = relu(1*1) = 1;       h2_2 = relu(1*0 - 0.5*1) = relu(-0.5) = 0
    # logits = 3 * 0 + 0.25
    states, logits = model.forward(x)
    np.testing.assert_allclose(states.h1[1:, 0, 0], [1.0, 0.0])
    np.testing.assert_allclose(states.h2[1:, 0, 0], [1.0, 0.0])
    np.testing.assert_allclose(logits, [[0.25]])
    p["b1"][...] = 0.0  # now h1_2 = relu(0.5 + 0.5 * 2) = 1.5, h2_2 = relu(1.5 - 0.5 * 2) = 0.5
    # h1_1 = relu(2) = 2, h2_1 = relu(2) = 2; logits = 3 * 0.5 + 0.25 = 1.75
    np.testing.assert_allclose(model.predict(x), [1.75])


def test_indrnn_initialises_and_clips_u_by_the_papers_rule():
    """u1 in [0, 2^(1/T)], u2 in [2^(-1/T), 2^(1/T)] (official code), T from the first batch;
    after an update that pushes u out, it is clipped back to |u| <= 2^(1/T)."""
    task = AddingProblem()
    model = NumpyIndRNN(task.input_dim, 64, 1, task.kind, 0, learning_rate=0.5)
    x, y = task.generate(64, 50, np.random.default_rng(0))
    bound = 2 ** (1 / 50)
    assert recurrent_bound(50) == pytest.approx(bound)
    model.predict(x)  # the first batch fixes T = 50
    assert model.length == 50
    u1, u2 = model.params["u1"], model.params["u2"]
    assert u1.min() >= 0 and u1.max() <= bound
    assert u2.min() >= 1 / bound and u2.max() <= bound
    assert u1.std() > 0.1 * bound / np.sqrt(12)  # drawn, not constant
    model.train(x, y * 50)  # a large rate and target: steps of 0.5 push u past the bound
    for u in (model.params["u1"], model.params["u2"]):
        assert np.abs(u).max() <= bound + 1e-6
    assert np.isclose(np.abs(model.params["u2"]), bound).any()  # the clip was reached
    x, y = task.generate(64, 100, np.random.default_rng(1))
    model.train(x, y)  # a longer batch: T = 100 now, the bound tighter
    assert model.length == 100
    assert np.abs(model.params["u2"]).max() <= 2 ** (1 / 100) + 1e-6


def test_indrnn_predict_equals_the_training_forward():
    task = DelayedRecall()
    model = NumpyIndRNN(task.input_dim, 8, task.output_dim, task.kind, 0)
    model.train(*task.generate(128, 6, np.random.default_rng(0)))
    x, _ = task.generate(16, 6, np.random.default_rng(1))
    np.testing.assert_allclose(model.predict(x), model.forward(x)[1], rtol=1e-5, atol=1e-6)


def test_indrnn_state_gradients_match_finite_differences():
    """dLoss/dh2_t (the read-out layer's, what `rnnbench gradients` shows) against nudges of h2_t
    run on through layer 2 with layer 1's states fixed."""
    from rnnbench.models.numpy_common import readout_loss

    task = DelayedRecall()
    x, y = task.generate(2, 4, np.random.default_rng(1))
    x = x.astype(np.float64)
    model = float64_indrnn(task)
    p = model.params
    _, _, dh_all = model.loss_and_grads(x, y)
    states, _ = model.forward(x)
    h1 = states.h1.copy()

    def loss_from(t, h):
        for s in range(t, x.shape[1]):
            h = np.maximum(h1[s + 1] @ p["W2"] + p["b2"] + p["u2"] * h, 0.0)
        return readout_loss(task.kind, h @ p["V"] + p["c"], y)[0]

    for t in range(1, x.shape[1] + 1):
        base = states.h2[t].copy()
        numeric = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            up, down = base.copy(), base.copy()
            up[i] += 1e-6
            down[i] -= 1e-6
            numeric[i] = (loss_from(t, up) - loss_from(t, down)) / 2e-6
        np.testing.assert_allclose(dh_all[t - 1], numeric, rtol=1e-5, atol=1e-9, err_msg=f"t={t}")
