"""One way to score a task's outputs (issue 17): a task's `errors` (the largest absolute error of
a sequence's scored outputs), `correct` (its per-sequence criterion) and `accuracy` (the row's
number) are one path, not three that overlap: `accuracy` is the share of sequences `correct`
unless the task's unit is not the sequence, and the tasks that say so are named here with why."""

from __future__ import annotations

import numpy as np
import pytest

from rnnbench.registry import BUILTIN_SOURCE, tasks
from rnnbench.tasks.base import Task

# The classes whose `accuracy` reports another unit than the sequence (for them and the tasks
# built on them), and that unit.
OWN_UNIT = {"CopyMemory": "the share of recalled symbols right (Arjovsky et al. 2016's)"}


def builtin_tasks() -> list[str]:
    return [e.name for e in tasks.items() if e.source == BUILTIN_SOURCE]


def accuracy_from(name: str) -> str:
    """The name of the class whose `accuracy` the task uses."""
    return next(c for c in tasks.get(name).__mro__ if "accuracy" in c.__dict__).__name__


def test_only_the_tasks_with_another_unit_define_their_own_accuracy():
    assert {accuracy_from(name) for name in builtin_tasks()} == {"Task", *OWN_UNIT}


def half_right(task: Task, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Outputs as the criterion reads them (values or probabilities): the targets themselves for
    the first half of the sequences, random ones for the rest."""
    n = len(y)
    if task.kind == "regression":
        out = rng.uniform(-2.0, 2.0, size=y.shape)
        exact = y.astype(np.float64)
    else:
        shape = y.shape if task.steps_scored == "every" else (n, task.output_dim)
        out = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
        # every step: the target rows as given (several 1s: each a legal class), which the
        # errors read outputs against
        exact = (np.asarray(y, np.float64) if task.steps_scored == "every"
                 else np.eye(task.output_dim)[np.asarray(y, np.int64)])
    out[: n // 2] = exact[: n // 2]
    return out


@pytest.mark.parametrize("name", [n for n in builtin_tasks() if accuracy_from(n) == "Task"])
def test_a_tasks_accuracy_is_the_share_of_its_sequences_correct(name):
    task = tasks.get(name)()
    length = task.allowed_lengths[0] if task.allowed_lengths else max(task.min_length, 10)
    rng = np.random.default_rng(0)
    x, y = task.generate(64, length, rng)
    mask = task.score_mask(x, y) if task.steps_scored == "every" else None
    args = () if mask is None else (mask,)
    out = half_right(task, y, rng)
    right = np.asarray(task.correct(y, out, *args), dtype=bool)
    assert right.shape == (64,) and right[:32].all()  # the targets themselves are right
    assert task.accuracy(y, out, *args) == pytest.approx(float(right.mean()))
    errors = task.errors(y, out, *args)
    assert errors.shape == (64,) and np.all(errors[:32] < 1e-9)
