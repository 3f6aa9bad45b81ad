"""Gradient diagnostics: the hand-written BPTT and TensorFlow's autodiff agree on dLoss/dh_t, the
sweep row records the first/last ratio, and a model without a gradient hook is refused clearly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import Opaque

from rnnbench.diagnostics import (
    NoGradientHookError,
    first_to_last_ratio,
    get_weights,
    gradient_norms,
    numpy_twin,
    set_weights,
    state_gradients,
)
from rnnbench.harness import GRAD_RATIO_BATCH, gradient_batch, make_task, run_cell
from rnnbench.registry import models, register_model, tasks
from rnnbench.schema import SweepCell


@pytest.mark.parametrize(
    "numpy_name, keras_name, task_name",
    [("numpy-rnn", "keras-simplernn", "adding"), ("numpy-lstm", "keras-lstm", "delayed-recall")],
)
def test_numpy_bptt_and_keras_autodiff_agree_with_the_same_weights(numpy_name, keras_name,
                                                                   task_name):
    task = tasks.get(task_name)()
    x, y = task.generate(16, 12, np.random.default_rng(0))
    ours = models.get(numpy_name)(task, 8, 0)
    theirs = models.get(keras_name)(task, 8, 1)
    set_weights(theirs, get_weights(ours))
    dh_numpy = state_gradients(ours, x, y)
    dh_keras = state_gradients(theirs, x, y)
    assert dh_numpy.shape == dh_keras.shape == (x.shape[1], 16, 8)
    np.testing.assert_allclose(dh_keras, dh_numpy, rtol=1e-4, atol=1e-7)
    norms = gradient_norms(ours, x, y)
    np.testing.assert_allclose(gradient_norms(theirs, x, y), norms, rtol=1e-4)
    # the norm is of each sequence's own loss: the same whatever the batch size
    np.testing.assert_allclose(gradient_norms(ours, x[:4], y[:4]),
                               np.linalg.norm(dh_numpy[:, :4] * 16, axis=2).mean(axis=1),
                               rtol=1e-5)


@pytest.mark.parametrize("keras_name, task_name",
                         [("keras-simplernn", "adding"), ("keras-lstm", "delayed-recall")])
def test_a_keras_models_numpy_twin_gives_its_autodiff_gradients(keras_name, task_name):
    """The sweep's fast path (autodiff=False) against TensorFlow's tape, with trained weights."""
    task = tasks.get(task_name)()
    rng = np.random.default_rng(0)
    model = models.get(keras_name)(task, 8, 0, learning_rate=0.05)
    model.train(*task.generate(256, 12, rng))  # away from the initial weights' symmetries
    x, y = task.generate(16, 12, rng)
    assert numpy_twin(model) is not None
    np.testing.assert_allclose(state_gradients(model, x, y, autodiff=False),
                               state_gradients(model, x, y), rtol=1e-4, atol=1e-7)
    by_autodiff = gradient_norms(model, x, y)
    assert first_to_last_ratio(model, x, y) == pytest.approx(
        by_autodiff[0] / by_autodiff[-1], rel=1e-4)


def test_a_keras_layer_unlike_its_twin_is_left_to_autodiff():
    import keras

    from rnnbench.models.keras_models import build_keras_model

    task = tasks.get("adding")()
    relu = build_keras_model(task, keras.layers.SimpleRNN(4, activation="relu"), seed=0)
    assert numpy_twin(relu) is None
    x, y = task.generate(4, 5, np.random.default_rng(0))
    np.testing.assert_allclose(state_gradients(relu, x, y, autodiff=False),
                               state_gradients(relu, x, y))


def test_a_model_without_a_gradient_hook_is_refused_and_gets_nan_in_the_sweep_row(registered):
    register_model("opaque-test")(lambda task, units, seed: Opaque())
    registered(models, "opaque-test")
    task = tasks.get("adding")()
    x, y = task.generate(4, 5, np.random.default_rng(0))
    with pytest.raises(NoGradientHookError, match="model 'opaque-test' cannot be diagnosed"):
        gradient_norms(Opaque(), x, y, "opaque-test")
    assert math.isnan(first_to_last_ratio(Opaque(), x, y))
    result = run_cell(SweepCell("adding", "opaque-test", 5, 0, max_sequences=64, chunk_size=64))
    assert result.status == "ok" and math.isnan(result.grad_ratio_init)


def test_the_sweep_row_records_the_first_to_last_ratio_at_initialisation():
    cell = SweepCell("delayed-recall", "numpy-rnn", 6, 3, units=8, max_sequences=128,
                     chunk_size=128, eval_size=50)
    result = run_cell(cell)
    task = make_task(cell)
    model = models.get("numpy-rnn")(task, 8, 3)  # the same untrained model the cell built
    norms = gradient_norms(model, *gradient_batch(cell, task, GRAD_RATIO_BATCH))
    assert result.status == "ok"
    assert result.grad_ratio_init == pytest.approx(norms[0] / norms[-1], rel=1e-6)
    assert 0 < result.grad_ratio_init < 10


def test_a_registered_keras_cell_is_diagnosed_by_autodiff(registered):
    """A plugin cell gets gradients with no work of its own: its RNN layer is run by the tape."""
    import keras

    from rnnbench import register_cell

    @register_cell("tanh-cell-test")
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

    registered(models, "tanh-cell-test")
    task = tasks.get("delayed-recall")()
    x, y = task.generate(8, 6, np.random.default_rng(0))
    plugin = models.get("tanh-cell-test")(task, 4, 0)
    twin = models.get("numpy-rnn")(task, 4, 0)
    W, U, V, c = plugin.model.get_weights()  # the cell's two, then the Dense read-out's
    twin.set_keras_weights([W, U, np.zeros(4, np.float32), V, c])  # the same RNN, bias 0
    np.testing.assert_allclose(gradient_norms(plugin, x, y), gradient_norms(twin, x, y),
                               rtol=1e-4)


def test_the_report_sets_the_gradient_signal_beside_accuracy():
    import pandas as pd

    from rnnbench.report import build_report

    rows = [
        {"task": "delayed-recall", "model": m, "length": n, "seed": s, "accuracy": 0.5,
         "sequences_to_solve": None, "grad_ratio_init": r}
        for m, n, s, r in [("numpy-rnn", 5, 0, 0.4), ("numpy-rnn", 5, 1, 0.6),
                           ("numpy-rnn", 50, 0, 1e-3), ("numpy-rnn", 50, 1, 3e-3),
                           ("opaque", 5, 0, math.nan), ("opaque", 50, 0, math.nan)]
    ]
    table = build_report(pd.DataFrame(rows)).tables["gradient_signal"]
    assert table.loc[("delayed-recall", "numpy-rnn")].tolist() == ["0.5", "0.002"]
    assert table.loc[("delayed-recall", "opaque")].tolist() == ["n/a", "n/a"]
    older = pd.DataFrame(rows).drop(columns="grad_ratio_init")  # a CSV from before the column
    assert "gradient_signal" not in build_report(older).tables
