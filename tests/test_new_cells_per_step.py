"""numpy-indrnn, numpy-exprnn and numpy-mingru read out at every step for a per-step task
(issue 16's contract): their gradients with a read-out at every step and a mask of scored steps
match finite differences, predict gives the training forward's per-step outputs, and each is
registered as per_step."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import assert_param_gradients_match, in_float64

from rnnbench.models.base import traits_of
from rnnbench.models.numpy_exprnn import NumpyExpRNN
from rnnbench.models.numpy_indrnn import NumpyIndRNN
from rnnbench.models.numpy_mingru import NumpyMinGRU, mingru_sequential
from rnnbench.registry import models

CELLS = {"numpy-indrnn": NumpyIndRNN, "numpy-exprnn": NumpyExpRNN, "numpy-mingru": NumpyMinGRU}
B, T, D, H, K = 3, 5, 2, 3, 4


def model_for(name: str, kind: str, seed: int = 0):
    O = 1 if kind == "regression" else K  # noqa: E741 - the read-out width
    model = in_float64(CELLS[name](D, H, O, kind, seed, per_step=True), seed)
    rng = np.random.default_rng(seed + 5)
    for key, p in model.params.items():  # every weight away from its init, so all paths carry
        if p.ndim == 2:
            p += rng.normal(0, 0.5, p.shape)
        if key == "a":
            p += rng.normal(0, 0.5, p.shape)
    return model


def batch(kind: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (B, T, D))
    if kind == "regression":
        y = rng.normal(0, 1, (B, T))
    else:
        y = np.eye(K)[rng.integers(0, K, (B, T))]  # (B, T, K) one-hot rows
        y[0, 1, :] = [1, 0, 1, 0]  # a step with two correct classes, as the Reber grammar's
    mask = np.ones((B, T), bool)
    mask[:, :2] = False  # the first steps unscored, as copy memory's recall
    mask[1, 4] = False
    return x, y, mask


@pytest.mark.parametrize("kind", ["regression", "classification"])
@pytest.mark.parametrize("name", list(CELLS))
def test_per_step_gradients_match_finite_differences(name, kind):
    model = model_for(name, kind)
    x, y, mask = batch(kind)
    assert_param_gradients_match(model, x, y, mask=mask)
    _, logits = model.forward(x)
    assert logits.shape == (B, T, 1 if kind == "regression" else K)


@pytest.mark.parametrize("name", list(CELLS))
def test_per_step_predict_is_the_training_forward_and_the_read_out_of_each_state(name):
    model = model_for(name, "classification")
    x, y, mask = batch("classification")
    states, logits = model.forward(x)
    np.testing.assert_allclose(model.predict(x), logits, rtol=1e-10, atol=1e-12)
    p = model.params
    top = {"numpy-indrnn": lambda s: s.h2[1:], "numpy-exprnn": lambda s: s.h[1:],
           "numpy-mingru": lambda s: s.h}[name](states)  # (T, B, H) the read-out's states
    np.testing.assert_allclose(logits, (top @ p["V"] + p["c"]).transpose(1, 0, 2), rtol=1e-12)
    if name == "numpy-mingru":
        np.testing.assert_allclose(states.h, mingru_sequential(p, x), rtol=1e-10)
    loss = model.train(x, y, mask=mask)  # the contract's train(x, y, mask=)
    assert np.isfinite(loss)


@pytest.mark.parametrize("name", list(CELLS))
def test_registered_per_step_and_built_per_step_for_a_per_step_task(name):
    from rnnbench.registry import tasks

    assert traits_of(models.get(name)).per_step
    per_step_tasks = [t for t in tasks.names() if tasks.get(t).steps_scored == "every"]
    assert per_step_tasks, "no task scored at every step is registered"
    task = tasks.get(per_step_tasks[0])()
    model = models.get(name)(task, 4, 0)
    x, y = task.generate(6, 12, np.random.default_rng(0))
    assert model.predict(x).shape[:2] == (6, x.shape[1])
    assert np.isfinite(model.train(x, y, mask=task.score_mask(x, y)))
