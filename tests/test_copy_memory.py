"""copy-memory against its written definition (Arjovsky, Shah & Bengio 2016, Sec. 5.1): the
docstring's worked example, the layout of every sequence, the symbols' frequencies, and the
memoryless baseline's loss 10 ln 8 / (T + 20) by Monte Carlo."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from rnnbench.feeding import probabilities
from rnnbench.models.numpy_common import per_step_readout_loss
from rnnbench.registry import tasks
from rnnbench.tasks.copy_memory import NUM_SYMBOLS, RECALL, CopyMemory, memoryless_loss


def test_the_docstring_worked_example():
    doc = CopyMemory.__doc__ or ""
    T = int(re.search(r"Worked example, T = (\d+)", doc).group(1))
    symbols = [int(s) for s in re.search(r"symbols ((?:\d )+\d):", doc).group(1).split()]
    rows = {name: [int(v) for v in re.search(rf"{name}\s+([\d ]+)\n", doc).group(1).split()]
            for name in ("input", "target")}

    class Fixed:  # an rng whose only draw is the example's symbols
        def integers(self, low, high, size):
            assert (low, high, size) == (1, NUM_SYMBOLS + 1, (1, RECALL))
            return np.array([symbols])

    x, y = CopyMemory().generate(1, T, Fixed())
    assert x.shape == (1, T + 20, 10) and y.shape == (1, T + 20, 9)
    assert x[0].argmax(axis=1).tolist() == rows["input"]
    assert y[0].argmax(axis=1).tolist() == rows["target"]
    assert (x.sum(axis=2) == 1).all() and (y.sum(axis=2) == 1).all()  # one-hot everywhere


@pytest.mark.parametrize("T", [1, 7])
def test_every_sequence_has_the_papers_layout(T):
    """Ten symbols of 1..8, T - 1 blanks, the delimiter, ten blanks; targets blank for T + 10
    steps and then the ten symbols; every step scored."""
    task = CopyMemory()
    x, y = task.generate(500, T, np.random.default_rng(T))
    xs, ys = x.argmax(axis=2), y.argmax(axis=2)  # (n, T + 20) categories
    assert ((xs[:, :RECALL] >= 1) & (xs[:, :RECALL] <= NUM_SYMBOLS)).all()
    assert (xs[:, RECALL : RECALL + T - 1] == 0).all()
    assert (xs[:, RECALL + T - 1] == NUM_SYMBOLS + 1).all()  # the delimiter, T steps after
    assert (xs[:, RECALL + T :] == 0).all()
    assert (ys[:, : T + RECALL] == 0).all()
    np.testing.assert_array_equal(ys[:, -RECALL:], xs[:, :RECALL])
    assert task.score_mask(x, y).all()


def test_symbols_are_uniform_and_independent():
    """Each of the 8 symbols has frequency 1/8 at each of the ten positions (a chi-square
    statistic below its 99.9% point for 7 degrees of freedom, 24.3, at every position), and
    neighbouring symbols are independent (equal with probability 1/8)."""
    n = 40_000
    x, _ = CopyMemory().generate(n, 3, np.random.default_rng(0))
    shown = x[:, :RECALL].argmax(axis=2)  # (n, 10) in 1..8
    for position in range(RECALL):
        counts = np.bincount(shown[:, position], minlength=NUM_SYMBOLS + 1)[1:]
        expected = n / NUM_SYMBOLS
        assert np.sum((counts - expected) ** 2 / expected) < 24.3, position
    same = np.mean(shown[:, 1:] == shown[:, :-1])
    assert same == pytest.approx(1 / NUM_SYMBOLS, abs=4 * math.sqrt(1 / 8 * 7 / 8 / (9 * n)))


@pytest.mark.parametrize("T", [5, 100])
def test_the_memoryless_baseline_by_monte_carlo(T):
    """The best predictor that ignores its input outputs each step's marginal distribution of
    the target; estimated from one sample and scored on another, its loss is 10 ln 8 / (T + 20)
    and its recall accuracy 1/8, the task's chance figures."""
    task = CopyMemory()
    rng = np.random.default_rng(1)
    _, y_fit = task.generate(4_000, T, rng)
    x, y = task.generate(4_000, T, rng)
    marginal = y_fit.mean(axis=0)  # (T + 20, 9): the memoryless predictor's output per step
    logits = np.log(np.maximum(marginal, 1e-12))[None].repeat(len(y), axis=0)
    loss, _ = per_step_readout_loss("classification", logits, y, task.score_mask(x, y))
    assert loss == pytest.approx(task.chance_loss(T), rel=0.01)
    assert task.chance_loss(T) == memoryless_loss(T) == 10 * math.log(8) / (T + 20)
    # the memoryless guess (one symbol per recall step) is right 1/8 of the time
    guess = probabilities(task, None, logits)
    sd = math.sqrt(1 / 8 * 7 / 8 / (len(y) * RECALL))
    assert task.accuracy(y, guess) == pytest.approx(task.chance_accuracy(T), abs=4 * sd)
    assert task.chance_accuracy(T) == 1 / 8


def test_the_baseline_matches_the_literatures_figures():
    """literature.md's memoryless copy baseline at T = 100 / 200 / 300 / 500 / 1000."""
    published = {100: 0.1733, 200: 0.0945, 300: 0.0650, 500: 0.0400, 1000: 0.0204}
    for T, loss in published.items():
        assert CopyMemory().chance_loss(T) == pytest.approx(loss, abs=5e-5)


def test_accuracy_counts_the_ten_recalled_symbols_and_correct_needs_all_ten():
    task = tasks.get("copy-memory")()
    x, y = task.generate(2, 2, np.random.default_rng(4))
    p = y.copy()  # a perfect copy ...
    p[0, -1] = np.roll(p[0, -1], 1)  # ... but sequence 0's last recalled symbol is wrong
    p[1, 0] = np.roll(p[1, 0], 1)  # and sequence 1 is wrong on a blank step (not judged)
    assert task.accuracy(y, p) == pytest.approx(19 / 20)
    assert task.correct(y, p).tolist() == [False, True]
