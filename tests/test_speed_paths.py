"""Faster paths give the same answers: an XLA-compiled Keras LSTM, and the backend switch."""

from __future__ import annotations

import numpy as np
import pytest

from rnnbench.backends import BackendError, current_backend, select_backend
from rnnbench.models import keras_models
from rnnbench.tasks.delayed_recall import DelayedRecall

# Slow (not in the quick loop): trains Keras models on other paths and backends.
pytestmark = pytest.mark.slow


def test_xla_lstm_trains_like_the_plain_one():
    """Same seed, same data: the compiled and plain LSTM end within float noise of each other."""
    task = DelayedRecall()
    x, y = task.generate(2048, 5, np.random.default_rng(0))
    x_eval, y_eval = task.generate(500, 5, np.random.default_rng(1))
    results = {}
    for jit in (False, True):
        model = keras_models.lstm(task, 16, seed=0, forget_bias=1.0, jit_compile=jit)
        loss = model.train(x, y)
        results[jit] = (loss, model.predict(x_eval))
    assert results[True][0] == pytest.approx(results[False][0], rel=1e-3)
    np.testing.assert_allclose(results[True][1], results[False][1], atol=1e-3)
    assert task.accuracy(y_eval, results[True][1]) == pytest.approx(
        task.accuracy(y_eval, results[False][1]), abs=0.01
    )


@pytest.mark.parametrize("builder", [keras_models.simple_rnn, keras_models.lstm])
def test_train_steps_like_keras_fit(builder):
    """KerasModel.train skips fit's per-call set-up; the steps and the loss must be fit's own.

    The reference: a twin with the same initial weights trained by a bare `model.fit`. 300
    sequences make a short last batch, which fit's epoch loss weighs by its size.
    """
    task = DelayedRecall()
    x, y = task.generate(300, 6, np.random.default_rng(0))
    ours = builder(task, 8, seed=0, batch_size=64)
    reference = builder(task, 8, seed=0, batch_size=64)
    reference.model.set_weights(ours.model.get_weights())
    loss = ours.train(x, y)
    history = reference.model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    assert loss == pytest.approx(history.history["loss"][-1], rel=1e-5)
    for mine, theirs in zip(ours.model.get_weights(), reference.model.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def test_default_lstm_leaves_xla_to_keras():
    """On TensorFlow without a GPU Keras's "auto" means no XLA: see benchmarks/README.md."""
    task = DelayedRecall()
    model = keras_models.lstm(task, 8, seed=0)
    assert model.model.jit_compile is (current_backend() == "jax")


def test_backend_errors_are_one_line_and_name_the_allowed():
    with pytest.raises(BackendError, match="unknown backend 'theano'; allowed: tensorflow, jax"):
        select_backend("theano")
    import keras  # noqa: F401 - Keras is now fixed to its backend in this process

    other = "jax" if current_backend() != "jax" else "tensorflow"
    with pytest.raises(BackendError, match="already running on"):
        select_backend(other)


def test_sweep_on_the_jax_backend_records_it(tmp_path):
    """A fresh process, since Keras fixes its backend at import."""
    pytest.importorskip("jax")
    import subprocess
    import sys

    import pandas as pd

    out = tmp_path / "jax.csv"
    cmd = [sys.executable, "-m", "rnnbench.cli", "sweep", "--backend", "jax", "--task",
           "delayed-recall", "--lengths", "3", "--seeds", "1", "--model", "keras-simplernn",
           "--model", "keras-lstm", "--forget-bias", "1", "--max-sequences", "256",
           "--workers", "1", "--out", str(out), "--quiet"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    df = pd.read_csv(out)
    assert set(df["backend"]) == {"jax"} and set(df["status"]) == {"ok"}, df["error"].tolist()
    assert len(df) == 2
    assert df["grad_ratio_init"].notna().all()  # measured through the NumPy twins, not TensorFlow


def test_keras_models_learn_on_the_torch_backend(tmp_path):
    """keras-simplernn and keras-lstm on PyTorch, in a fresh process: rows shaped as TensorFlow's,
    accuracy well above the task's chance level, grad_ratio_init from the NumPy twins."""
    pytest.importorskip("torch")
    import subprocess
    import sys

    import pandas as pd

    from rnnbench.runner import run_sweep
    from rnnbench.study import StudySpec

    out = tmp_path / "torch.csv"
    args = ["--task", "delayed-recall", "--lengths", "2", "--seeds", "1", "--model",
            "keras-simplernn", "--model", "keras-lstm", "--forget-bias", "1",
            "--max-sequences", "1024"]
    cmd = [sys.executable, "-m", "rnnbench.cli", "sweep", *args, "--backend", "torch",
           "--workers", "1", "--out", str(out), "--quiet"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    df = pd.read_csv(out)
    assert set(df["backend"]) == {"torch"} and set(df["status"]) == {"ok"}, df["error"].tolist()
    assert sorted(df["model"]) == ["keras-lstm", "keras-simplernn"]
    assert (df["accuracy"] > df["chance_accuracy"] + 0.1).all(), df[["model", "accuracy"]]
    assert df["grad_ratio_init"].notna().all()

    # The same cells on TensorFlow in this process: the same columns and cells, other numbers.
    spec = StudySpec.from_mapping({
        "name": "torch-twin", "lengths": {"delayed-recall": [2]}, "seeds": 1,
        "models": ["keras-simplernn", "keras-lstm"], "max_sequences": 1024, "forget_bias": [1.0],
    })
    reference = run_sweep(spec.cells(), out=tmp_path / "tensorflow.csv")
    assert list(reference.columns) == list(df.columns)
    key = ["task", "model", "length", "seed"]
    assert sorted(reference[key].itertuples(index=False)) == sorted(df[key].itertuples(index=False))
    assert (reference["backend"] == current_backend()).all()
