"""A worker reuses one traced Keras model per architecture: same initial weights, same training."""

from __future__ import annotations

import numpy as np
import pytest

from rnnbench.harness import make_model, run_cell
from rnnbench.schema import SweepCell

# Slow: each test traces and trains Keras models; the full suite runs them.
pytestmark = pytest.mark.slow


@pytest.fixture
def reuse():
    from rnnbench.models import keras_models

    keras_models.reuse_traced_models(True)
    yield keras_models
    keras_models.reuse_traced_models(False)


def _cell(model: str, seed: int, forget_bias: float | None = None, length: int = 4) -> SweepCell:
    return SweepCell(task="delayed-recall", model=model, length=length, seed=seed,
                     max_sequences=256, chunk_size=128, eval_size=64, forget_bias=forget_bias)


@pytest.mark.parametrize("model, biases", [("keras-lstm", (1.0, 4.0)),
                                           ("keras-simplernn", (None, None))])
def test_a_reused_model_starts_exactly_as_a_fresh_one_and_trains_the_same(reuse, model, biases):
    pytest.importorskip("tensorflow")
    from rnnbench.harness import make_task

    first, second = _cell(model, 0, biases[0]), _cell(model, 3, biases[1], length=6)
    task = make_task(first)
    kept = make_model(first, task)
    x, y = task.generate(128, first.length, np.random.default_rng(0))
    kept.train(x, y)  # trains, so its weights and Adam state differ from any fresh start

    reused = make_model(second, task)
    assert reused.model is kept.model  # the traced model, restarted
    assert int(reused.model.optimizer.iterations.numpy()) == 0
    reuse.reuse_traced_models(False)
    fresh = make_model(second, task)
    assert fresh.model is not kept.model
    for a, b in zip(reused.model.get_weights(), fresh.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    x, y = task.generate(256, second.length, np.random.default_rng(1))
    assert reused.train(x, y) == pytest.approx(fresh.train(x, y), rel=1e-5)
    np.testing.assert_allclose(reused.predict(x), fresh.predict(x), rtol=1e-4, atol=1e-5)


def test_rows_through_the_worker_path_match_fresh_builds(reuse):
    pytest.importorskip("tensorflow")
    from rnnbench.executors.hygiene import run_cell_in_worker

    cells = [_cell("keras-lstm", s, fb) for s, fb in ((0, 1.0), (1, 4.0), (2, 1.0))]
    reused = [run_cell_in_worker(c) for c in cells]
    reuse.reuse_traced_models(False)
    fresh = [run_cell(c) for c in cells]
    for r, f in zip(reused, fresh, strict=True):
        assert (r.status, r.accuracy, r.sequences_seen) == (f.status, f.accuracy, f.sequences_seen)
        assert r.final_loss == pytest.approx(f.final_loss, rel=1e-5)
        assert r.grad_ratio_init == pytest.approx(f.grad_ratio_init, rel=1e-5)


def test_reuse_is_off_unless_asked():
    from rnnbench.models import keras_models

    assert keras_models._reuse_key(None, None) is None


def test_a_model_compiled_for_another_optimizer_is_not_reused(reuse):
    pytest.importorskip("tensorflow")
    from dataclasses import replace

    from rnnbench.harness import make_task

    adam = _cell("keras-simplernn", 0)
    task = make_task(adam)
    first = make_model(adam, task)
    sgd = make_model(replace(adam, optimizer="sgd", seed=1), task)
    assert sgd.model is not first.model
    assert make_model(replace(adam, seed=2), task).model is first.model


def test_a_second_cell_of_the_same_architecture_neither_retraces_nor_clears_kernels(
        reuse, monkeypatch):
    """A worker's second keras-lstm cell reuses the traced train and predict functions, and keeps
    TensorFlow's instantiated kernels: `tf.random.set_seed` (inside `keras.utils.set_random_seed`)
    used to clear them every cell, and each cell re-instantiated both functions on its first call
    (benchmarks/fixed_cost.py)."""
    pytest.importorskip("tensorflow")
    import keras
    from tensorflow.python.eager import context

    from rnnbench.executors.hygiene import run_cell_in_worker

    assert run_cell_in_worker(_cell("keras-lstm", 0, 4.0)).status == "ok"  # traces
    counts = {"train_step": 0, "predict_step": 0, "clear": 0}

    def counting(name, fn):
        def wrapper(*args, **kwargs):
            counts[name] += 1
            return fn(*args, **kwargs)
        return wrapper

    # Python runs a train or predict step only while tracing it: these count the traces.
    for step in ("train_step", "predict_step"):
        monkeypatch.setattr(keras.Model, step, counting(step, getattr(keras.Model, step)))
    monkeypatch.setattr(context.pywrap_tfe, "TFE_ContextClearCaches",
                        counting("clear", context.pywrap_tfe.TFE_ContextClearCaches))
    result = run_cell_in_worker(_cell("keras-lstm", 1, 1.0))
    assert result.status == "ok"
    assert counts == {"train_step": 0, "predict_step": 0, "clear": 0}

    # The counters see a trace when there is one: a new input width traces a new model.
    adding = SweepCell(task="adding", model="keras-lstm", length=4, seed=2, max_sequences=128,
                       chunk_size=128, eval_size=64, forget_bias=1.0)
    assert run_cell_in_worker(adding).status == "ok"
    assert counts["train_step"] >= 1 and counts["predict_step"] >= 1


def test_seed_random_draws_as_keras_set_random_seed(reuse):
    """What a model build draws after `seed_random(s)` (Python's, NumPy's and Keras's generators,
    an initializer without a seed) equals what it draws after `keras.utils.set_random_seed(s)`;
    in a process that reuses traced models it takes its own path, without clearing TensorFlow's
    kernels."""
    pytest.importorskip("tensorflow")
    import random

    import keras

    assert reuse._tensorflow_eager_context() is not None  # its own path is the one tested

    def draws():
        init = keras.initializers.GlorotUniform()  # seeded from Python's generator
        return (random.random(), np.random.random(),  # noqa: NPY002 - the legacy generator
                np.asarray(keras.random.uniform((3,))), np.asarray(init((2, 3))))

    for seed in (0, 7):
        keras.utils.set_random_seed(seed)
        expected = draws()
        reuse.seed_random(seed)
        for a, b in zip(draws(), expected, strict=True):
            np.testing.assert_array_equal(a, b)
    from tensorflow.python.eager import context

    assert context.global_seed() == 7
