"""The NumPy GRU is Keras's GRU: exact gradients, `keras.layers.GRU`'s forward pass and Adam step,
weights that copy both ways, a forward pass worked by hand, and `forget_bias` on the update gate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gradcheck import assert_param_gradients_match, in_float64

from rnnbench.models import lesson
from rnnbench.models.numpy_common import readout_loss
from rnnbench.models.numpy_gru import NumpyGRU
from rnnbench.tasks.adding import AddingProblem
from rnnbench.tasks.delayed_recall import DelayedRecall

TASKS = [AddingProblem(), DelayedRecall()]
TASK_IDS = ["adding", "recall"]


def float64_gru(task, units=3, seed=0) -> NumpyGRU:
    model = in_float64(
        NumpyGRU(task.input_dim, units, task.output_dim, task.kind, seed, forget_bias=1.0), seed
    )
    # in_float64 perturbs the 1-D params; the GRU's bias is (2, 3H): both rows, every gate
    model.params["b"] += np.random.default_rng(seed + 2).normal(0, 0.3, model.params["b"].shape)
    return model


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_gru_bptt_gradients_match_finite_differences(task):
    x, y = task.generate(3, 5, np.random.default_rng(0))
    model = float64_gru(task)
    assert_param_gradients_match(model, x.astype(np.float64), y)


def test_gru_state_gradients_match_finite_differences():
    """dLoss/dh_t from BPTT equals the loss's sensitivity to a nudge of h_t, at every t."""
    task = DelayedRecall()
    x, y = task.generate(2, 3, np.random.default_rng(1))
    x = x.astype(np.float64)
    model = float64_gru(task)
    _, _, dh_all = model.loss_and_grads(x, y)
    states, _ = model.forward(x)
    p = model.params

    def loss_from(t, h_t):  # run steps t+1..T with the plain step from a given h_t
        h = h_t
        for s in range(t, x.shape[1]):
            h, _ = lesson.gru_step(x[:, s], h, p["W_x"], p["W_h"], p["b"])
        return readout_loss(task.kind, h @ p["V"] + p["b_out"], y)[0]

    for t in range(1, x.shape[1] + 1):  # dh_all[t - 1] is dLoss/dh_t
        base = states.h[t]
        numeric = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            up, down = base.copy(), base.copy()
            up[i] += 1e-6
            down[i] -= 1e-6
            numeric[i] = (loss_from(t, up) - loss_from(t, down)) / 2e-6
        np.testing.assert_allclose(dh_all[t - 1], numeric, rtol=1e-5, atol=1e-9, err_msg=f"t={t}")


def test_a_forward_pass_worked_by_hand():
    """One unit, one input, two steps, numbers worked out on paper.

    W_x = [0, 0, 1] (z, r, h), W_h = [0, 0, 1], biases 0, so z = r = sigmoid(0) = 1/2 throughout:
      step 1, x = 1, h_0 = 0:  n_1 = tanh(1 + 1/2 * 0) = 0.76159
                               h_1 = 1/2 * 0 + 1/2 * n_1 = 0.38080
      step 2, x = 0:           n_2 = tanh(0 + 1/2 * h_1) = tanh(0.19040) = 0.18813
                               h_2 = 1/2 * h_1 + 1/2 * n_2 = 0.28446
      read-out 2 h_2 + 0.5 = 1.06893
    With the update gate's bias at 20 (z = 1 - 2e-9), the state is kept: h_2 = h_0 = 0.
    """
    model = NumpyGRU(1, 1, 1, "regression", seed=0)
    model.set_keras_weights([np.array([[0, 0, 1]], np.float32), np.array([[0, 0, 1]], np.float32),
                             np.zeros((2, 3), np.float32), np.array([[2]], np.float32),
                             np.array([0.5], np.float32)])
    x = np.array([[[1.0], [0.0]]], np.float32)  # (B=1, T=2, D=1)
    states, _ = model.forward(x)
    np.testing.assert_allclose(states.h[:, 0, 0], [0.0, 0.38080, 0.28446], atol=1e-5)
    np.testing.assert_allclose(states.gates[:, :, 0, 0],
                               [[0.5, 0.5], [0.5, 0.5], [0.76159, 0.18813]], atol=1e-5)
    np.testing.assert_allclose(model.predict(x), [1.06893], atol=1e-5)
    assert math.isclose(0.5 * 0.38080 + 0.5 * math.tanh(0.5 * 0.38080), 0.28446, abs_tol=1e-5)

    model.params["b"][0, 0] = 20.0  # the update gate's input-side bias: what forget_bias sets
    np.testing.assert_allclose(model.predict(x), [0.5], atol=1e-6)  # h_2 = 0: read-out bias only


def keras_twin(model: NumpyGRU, task, learning_rate=3e-3):
    """keras.layers.GRU + Dense with the NumPy model's weights and the same loss and optimizer."""
    import keras

    from rnnbench.models.keras_models import build_keras_model

    layer = keras.layers.GRU(model.params["W_h"].shape[0], reset_after=True)
    twin = build_keras_model(task, layer, 0, learning_rate=learning_rate)
    twin.model.set_weights(model.get_keras_weights())
    return twin


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_gru_forward_equals_keras_gru_with_the_same_weights(task):
    import keras

    x, _ = task.generate(16, 20, np.random.default_rng(2))
    model = NumpyGRU(task.input_dim, 32, task.output_dim, task.kind, seed=3, forget_bias=2.0)
    model.params["b"] += np.random.default_rng(4).normal(0, 0.5, model.params["b"].shape).astype(
        np.float32
    )  # every gate's two biases non-zero, so a swapped gate or bias row would show
    twin = keras_twin(model, task)
    np.testing.assert_allclose(model.predict(x), twin.predict(x), atol=1e-5)
    states, _ = model.forward(x)
    layer_model = keras.Model(twin.model.inputs, twin.model.layers[1].output)
    np.testing.assert_allclose(states.h[-1], np.asarray(layer_model.predict_on_batch(x)),
                               atol=1e-5)


def test_gru_training_steps_match_keras_adam_with_clipping():
    """Three mini-batch steps of NumPy BPTT + Adam land where Keras's own training does."""
    task = DelayedRecall()
    x, y = task.generate(3 * 64, 10, np.random.default_rng(4))
    model = NumpyGRU(task.input_dim, 16, task.output_dim, task.kind, seed=5, forget_bias=1.0,
                     learning_rate=0.01)
    twin = keras_twin(model, task, learning_rate=0.01)
    loss_numpy = model.train(x, y)
    loss_keras = twin.train(x, y)
    assert loss_numpy == pytest.approx(loss_keras, rel=1e-4)
    for ours, theirs in zip(model.get_keras_weights(), twin.model.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=2e-5)


def test_gru_weights_copied_from_keras_gru_and_back_give_the_same_outputs():
    """keras-gru -> numpy-gru: Keras's own initial weights (and bias) give the NumPy loop Keras's
    outputs; numpy-gru -> keras-gru: the loop's weights, copied back, give Keras its outputs."""
    from rnnbench.registry import models

    task = DelayedRecall()
    x, _ = task.generate(8, 12, np.random.default_rng(5))
    source = models.get("keras-gru")(task, 16, 7, forget_bias=2.0)
    ours = models.get("numpy-gru")(task, 16, 8)  # different initial weights until copied
    assert not np.allclose(ours.predict(x), source.predict(x), atol=1e-3)
    ours.set_keras_weights(source.model.get_weights())
    np.testing.assert_array_equal(ours.params["b"], [[2.0] * 16 + [0] * 32, [0] * 48])
    np.testing.assert_allclose(ours.predict(x), source.predict(x), atol=1e-5)

    ours.params["W_h"] *= 1.5  # move away from the Keras source, then copy back the other way
    fresh = models.get("keras-gru")(task, 16, 9)
    fresh.model.set_weights(ours.get_keras_weights())
    np.testing.assert_allclose(fresh.predict(x), ours.predict(x), atol=1e-5)


def test_forget_bias_sets_the_update_gate_only_and_the_study_expands_it():
    """forget_bias is the bias that makes the GRU keep its state: z's, in Keras's convention."""
    from rnnbench.registry import models
    from rnnbench.study import StudySpec

    task = DelayedRecall()
    H = 4
    for name in ("numpy-gru", "keras-gru"):
        model = models.get(name)(task, H, 0, forget_bias=3.0)
        weights = model.get_keras_weights() if name == "numpy-gru" else model.model.get_weights()
        np.testing.assert_array_equal(weights[2], [[3] * H + [0] * 2 * H, [0] * 3 * H], name)
        assert model.num_params == 3 * H * (task.input_dim + H + 2) + (H + 1) * task.output_dim
    default = models.get("numpy-gru")(task, H, 0)
    np.testing.assert_array_equal(default.params["b"], 0.0)  # Keras's GRU: every bias zero
    cells = StudySpec.from_mapping({"models": ["numpy-rnn", "keras-gru", "numpy-lstm"],
                                    "lengths": [3], "seeds": 1, "forget_bias": [1.0, 4.0],
                                    "tasks": ["delayed-recall"]}).cells()
    assert [(c.model, c.forget_bias) for c in cells] == [
        ("numpy-rnn", None), ("keras-gru", 1.0), ("keras-gru", 4.0), ("numpy-lstm", 1.0),
        ("numpy-lstm", 4.0),
    ]
    defaults = StudySpec.from_mapping({"models": ["keras-gru", "numpy-lstm"], "lengths": [3],
                                       "seeds": 1, "tasks": ["delayed-recall"]}).cells()
    assert [(c.model, c.forget_bias) for c in defaults] == [("keras-gru", 0.0),
                                                             ("numpy-lstm", 1.0)]


def test_a_gru_with_its_update_gate_open_keeps_the_gradient_over_a_long_lag():
    """The reason for the knob, measured: at lag 50 the error signal reaching the first step is
    orders of magnitude larger with the update-gate bias at 4 than at Keras's 0."""
    task = DelayedRecall()
    x, y = task.generate(32, 50, np.random.default_rng(0))

    def ratio(bias: float) -> float:
        dh = NumpyGRU(task.input_dim, 32, task.output_dim, task.kind, 0, bias).state_gradients(x, y)
        norms = np.linalg.norm(dh, axis=2).mean(axis=1)  # (T,)
        return float(norms[0] / norms[-1])

    assert ratio(4.0) > 100 * ratio(0.0)


def test_tensorflow_autodiff_of_keras_gru_equals_numpy_gru_s_bptt():
    """`rnnbench gradients` on keras-gru (TensorFlow's tape through GRUCell) and numpy-gru's
    hand-written dLoss/dh_t agree when they share weights."""
    from rnnbench.diagnostics import keras_state_gradients
    from rnnbench.registry import models

    task = DelayedRecall()
    x, y = task.generate(8, 10, np.random.default_rng(6))
    keras_gru = models.get("keras-gru")(task, 8, 0, forget_bias=1.0)
    numpy_gru = models.get("numpy-gru")(task, 8, 1)
    numpy_gru.set_keras_weights(keras_gru.model.get_weights())
    ours = numpy_gru.state_gradients(x, y)  # (T, B, H)
    theirs = keras_state_gradients(keras_gru.model, x, y)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-7)


# -- reading out at every step (issue 16's contract) ------------------------------------------


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_per_step_gru_gradients_match_finite_differences(kind):
    """Every parameter, with the loss at some steps only (the mask) and multi-class targets."""
    from test_per_step import EveryStepToy, partial_mask

    task = EveryStepToy(kind)
    x, y = task.generate(3, 5, np.random.default_rng(0))
    model = in_float64(NumpyGRU(task.input_dim, 3, task.output_dim, task.kind, 0,
                                forget_bias=1.0, per_step=True))
    model.params["b"] += np.random.default_rng(2).normal(0, 0.3, model.params["b"].shape)
    assert_param_gradients_match(model, x.astype(np.float64), y, mask=partial_mask(3, 5))


def test_keras_gru_and_numpy_gru_agree_forward_and_backward_at_every_step():
    """Copy memory: the same weights give the same logits at every step and, by TensorFlow's
    autodiff through the compiled per-step loss and by the sweep's NumPy-twin path, the same
    dLoss/dh_t; one Adam step of each lands on the same weights."""
    from rnnbench.diagnostics import get_weights, numpy_twin, set_weights, state_gradients
    from rnnbench.registry import models, tasks

    task = tasks.get("copy-memory")()
    x, y = task.generate(8, 4, np.random.default_rng(0))
    mask = task.score_mask(x, y)
    mask[:, :3] = False  # and a mask that is not all True
    ours = models.get("numpy-gru")(task, 6, 0, forget_bias=1.0, learning_rate=0.01)
    theirs = models.get("keras-gru")(task, 6, 1, learning_rate=0.01)
    assert ours.per_step and theirs.per_step
    set_weights(theirs, get_weights(ours))
    np.testing.assert_allclose(theirs.predict(x), ours.predict(x), atol=1e-5)
    assert ours.predict(x).shape == (8, x.shape[1], task.output_dim)
    dh_numpy = state_gradients(ours, x, y, mask=mask)
    np.testing.assert_allclose(state_gradients(theirs, x, y, mask=mask), dh_numpy,
                               rtol=1e-4, atol=1e-7)  # TensorFlow's tape
    assert isinstance(numpy_twin(theirs), NumpyGRU)
    np.testing.assert_allclose(state_gradients(theirs, x, y, autodiff=False, mask=mask),
                               dh_numpy, rtol=1e-6, atol=1e-9)  # the twin
    loss_ours, loss_theirs = ours.train(x, y, mask=mask), theirs.train(x, y, mask=mask)
    assert loss_theirs == pytest.approx(loss_ours, rel=1e-5)
    for a, b in zip(theirs.model.get_weights(), ours.get_keras_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_the_gru_declares_per_step_and_keras_gru_has_numpy_gru_as_its_twin():
    from rnnbench.diagnostics import numpy_twin, state_gradients
    from rnnbench.models.base import traits_of
    from rnnbench.registry import models

    assert traits_of(models.get("numpy-gru")).per_step
    assert traits_of(models.get("keras-gru")).per_step
    task = DelayedRecall()
    x, y = task.generate(8, 6, np.random.default_rng(7))
    keras_gru = models.get("keras-gru")(task, 5, 0, forget_bias=2.0)
    twin = numpy_twin(keras_gru)
    assert isinstance(twin, NumpyGRU) and not twin.per_step
    np.testing.assert_allclose(state_gradients(keras_gru, x, y, autodiff=False),
                               state_gradients(keras_gru, x, y), rtol=1e-4, atol=1e-7)


def test_the_gru_declares_its_cost_memory_and_twin():
    """Priced, sized and paired by its own ModelTraits (none left to the defaults)."""
    from rnnbench.diagnostics import twin_pairs
    from rnnbench.models.base import traits_of
    from rnnbench.registry import models

    for name in ("numpy-gru", "keras-gru"):
        assert traits_of(models.get(name)).defaults_used() == [], name
    assert ("numpy-gru", "keras-gru") in twin_pairs()


@pytest.mark.slow
def test_the_update_gate_bias_decides_whether_the_gru_learns_lag_20():
    """The known result behind `forget_bias` for the GRU (issue 18): on delayed recall at lag 20,
    Keras's update-gate bias 0 leaves the GRU at chance, while 4 solves it. Measured here
    (numpy-gru, 2 seeds, 96,000 sequences): bias 0 at chance with loss ln 8 in both; 1 solved at
    26,624-30,720, 4 at 20,480-22,528. numpy-gru stands for keras-gru (the tests above hold them
    equal) because it is several times cheaper to run."""
    import rnnbench

    df = rnnbench.sweep(tasks=["delayed-recall"], models=["numpy-gru"], lengths=[20], seeds=[0],
                        max_sequences=40_960, forget_bias=[0.0, 4.0], workers=1, progress=False)
    assert (df["status"] == "ok").all(), df["error"].tolist()
    by_bias = df.set_index("forget_bias")
    assert by_bias.loc[0.0, "best_accuracy"] < by_bias.loc[0.0, "chance_accuracy"] + 0.1
    assert by_bias.loc[4.0, "accuracy"] >= 0.95
