"""Shapes, seeds, worked examples and chance levels of the built-in tasks."""

from __future__ import annotations

import numpy as np
import pytest

from rnnbench.registry import tasks
from rnnbench.tasks.adding import AddingProblem
from rnnbench.tasks.delayed_recall import NUM_SYMBOLS, DelayedRecall


def test_builtins_are_registered():
    assert {"adding", "delayed-recall"} <= set(tasks.names())
    assert tasks.entry("adding").source == "built-in"


@pytest.mark.parametrize("name", ["adding", "delayed-recall"])
def test_same_seed_same_data_and_no_global_state(name):
    task = tasks.get(name)()
    before = np.random.get_state()[1].copy()
    x1, y1 = task.generate(50, 12, np.random.default_rng(7))
    x2, y2 = task.generate(50, 12, np.random.default_rng(7))
    x3, _ = task.generate(50, 12, np.random.default_rng(8))
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    assert np.array_equal(np.random.get_state()[1], before), "touched numpy's global random state"


def test_adding_shapes_marks_and_target():
    task = AddingProblem()
    x, y = task.generate(500, 30, np.random.default_rng(0))
    assert x.shape == (500, 30, 2) and x.dtype == np.float32
    assert y.shape == (500,) and y.dtype == np.float32
    marks = x[:, :, 1]
    assert np.all(marks.sum(axis=1) == 2)
    assert np.all(marks[:, :15].sum(axis=1) == 1) and np.all(marks[:, 15:].sum(axis=1) == 1)
    np.testing.assert_allclose(y, (x[:, :, 0] * marks).sum(axis=1), rtol=1e-6)
    assert np.all((x[:, :, 0] >= 0) & (x[:, :, 0] < 1))


class ScriptedRng:
    """Stands in for a Generator and returns the draws of a docstring's worked example."""

    def __init__(self, values, marks):
        self.values, self.marks = values, list(marks)

    def random(self, shape, dtype=np.float64):
        return np.asarray(self.values, dtype).reshape(shape)

    def integers(self, low, high=None, size=None):
        value = self.marks.pop(0)
        assert low <= np.min(value) and np.max(value) < high, "example draw outside its range"
        return np.asarray(value).reshape(size)


def test_adding_docstring_example():
    rng = ScriptedRng([0.5, 0.25, 0.75, 0.1], marks=[[1], [2]])
    x, y = AddingProblem().generate(1, 4, rng)
    assert x[0, :, 1].tolist() == [0, 1, 1, 0]
    assert y[0] == pytest.approx(1.0)


def test_delayed_recall_docstring_example():
    rng = ScriptedRng(None, marks=[[[3, 5, 3]]])
    x, y = DelayedRecall().generate(1, 2, rng)
    assert x.shape == (1, 4, NUM_SYMBOLS + 1)
    assert [int(np.argmax(step)) for step in x[0]] == [3, 5, 3, NUM_SYMBOLS]
    assert np.all(x[0].sum(axis=1) == 1)
    assert y.tolist() == [3]


def test_delayed_recall_shapes_and_target():
    task = DelayedRecall()
    x, y = task.generate(400, 10, np.random.default_rng(1))
    assert x.shape == (400, 12, NUM_SYMBOLS + 1) and x.dtype == np.float32
    assert y.shape == (400,) and np.issubdtype(y.dtype, np.integer)
    assert np.array_equal(np.argmax(x[:, 0, :], axis=1), y)
    assert np.all(x[:, -1, NUM_SYMBOLS] == 1) and np.all(x[:, :-1, NUM_SYMBOLS] == 0)
    assert np.all(x[:, -1, :NUM_SYMBOLS] == 0)


def test_adding_chance_is_the_best_constant_predictor():
    task = AddingProblem()
    _, y = task.generate(200_000, 10, np.random.default_rng(2))
    constants = np.linspace(0.5, 1.5, 101)
    scores = [task.accuracy(y, np.full_like(y, c)) for c in constants]
    assert constants[int(np.argmax(scores))] == pytest.approx(1.0, abs=0.03)
    assert max(scores) == pytest.approx(task.chance_accuracy(10), abs=0.004)
    assert task.chance_accuracy(10) == pytest.approx(0.078, abs=0.001)


def test_delayed_recall_chance_is_what_a_memoryless_predictor_scores():
    task = DelayedRecall()
    x, y = task.generate(50_000, 6, np.random.default_rng(3))
    assert task.chance_accuracy(6) == pytest.approx(1 / NUM_SYMBOLS)
    last_distractor = x[:, -2, :NUM_SYMBOLS]  # what a model without memory of step 0 could use
    assert task.accuracy(y, last_distractor) == pytest.approx(1 / NUM_SYMBOLS, abs=0.01)
    assert task.accuracy(y, x[:, 0, :NUM_SYMBOLS]) == 1.0


def test_regression_accuracy_uses_the_1997_tolerance():
    task = AddingProblem()
    y = np.array([1.0, 1.0, 1.0, 1.0], np.float32)
    assert task.accuracy(y, np.array([1.039, 0.961, 1.041, 0.95])) == 0.5


@pytest.mark.parametrize(("name", "bad"), [("adding", 1), ("delayed-recall", 0), ("adding", 2.5)])
def test_length_below_minimum_names_value_and_range(name, bad):
    task = tasks.get(name)()
    with pytest.raises(ValueError, match=str(bad)):
        task.check_length(bad)
