"""The NumPy LSTM is a real LSTM: exact gradients, Keras's forward pass and Adam step, and weights
that copy both ways between the NumPy loops and their Keras twins."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import assert_param_gradients_match, in_float64

from rnnbench.models.numpy_common import readout_loss
from rnnbench.models.numpy_lstm import NumpyLSTM, sigmoid
from rnnbench.tasks.adding import AddingProblem
from rnnbench.tasks.delayed_recall import DelayedRecall

TASKS = [AddingProblem(), DelayedRecall()]
TASK_IDS = ["adding", "recall"]


def float64_lstm(task, units=3, seed=0) -> NumpyLSTM:
    model = NumpyLSTM(task.input_dim, units, task.output_dim, task.kind, seed, forget_bias=1.0)
    return in_float64(model, seed)


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_lstm_bptt_gradients_match_finite_differences(task):
    x, y = task.generate(3, 5, np.random.default_rng(0))
    x = x.astype(np.float64)
    model = float64_lstm(task)
    assert_param_gradients_match(model, x, y)


def test_lstm_state_gradients_match_finite_differences():
    """dLoss/dh_t from BPTT equals the loss's sensitivity to a nudge of h_t, at every t."""
    task = DelayedRecall()
    x, y = task.generate(2, 3, np.random.default_rng(1))
    x = x.astype(np.float64)
    model = float64_lstm(task)
    _, _, dh_all = model.loss_and_grads(x, y)
    states, _ = model.forward(x)
    p = model.params
    H = p["W_h"].shape[0]

    def loss_from(t, h_t, c_t):  # run steps t+1..T by hand from a given (h_t, c_t)
        h, c = h_t, c_t
        for s in range(t, x.shape[1]):
            z = x[:, s] @ p["W_x"] + h @ p["W_h"] + p["b"]
            i, f, o = sigmoid(z[:, :H]), sigmoid(z[:, H : 2 * H]), sigmoid(z[:, 3 * H :])
            c = f * c + i * np.tanh(z[:, 2 * H : 3 * H])
            h = o * np.tanh(c)
        return readout_loss(task.kind, h @ p["V"] + p["b_out"], y)[0]

    T = x.shape[1]
    for t in range(1, T + 1):  # dh_all[t - 1] is dLoss/dh_t
        base, c_t = states.h[t], states.c[t]
        numeric = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            up, down = base.copy(), base.copy()
            up[i] += 1e-6
            down[i] -= 1e-6
            numeric[i] = (loss_from(t, up, c_t) - loss_from(t, down, c_t)) / 2e-6
        np.testing.assert_allclose(dh_all[t - 1], numeric, rtol=1e-5, atol=1e-9, err_msg=f"t={t}")


def keras_twin(model, task, learning_rate=3e-3):
    """The Keras layer + Dense with the NumPy model's weights and the same loss and optimizer."""
    import keras

    from rnnbench.models.keras_models import build_keras_model

    units = model.params["W_h"].shape[0]
    layer = keras.layers.LSTM(units) if isinstance(model, NumpyLSTM) else keras.layers.SimpleRNN(
        units
    )
    twin = build_keras_model(task, layer, 0, learning_rate=learning_rate)
    twin.model.set_weights(model.get_keras_weights())
    return twin


def last_state(twin, x):
    import keras

    layer_model = keras.Model(twin.model.inputs, twin.model.layers[1].output)
    return np.asarray(layer_model.predict_on_batch(x))


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_lstm_forward_equals_keras_lstm_with_the_same_weights(task):
    x, _ = task.generate(16, 20, np.random.default_rng(2))
    model = NumpyLSTM(task.input_dim, 32, task.output_dim, task.kind, seed=3, forget_bias=2.0)
    model.params["b"] += np.random.default_rng(4).normal(0, 0.5, model.params["b"].shape).astype(
        np.float32
    )  # every gate's bias non-zero, so a swapped gate order would show
    twin = keras_twin(model, task)
    np.testing.assert_allclose(model.predict(x), twin.predict(x), atol=1e-5)
    states, _ = model.forward(x)
    np.testing.assert_allclose(states.h[-1], last_state(twin, x), atol=1e-5)


@pytest.mark.parametrize("name", ["numpy-rnn", "numpy-lstm"])
def test_weights_copied_from_keras_and_back_give_the_same_outputs(name):
    """Keras -> NumPy: a Keras model's own initial weights give the NumPy loop Keras's outputs;
    NumPy -> Keras: the NumPy loop's weights, copied back, give a fresh Keras model its outputs."""
    from rnnbench.registry import models

    task = DelayedRecall()
    x, _ = task.generate(8, 12, np.random.default_rng(5))
    keras_name = {"numpy-rnn": "keras-simplernn", "numpy-lstm": "keras-lstm"}[name]
    source = models.get(keras_name)(task, 16, 7)
    ours = models.get(name)(task, 16, 8)  # different initial weights until copied
    assert not np.allclose(ours.predict(x), source.predict(x), atol=1e-3)
    ours.set_keras_weights(source.model.get_weights())
    np.testing.assert_allclose(ours.predict(x), source.predict(x), atol=1e-5)

    ours.params["W_x"] *= 1.5  # move away from the Keras source, then copy back the other way
    fresh = models.get(keras_name)(task, 16, 9)
    fresh.model.set_weights(ours.get_keras_weights())
    np.testing.assert_allclose(fresh.predict(x), ours.predict(x), atol=1e-5)
    for a, b in zip(fresh.model.get_weights(), ours.get_keras_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_set_keras_weights_names_a_bad_shape():
    task = DelayedRecall()
    model = NumpyLSTM(task.input_dim, 4, task.output_dim, task.kind, seed=0)
    weights = model.get_keras_weights()
    weights[1] = np.zeros((4, 4), np.float32)  # a SimpleRNN recurrent kernel, not an LSTM's
    with pytest.raises(ValueError, match=r"W_h has shape \(4, 4\); expected \(4, 16\)"):
        model.set_keras_weights(weights)
    with pytest.raises(ValueError, match="takes 5 weights"):
        model.set_keras_weights(weights[:3])


def test_lstm_training_steps_match_keras_adam_with_clipping():
    """Three mini-batch steps of NumPy BPTT + Adam land where Keras's own training does."""
    task = AddingProblem()
    x, y = task.generate(3 * 64, 10, np.random.default_rng(4))
    model = NumpyLSTM(task.input_dim, 16, task.output_dim, task.kind, seed=5, learning_rate=0.01)
    twin = keras_twin(model, task, learning_rate=0.01)
    loss_numpy = model.train(x, y)
    loss_keras = twin.train(x, y)
    assert loss_numpy == pytest.approx(loss_keras, rel=1e-4)
    for ours, theirs in zip(model.get_keras_weights(), twin.model.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=2e-5)


def test_forget_bias_sets_the_forget_gate_only_and_the_study_expands_it():
    from rnnbench.registry import models
    from rnnbench.study import StudySpec

    task = DelayedRecall()
    model = models.get("numpy-lstm")(task, 4, 0, forget_bias=3.0, learning_rate=1e-3)
    np.testing.assert_array_equal(model.params["b"], [0] * 4 + [3] * 4 + [0] * 8)
    assert model.num_params == (task.input_dim + 4 + 1) * 16 + 4 * task.output_dim + 8
    cells = StudySpec.from_mapping({"models": ["numpy-rnn", "numpy-lstm"], "lengths": [3],
                                    "seeds": 1, "forget_bias": [1.0, 4.0],
                                    "tasks": ["delayed-recall"]}).cells()
    assert [(c.model, c.forget_bias) for c in cells] == [
        ("numpy-rnn", None), ("numpy-lstm", 1.0), ("numpy-lstm", 4.0)
    ]
