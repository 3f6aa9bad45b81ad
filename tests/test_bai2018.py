"""adding-bai2018 and copy-memory-bai2018 against their written definition (Bai, Kolter & Koltun
2018, Sec. 4 and their code): the docstrings' worked examples, every sequence's layout, the
marks' positions uniform over all pairs of distinct steps (chi-square), and the memoryless
levels (MSE 1/6; copy loss 10 ln 8 / (T + 20)) by Monte Carlo."""

from __future__ import annotations

import math
import re
from itertools import combinations

import numpy as np
import pytest

from rnnbench.models.numpy_common import per_step_readout_loss
from rnnbench.registry import tasks
from rnnbench.tasks.bai2018 import AddingBai2018, CopyMemoryBai2018
from rnnbench.tasks.copy_memory import NUM_SYMBOLS, RECALL


class Scripted:
    """An rng whose draws are a worked example's."""

    def __init__(self, values=None, integers=()):
        self.values, self.draws = values, list(integers)

    def random(self, shape, dtype=np.float64):
        return np.asarray(self.values, dtype).reshape(shape)

    def integers(self, low, high, size):
        value = np.asarray(self.draws.pop(0)).reshape(size)
        assert low <= value.min() and value.max() < high, "example draw outside its range"
        return value


def test_both_are_registered_under_their_sources_name():
    assert tasks.get("adding-bai2018") is AddingBai2018
    assert tasks.get("copy-memory-bai2018") is CopyMemoryBai2018


def test_the_adding_worked_example():
    doc = AddingBai2018.__doc__ or ""
    values = [float(v) for v in re.search(r"values\s+([\d. ]+)\n", doc).group(1).split()]
    marks = [int(v) for v in re.search(r"marks\s+([\d ]+)\n", doc).group(1).split()]
    target = float(re.search(r"= ([\d.]+)\n", doc).group(1))
    x, y = AddingBai2018().generate(1, 4, Scripted(values, [[3], [1]]))
    assert x[0, :, 0].tolist() == pytest.approx(values)
    assert x[0, :, 1].tolist() == marks
    assert y[0] == pytest.approx(target)


def test_adding_marks_two_distinct_steps_and_sums_them():
    x, y = AddingBai2018().generate(2000, 9, np.random.default_rng(0))
    assert x.shape == (2000, 9, 2) and y.shape == (2000,)
    marks = x[:, :, 1]
    assert set(np.unique(marks)) == {0.0, 1.0} and (marks.sum(axis=1) == 2).all()
    np.testing.assert_allclose(y, (x[:, :, 0] * marks).sum(axis=1), rtol=1e-6)
    assert ((x[:, :, 0] >= 0) & (x[:, :, 0] < 1)).all()


def test_adding_marks_fall_anywhere_uniformly_over_the_pairs():
    """Each of the C(T, 2) pairs of distinct steps equally likely (chi-square statistic below its
    99.9% point for 14 degrees of freedom, 36.1), both marks in one half included, which
    `adding` never draws."""
    T, n = 6, 60_000
    x, _ = AddingBai2018().generate(n, T, np.random.default_rng(1))
    steps = np.sort(np.argwhere(x[:, :, 1] == 1)[:, 1].reshape(n, 2), axis=1)  # (n, 2)
    pairs = list(combinations(range(T), 2))
    counts = np.array([np.sum((steps[:, 0] == a) & (steps[:, 1] == b)) for a, b in pairs])
    expected = n / len(pairs)
    assert np.sum((counts - expected) ** 2 / expected) < 36.1
    assert counts[pairs.index((0, 1))] > 0  # both in the first half


def test_adding_memoryless_mse_is_one_sixth():
    """The best constant guess, 1, has MSE Var(U1 + U2) = 1/6, the level the paper's failing
    models sit at (Table 1: LSTM 0.164, RNN 0.177)."""
    _, y = AddingBai2018().generate(200_000, 50, np.random.default_rng(2))
    assert np.mean((y - 1.0) ** 2) == pytest.approx(1 / 6, abs=0.002)


def test_the_copy_worked_example():
    doc = CopyMemoryBai2018.__doc__ or ""
    T = int(re.search(r"Worked example, T = (\d+)", doc).group(1))
    symbols = [int(s) for s in re.search(r"symbols ((?:\d )+\d):", doc).group(1).split()]
    rows = {name: [int(v) for v in re.search(rf"{name}\s+([\d ]+)\n", doc).group(1).split()]
            for name in ("input", "target")}
    x, y = CopyMemoryBai2018().generate(1, T, Scripted(integers=[[symbols]]))
    assert x.shape == (1, T + 20, 1) and y.shape == (1, T + 20, 10)
    assert x[0, :, 0].tolist() == rows["input"]
    assert y[0].argmax(axis=1).tolist() == rows["target"]
    assert (y.sum(axis=2) == 1).all()


@pytest.mark.parametrize("T", [1, 7, 40])
def test_every_copy_sequence_has_their_layout(T):
    """Ten symbols of 1..8, T - 1 zeros, the last 11 entries 9; targets 0 for T + 10 steps and
    then the ten symbols; class 9 never a target; every step scored."""
    task = CopyMemoryBai2018()
    x, y = task.generate(500, T, np.random.default_rng(T))
    xs, ys = x[:, :, 0], y.argmax(axis=2)  # (n, T + 20)
    assert ((xs[:, :RECALL] >= 1) & (xs[:, :RECALL] <= NUM_SYMBOLS)).all()
    assert (xs[:, RECALL : RECALL + T - 1] == 0).all()
    assert (xs[:, -(RECALL + 1) :] == 9).all()
    assert (ys[:, : T + RECALL] == 0).all()
    np.testing.assert_array_equal(ys[:, -RECALL:], xs[:, :RECALL])
    assert (y[:, :, 9] == 0).all()
    assert task.score_mask(x, y).all()


def test_copy_symbols_are_uniform():
    x, _ = CopyMemoryBai2018().generate(40_000, 2, np.random.default_rng(5))
    shown = x[:, :RECALL, 0].astype(int)
    for position in range(RECALL):
        counts = np.bincount(shown[:, position], minlength=NUM_SYMBOLS + 1)[1:]
        expected = len(shown) / NUM_SYMBOLS
        assert np.sum((counts - expected) ** 2 / expected) < 24.3, position


@pytest.mark.parametrize("T", [5, 1000])
def test_the_copy_memoryless_level_by_monte_carlo(T):
    """Each step's marginal of the target, fitted on one sample and scored on another, has
    loss 10 ln 8 / (T + 20): 0.0204 at T = 1000, Bai et al.'s LSTM figure."""
    task = CopyMemoryBai2018()
    rng = np.random.default_rng(6)
    _, y_fit = task.generate(3_000, T, rng)
    x, y = task.generate(3_000, T, rng)
    marginal = y_fit.mean(axis=0)  # (T + 20, 10)
    logits = np.log(np.maximum(marginal, 1e-12))[None].repeat(len(y), axis=0)
    loss, _ = per_step_readout_loss("classification", logits, y, task.score_mask(x, y))
    assert loss == pytest.approx(task.chance_loss(T), rel=0.01)
    assert task.chance_loss(T) == pytest.approx(10 * math.log(8) / (T + 20))
    if T == 1000:
        assert task.chance_loss(T) == pytest.approx(0.0204, abs=5e-5)
