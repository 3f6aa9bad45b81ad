"""The three new cells learn, through the harness's own model contract, within small budgets
measured on this project's machine (slow-marked: about 20 s together). Each test can fail: the
memoryless levels are MSE 1/6 on adding (a constant guess of the mean sum, 1) and 1/8 accuracy
on delayed recall."""

from __future__ import annotations

import numpy as np
import pytest

from rnnbench.registry import models, tasks

pytestmark = pytest.mark.slow


def adding_mse_after(name: str, seed: int, sequences: int, length: int = 20) -> float:
    task = tasks.get("adding")()
    model = models.get(name)(task, 32, seed)
    rng = np.random.default_rng(seed)
    for _ in range(sequences // 2048):
        model.train(*task.generate(2048, length, rng))
    x, y = task.generate(1000, length, np.random.default_rng(99))
    return float(np.mean((model.predict(x) - y) ** 2))


def test_exprnn_solves_delayed_recall_at_lag_20():
    """Measured: 8,192 and 10,240 sequences to 0.95 (seeds 0, 1), where numpy-rnn needs
    18,000-26,000 (issue 18) and an LSTM with forget bias 1 none within 96,000."""
    task = tasks.get("delayed-recall")()
    model = models.get("numpy-exprnn")(task, 32, 0)
    rng = np.random.default_rng(0)
    for _ in range(8):  # 16,384 sequences
        model.train(*task.generate(2048, 20, rng))
    x, y = task.generate(1000, 20, np.random.default_rng(99))
    assert task.accuracy(y, model.predict(x)) > 0.9


def test_mingru_learns_the_adding_problem():
    """Measured at length 20: MSE 0.0064 after 98,304 sequences (seeds 0 and 1)."""
    assert adding_mse_after("numpy-mingru", 0, 98_304) < 0.02


def test_indrnn_learns_the_adding_problem_with_some_seed():
    """Measured at length 20 after 32,768 sequences: MSE 0.0018 (seed 0), 0.0002 (seed 2); seeds
    1 and 3 stay at the memoryless 1/6, their ReLU units dead (seed 1: every layer-1 unit silent
    on every step), at 32 units and the shared rate 3e-3 (the paper: 128 units, 2e-4)."""
    assert min(adding_mse_after("numpy-indrnn", seed, 32_768) for seed in (0, 2)) < 0.01
