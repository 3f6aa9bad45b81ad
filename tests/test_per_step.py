"""Outputs at every step (issue 16): the per-step read-out's gradient enters BPTT at every scored
step (finite differences), the NumPy loops equal their Keras twins forward and backward, the loss
is the mean over the scored steps, and a model that reads only the last step is refused up front.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import assert_param_gradients_match, in_float64

from rnnbench.diagnostics import get_weights, set_weights, state_gradients
from rnnbench.errors import UserError
from rnnbench.feeding import predict_all, train_chunk
from rnnbench.harness import run_cell
from rnnbench.models.base import per_step_refusal, traits_of
from rnnbench.models.numpy_common import per_step_readout_loss
from rnnbench.models.numpy_lstm import NumpyLSTM
from rnnbench.models.numpy_rnn import NumpyRNN
from rnnbench.registry import models, register_model, tasks
from rnnbench.schema import SweepCell
from rnnbench.study import StudySpec
from rnnbench.tasks.base import Task
from rnnbench.validation import ContractError, check_mask, check_task_output

NUMPY_MODELS = {"numpy-rnn": NumpyRNN, "numpy-lstm": NumpyLSTM}


class EveryStepToy(Task):
    """A per-step toy: classification with several correct classes at some steps, or regression."""

    steps_scored = "every"
    input_dim = 3

    def __init__(self, kind: str = "classification") -> None:
        self.kind = kind  # type: ignore[misc]
        self.output_dim = 4 if kind == "classification" else 1  # type: ignore[misc]

    def generate(self, n, length, rng):
        x = rng.normal(size=(n, length, self.input_dim)).astype(np.float32)
        if self.kind == "regression":
            return x, rng.normal(size=(n, length)).astype(np.float32)
        y = (rng.random((n, length, self.output_dim)) < 0.4).astype(np.float32)
        y[..., 0] = np.where(y.sum(axis=2) == 0, 1.0, y[..., 0])  # every row has a target
        return x, y


def partial_mask(n: int, T: int, seed: int = 3) -> np.ndarray:
    mask = np.random.default_rng(seed).random((n, T)) < 0.6
    mask[:, -1] = True
    mask[0, :] = False  # a sequence with no scored step adds nothing
    return mask


def per_step_model(name: str, task: Task, units: int = 3, seed: int = 0):
    cls = NUMPY_MODELS[name]
    return in_float64(cls(task.input_dim, units, task.output_dim, task.kind, seed, per_step=True))


@pytest.mark.parametrize("name", list(NUMPY_MODELS))
@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_per_step_gradients_match_finite_differences(name, kind):
    """Every parameter, with the loss at some steps only (the mask) and multi-class targets."""
    task = EveryStepToy(kind)
    x, y = task.generate(3, 5, np.random.default_rng(0))
    model = per_step_model(name, task)
    assert_param_gradients_match(model, x.astype(np.float64), y, mask=partial_mask(3, 5))


@pytest.mark.parametrize("name", list(NUMPY_MODELS))
def test_per_step_state_gradients_match_finite_differences(name):
    """dLoss/dh_t is the total derivative: step t's own read-out plus every later scored step."""
    task = EveryStepToy()
    x, y = task.generate(2, 4, np.random.default_rng(1))
    x = x.astype(np.float64)
    mask = partial_mask(2, 4)
    model = per_step_model(name, task)
    _, _, dh_all = model.loss_and_grads(x, y, mask)
    dh_all = dh_all.copy()
    T = x.shape[1]
    nudged = _rnn_forward_nudged if name == "numpy-rnn" else _lstm_forward_nudged

    def loss_with(t, delta):  # the loss with h_t moved by delta, from a plain forward pass
        return per_step_readout_loss(task.kind, nudged(model, x, t, delta), y, mask)[0]

    for t in range(1, T + 1):
        numeric = np.zeros_like(dh_all[t - 1])
        for i in np.ndindex(numeric.shape):
            e = np.zeros_like(numeric)
            e[i] = 1e-6
            numeric[i] = (loss_with(t, e) - loss_with(t, -e)) / 2e-6
        np.testing.assert_allclose(dh_all[t - 1], numeric, rtol=1e-5, atol=1e-9, err_msg=str(t))


def _rnn_forward_nudged(model, x, t_nudged, delta):
    """numpy-rnn's per-step logits (B, T, O), written plainly, with delta added to h_t."""
    p = model.params
    B, T, _ = x.shape
    h = [np.zeros((B, p["W_h"].shape[0]))]
    for t in range(1, T + 1):
        h_t = np.tanh(x[:, t - 1] @ p["W_x"] + h[-1] @ p["W_h"] + p["b"])
        h.append(h_t + delta if t == t_nudged else h_t)
    hs = np.stack(h)  # (T+1, B, H)
    return (hs[1:] @ p["V"] + p["c"]).transpose(1, 0, 2)  # (B, T, O)


def _lstm_forward_nudged(model, x, t_nudged, delta):
    from rnnbench.models.numpy_lstm import sigmoid

    p = model.params
    B, T, _ = x.shape
    H = p["W_h"].shape[0]
    h, c = [np.zeros((B, H))], np.zeros((B, H))
    for t in range(1, T + 1):
        z = x[:, t - 1] @ p["W_x"] + h[-1] @ p["W_h"] + p["b"]
        i, f, o = sigmoid(z[:, :H]), sigmoid(z[:, H : 2 * H]), sigmoid(z[:, 3 * H :])
        c = f * c + i * np.tanh(z[:, 2 * H : 3 * H])
        h_t = o * np.tanh(c)
        h.append(h_t + delta if t == t_nudged else h_t)
    hs = np.stack(h)
    return (hs[1:] @ p["V"] + p["b_out"]).transpose(1, 0, 2)  # (B, T, O)


def test_the_per_step_loss_is_the_mean_over_scored_steps():
    """Cross-entropy against each target row normalised to 1, averaged over the True steps."""
    logits = np.random.default_rng(0).normal(size=(2, 3, 4))
    y = np.zeros((2, 3, 4))
    y[0, 0, [1, 2]] = 1.0  # two correct classes: the target is 1/2 each
    y[0, 1, 3] = y[0, 2, 0] = y[1, 0, 0] = y[1, 1, 1] = y[1, 2, 2] = 1.0
    mask = np.array([[True, False, True], [False, False, True]])
    log_p = logits - np.log(np.exp(logits).sum(axis=2, keepdims=True))
    expected = -(0.5 * (log_p[0, 0, 1] + log_p[0, 0, 2]) + log_p[0, 2, 0] + log_p[1, 2, 2]) / 3
    loss, dlogits = per_step_readout_loss("classification", logits, y, mask)
    assert loss == pytest.approx(expected, rel=1e-12)
    assert not dlogits[~mask].any()  # unscored steps pass no gradient
    reg, _ = per_step_readout_loss("regression", logits[..., :1], y[..., 0], mask)
    assert reg == pytest.approx(np.mean((logits[..., 0] - y[..., 0])[mask] ** 2), rel=1e-12)


@pytest.mark.parametrize(
    "numpy_name, keras_name", [("numpy-rnn", "keras-simplernn"), ("numpy-lstm", "keras-lstm")])
def test_keras_twins_equal_forward_and_backward_on_a_per_step_task(numpy_name, keras_name):
    """Copy memory: the same weights give the same logits at every step and, by TensorFlow's
    autodiff through the compiled per-step loss, the same dLoss/dh_t and loss."""
    task = tasks.get("copy-memory")()
    x, y = task.generate(8, 4, np.random.default_rng(0))
    mask = task.score_mask(x, y)
    mask[:, :3] = False  # and a mask that is not all True
    ours = models.get(numpy_name)(task, 6, 0)
    theirs = models.get(keras_name)(task, 6, 1)
    assert ours.per_step and theirs.per_step
    set_weights(theirs, get_weights(ours))
    np.testing.assert_allclose(theirs.predict(x), ours.predict(x), atol=1e-5)
    assert ours.predict(x).shape == (8, 24, task.output_dim)
    dh_keras = state_gradients(theirs, x, y, mask=mask)  # autodiff
    dh_numpy = state_gradients(ours, x, y, mask=mask)
    np.testing.assert_allclose(dh_keras, dh_numpy, rtol=1e-4, atol=1e-7)
    twin = state_gradients(theirs, x, y, autodiff=False, mask=mask)  # the sweep's fast path
    np.testing.assert_allclose(twin, dh_numpy, rtol=1e-6, atol=1e-9)
    loss_numpy = ours.loss_and_grads(x, y, mask)[0]
    loss_keras = theirs.model.evaluate(x, _packed(theirs, y, mask), verbose=0,
                                       batch_size=len(x))
    assert loss_keras == pytest.approx(loss_numpy, rel=1e-5)


def _packed(model, y, mask):
    from rnnbench.models.keras_models import pack_per_step

    return pack_per_step(model.kind, y, mask)


@pytest.mark.slow  # traces a Keras train step
def test_keras_regression_per_step_training_matches_numpy():
    """One Adam step of each twin on a per-step regression task lands on the same weights."""
    task = EveryStepToy("regression")
    x, y = task.generate(16, 6, np.random.default_rng(2))
    mask = partial_mask(16, 6)
    from rnnbench.models.keras_models import simple_rnn

    theirs = simple_rnn(task, 5, 0, learning_rate=0.01)
    ours = NumpyRNN(3, 5, 1, "regression", 1, learning_rate=0.01, per_step=True)
    ours.set_keras_weights(theirs.model.get_weights())
    loss_ours, loss_theirs = ours.train(x, y, mask=mask), theirs.train(x, y, mask=mask)
    assert loss_theirs == pytest.approx(loss_ours, rel=1e-5)
    for a, b in zip(theirs.model.get_weights(), ours.get_keras_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_built_in_models_declare_per_step():
    for name in ("numpy-rnn", "numpy-lstm", "keras-simplernn", "keras-lstm"):
        assert traits_of(models.get(name)).per_step, name


@pytest.fixture
def last_step_plugin():
    @register_model("last-step-only")
    def factory(task, units, seed):
        return NumpyRNN(task.input_dim, units, task.output_dim, task.kind, seed)

    yield "last-step-only"
    models.unregister("last-step-only")


def test_a_last_step_model_is_refused_for_a_per_step_task_at_study_expansion(last_step_plugin):
    spec = StudySpec.from_mapping({"models": [last_step_plugin, "numpy-rnn"], "tasks":
                                   ["copy-memory"], "lengths": [2], "seeds": 1})
    with pytest.raises(UserError) as caught:
        spec.cells()
    message = str(caught.value)
    assert "\n" not in message and "'last-step-only' reads out only at the last step" in message
    assert "'copy-memory'" in message and "numpy-rnn" in message and "keras-lstm" in message
    # the same model on a last-step task is fine
    assert StudySpec.from_mapping({"models": [last_step_plugin], "tasks": ["delayed-recall"],
                                   "lengths": [2], "seeds": 1}).cells()
    assert per_step_refusal("numpy-rnn", models.get("numpy-rnn"), tasks.get("copy-memory")())\
        is None
    # and a cell built by hand is refused by the harness, recorded in the row
    row = run_cell(SweepCell(task="copy-memory", model=last_step_plugin, length=2, seed=0,
                             max_sequences=64))
    assert row.status == "error" and "reads out only at the last step" in row.error


def test_per_step_targets_and_masks_are_checked():
    task = EveryStepToy()
    x, y = task.generate(2, 3, np.random.default_rng(0))
    with pytest.raises(ContractError, match=r"y has shape \(2,\); a task scored at every step"):
        check_task_output(task, (x, y[:, 0, 0]), 2)
    bad = y.copy()
    bad[0, 0, 0] = -1.0
    with pytest.raises(ContractError, match="negative targets"):
        check_task_output(task, (x, bad), 2)
    empty = y.copy()
    empty[1, 2] = 0.0
    with pytest.raises(ContractError, match="1 scored step"):
        check_mask(task, task.score_mask(x, empty), empty, x.shape)
    with pytest.raises(ContractError, match="score_mask has shape"):
        check_mask(task, np.ones((2, 2), bool), y, x.shape)


class VariableEveryStep(EveryStepToy):
    """Per-step targets on right-padded sequences of two lengths."""

    variable_length = True

    def generate(self, n, length, rng):
        x, y = super().generate(n, length + 2, rng)
        x[::2, length:] = 0.0  # every other sequence is 2 steps shorter
        y[::2, length:] = 0.0
        x[:, :, 0] += 0.5 * (x[:, :, 0] == 0)  # no real step is all zero
        x[::2, length:] = 0.0
        return x, y


def test_masks_compose_with_sequence_lengths_in_the_feeding():
    """Grouped by length, a model sees each group cut to its length, targets and mask alike;
    outputs come back padded, and the padding is never scored."""
    task = VariableEveryStep()
    x, y = task.generate(6, 3, np.random.default_rng(0))
    mask = task.score_mask(x, y)
    assert mask.sum(axis=1).tolist() == [3, 5, 3, 5, 3, 5]
    seen = []

    class Spy:
        def train(self, xb, yb, mask=None):
            seen.append((xb.shape, yb.shape, mask.shape, bool(mask.all())))
            return 0.0

        def predict(self, xb):
            return np.ones((len(xb), xb.shape[1], 4))

    lengths = task.sequence_lengths(x)
    trained = train_chunk(Spy(), x, y, lengths, 2, True, mask)
    assert sorted(seen) == [((1, 3, 3), (1, 3, 4), (1, 3), True),
                            ((1, 5, 3), (1, 5, 4), (1, 5), True),
                            ((2, 3, 3), (2, 3, 4), (2, 3), True),
                            ((2, 5, 3), (2, 5, 4), (2, 5), True)]
    assert trained.outputs.shape == (6, 5, 4)
    out = predict_all(Spy(), x, lengths, per_step=True)
    assert out.shape == (6, 5, 4) and not out[0, 3:].any() and out[1].all()


def test_one_scoring_path_for_last_step_and_per_step_tasks():
    """`accuracy` is the mean of `correct` for both; per step, every scored step must be right
    (a step with several correct classes takes any of them), unscored steps do not count."""
    task = EveryStepToy()
    y = np.zeros((2, 2, 4))
    y[0, 0, [1, 2]] = y[0, 1, 3] = y[1, 0, 0] = y[1, 1, 1] = 1.0
    p = np.zeros((2, 2, 4))
    p[0, 0, 2] = p[0, 1, 3] = 0.9  # sequence 0: both steps right
    p[1, 0, 0] = p[1, 1, 2] = 0.9  # sequence 1: its second step wrong
    assert task.correct(y, p).tolist() == [True, False]
    assert task.accuracy(y, p) == 0.5
    only_first = np.array([[True, False], [True, False]])
    assert task.correct(y, p, only_first).tolist() == [True, True]
    np.testing.assert_allclose(task.errors(y, p, only_first), [1.0, 0.1])
    recall = tasks.get("delayed-recall")()
    assert recall.accuracy(np.array([1, 2]), np.eye(8)[[1, 3]]) == 0.5


def test_a_per_step_cell_trains_and_records_its_row():
    row = run_cell(SweepCell(task="copy-memory", model="numpy-lstm", length=2, seed=0,
                             max_sequences=128, chunk_size=64, eval_size=32))
    assert row.status == "ok", row.error
    assert row.chance_accuracy == 0.125 and np.isfinite(row.grad_ratio_init)
    assert 0.0 <= row.accuracy <= 1.0 and np.isfinite(row.final_loss)


@pytest.mark.slow  # builds, traces and trains a Keras model
def test_a_registered_keras_cell_reads_out_at_every_step():
    """A `register_cell` cell gets the per_step trait and, on copy memory, returns every step's
    logits; with the weights of numpy-rnn (bias 0) it gives numpy-rnn's outputs and dLoss/dh_t."""
    import keras

    from rnnbench import register_cell

    @register_cell("tanh-cell-per-step-test")
    class TanhCell(keras.layers.Layer):
        """h_t = tanh(x_t W + h_tm1 U)"""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = self.state_size = self.output_size = units

        def build(self, input_shape):
            self.W = self.add_weight(shape=(input_shape[-1], self.units))
            self.U = self.add_weight(shape=(self.units, self.units), initializer="orthogonal")

        def call(self, inputs, states):
            h = keras.ops.tanh(inputs @ self.W + states[0] @ self.U)
            return h, [h]

    try:
        factory = models.get("tanh-cell-per-step-test")
        assert traits_of(factory).per_step
        task = tasks.get("copy-memory")()
        x, y = task.generate(8, 3, np.random.default_rng(0))
        mask = task.score_mask(x, y)
        plugin = factory(task, 4, 0)
        twin = models.get("numpy-rnn")(task, 4, 0)
        W, U, V, c = plugin.model.get_weights()
        twin.set_keras_weights([W, U, np.zeros(4, np.float32), V, c])
        assert plugin.predict(x).shape == (8, 23, task.output_dim)
        np.testing.assert_allclose(plugin.predict(x), twin.predict(x), atol=1e-5)
        np.testing.assert_allclose(state_gradients(plugin, x, y, mask=mask),
                                   state_gradients(twin, x, y, mask=mask), rtol=1e-4, atol=1e-7)
        assert np.isfinite(plugin.train(x, y, mask=mask))
    finally:
        models.unregister("tanh-cell-per-step-test")


def test_a_last_step_plugin_task_written_before_masks_still_runs():
    """A task overriding `correct` and `accuracy` with two arguments (the contract before per-step
    outputs) is scored as before: no mask is passed for a last-step task."""
    from rnnbench.tasks.base import register_task
    from rnnbench.tasks.delayed_recall import DelayedRecall

    @register_task("old-style-test")
    class OldStyle(DelayedRecall):
        def correct(self, y_true, y_prob):
            return np.argmax(y_prob, axis=-1) == y_true

        def accuracy(self, y_true, y_pred):
            return float(np.mean(self.correct(y_true, y_pred)))

    try:
        row = run_cell(SweepCell(task="old-style-test", model="numpy-rnn", length=2, seed=0,
                                 max_sequences=64, chunk_size=64, eval_size=32))
        assert row.status == "ok", row.error
    finally:
        tasks.unregister("old-style-test")
