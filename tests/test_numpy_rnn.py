"""The NumPy loop is a real learner: exact gradients, Keras's forward pass, Keras's Adam step."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import assert_param_gradients_match, in_float64

from rnnbench.models.numpy_common import Adam
from rnnbench.models.numpy_rnn import NumpyRNN
from rnnbench.tasks.adding import AddingProblem
from rnnbench.tasks.delayed_recall import DelayedRecall


def float64_model(task, units=5, seed=0) -> NumpyRNN:
    return in_float64(NumpyRNN(task.input_dim, units, task.output_dim, task.kind, seed), seed)


@pytest.mark.parametrize("task", [AddingProblem(), DelayedRecall()], ids=["adding", "recall"])
def test_bptt_gradients_match_finite_differences(task):
    x, y = task.generate(4, 6, np.random.default_rng(0))
    x = x.astype(np.float64)
    model = float64_model(task)
    assert_param_gradients_match(model, x, y)


def test_state_gradients_match_finite_differences():
    """dLoss/dh_t from BPTT equals the loss's sensitivity to a nudge of h_t (checked at t=2)."""
    task = DelayedRecall()
    x, y = task.generate(3, 4, np.random.default_rng(1))
    x = x.astype(np.float64)
    model = float64_model(task)
    _, _, dh_all = model.loss_and_grads(x, y)
    # Nudge one state h_t and run the rest of the loop by hand from there.
    from rnnbench.models.numpy_common import readout_loss

    def loss_with_h(t, h_t):
        W_h, h = model.params["W_h"], h_t
        xW = x @ model.params["W_x"] + model.params["b"]
        for s in range(t + 1, x.shape[1]):
            h = np.tanh(xW[:, s] + h @ W_h)
        return readout_loss(task.kind, h @ model.params["V"] + model.params["c"], y)[0]

    h_all, _ = model.forward(x)
    t = 1  # dh_all[t] is dLoss/dh_{t+1}; h_all[t + 1] is that state
    base = h_all[t + 1].copy()
    numeric = np.zeros_like(base)
    for i in np.ndindex(base.shape):
        up, down = base.copy(), base.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        numeric[i] = (loss_with_h(t, up) - loss_with_h(t, down)) / 2e-6
    np.testing.assert_allclose(dh_all[t], numeric, rtol=1e-5, atol=1e-9)


def keras_twin(model: NumpyRNN, task, learning_rate=3e-3):
    """keras SimpleRNN + Dense with the NumPy model's weights and the same loss and optimizer."""
    import keras

    from rnnbench.models.keras_models import build_keras_model

    twin = build_keras_model(task, keras.layers.SimpleRNN(model.params["W_h"].shape[0]), 0,
                             learning_rate=learning_rate)
    twin.model.set_weights(model.get_keras_weights())
    return twin


@pytest.mark.parametrize("task", [AddingProblem(), DelayedRecall()], ids=["adding", "recall"])
def test_forward_equals_keras_simplernn_with_the_same_weights(task):
    x, _ = task.generate(16, 20, np.random.default_rng(2))
    model = NumpyRNN(task.input_dim, 32, task.output_dim, task.kind, seed=3)
    twin = keras_twin(model, task)
    np.testing.assert_allclose(model.predict(x), twin.predict(x), atol=1e-5)
    # and the last hidden state itself, from the layer alone
    import keras

    layer_out = keras.Model(twin.model.inputs, twin.model.layers[1].output).predict_on_batch(x)
    h, _ = model.forward(x)
    np.testing.assert_allclose(h[-1], np.asarray(layer_out), atol=1e-5)


def test_training_steps_match_keras_adam_with_clipping():
    """Three mini-batch steps of NumPy BPTT + Adam land where Keras's own training does."""
    task = DelayedRecall()
    x, y = task.generate(3 * 64, 8, np.random.default_rng(4))
    model = NumpyRNN(task.input_dim, 16, task.output_dim, task.kind, seed=5, learning_rate=0.01)
    twin = keras_twin(model, task, learning_rate=0.01)
    loss_numpy = model.train(x, y)
    loss_keras = twin.train(x, y)
    assert loss_numpy == pytest.approx(loss_keras, rel=1e-4)
    for ours, theirs in zip(model.get_keras_weights(), twin.model.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=2e-5)


def test_adam_clips_each_variable_to_clipnorm():
    params = {"a": np.zeros(4, np.float32)}
    adam = Adam(params, learning_rate=0.1, clipnorm=1.0)
    adam.step(params, {"a": np.array([30.0, 40.0, 0.0, 0.0], np.float32)})
    # first Adam step moves each coordinate by about lr * sign(g), whatever the clip
    np.testing.assert_allclose(params["a"], [-0.1, -0.1, 0.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(adam.m["a"], 0.1 * np.array([0.6, 0.8, 0, 0]), rtol=1e-5)


def test_numpy_rnn_learns_a_short_lag():
    """Well above chance (1/8) on delayed recall at lag 3 within a small budget: it learns."""
    task = DelayedRecall()
    model = NumpyRNN(task.input_dim, 32, task.output_dim, task.kind, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(10):
        model.train(*task.generate(1024, 3, rng))
    x, y = task.generate(1000, 3, np.random.default_rng(99))
    assert task.accuracy(y, model.predict(x)) > 0.9


@pytest.mark.parametrize("name", ["numpy-rnn", "numpy-lstm", "numpy-gru"])
def test_predict_keeps_two_steps_and_gives_the_full_forward_logits(name):
    """predict runs forward(keep_states=False), which recycles two rows of state: same logits."""
    from rnnbench.registry import models

    task = DelayedRecall()
    model = models.get(name)(task, 8, 0, learning_rate=0.05)
    model.train(*task.generate(256, 7, np.random.default_rng(0)))  # weights away from the init
    x, _ = task.generate(32, 7, np.random.default_rng(1))
    _, logits = model.forward(x)
    lean_states, _ = model.forward(x, keep_states=False)
    np.testing.assert_array_equal(model.predict(x), logits)
    arrays = [lean_states] if isinstance(lean_states, np.ndarray) else list(lean_states)
    # at most two steps of state, or one step of a stack of gates (the full pass holds 8 steps)
    assert all(a.size <= 4 * 32 * 8 for a in arrays), [a.shape for a in arrays]
