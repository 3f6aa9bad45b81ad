"""Models and tasks that return garbage or end their process, for tests/test_faults.py.

Importing this module registers them (worker processes import it too); the `fault_models` fixture
removes them again. Each wraps the NumPy RNN and misbehaves in one way.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from rnnbench.registry import models, register_model, tasks
from rnnbench.tasks.adding import AddingProblem
from rnnbench.tasks.base import register_task


class _Wrapped:
    def __init__(self, inner, predict=None, train=None) -> None:
        self.inner, self._predict, self._train = inner, predict, train
        self.num_params = inner.num_params

    def train(self, x, y):
        return self._train(x) if self._train else self.inner.train(x, y)

    def predict(self, x):
        return self._predict(x) if self._predict else self.inner.predict(x)


def _model(predict=None, train=None):
    def factory(task, units, seed, **hparams):
        inner = models.get("numpy-rnn")(task, units, seed, **hparams)
        return _Wrapped(inner, predict, train)

    return factory


BAD_PREDICTIONS = {
    "test-pred-nan": lambda x: np.full(len(x), np.nan, np.float32),
    "test-pred-inf": lambda x: np.full((len(x), 1), np.inf, np.float32),
    "test-pred-none": lambda x: None,
    "test-pred-shape": lambda x: np.zeros((len(x), 3), np.float32),
    "test-pred-short": lambda x: np.zeros(len(x) - 1, np.float32),
    "test-pred-strings": lambda x: np.array(["a"] * len(x)),
    "test-pred-ragged": lambda x: [[1.0], [1.0, 2.0]] * (len(x) // 2),
    "test-pred-scalar": lambda x: 0.5,
    # Right shape, not real numbers (issue 20): NumPy counts timedelta64 as an integer type.
    "test-pred-timedelta": lambda x: np.zeros(len(x), "m8[s]"),
    "test-pred-datetime": lambda x: np.zeros(len(x), "M8[s]"),
    "test-pred-complex": lambda x: np.zeros(len(x), np.complex64),
}
EXITS = {
    "test-sysexit": lambda x: sys.exit(3),
    "test-osexit": lambda x: os._exit(7),
}
BAD_LOSS = {"test-loss-none": lambda x: None, "test-loss-text": lambda x: "low",
            "test-loss-numeric-text": lambda x: "0.5",
            "test-loss-timedelta": lambda x: np.timedelta64(1)}


def _interrupt(x):
    raise KeyboardInterrupt("raised by the model")


# Run only in worker processes (in-process, a model's KeyboardInterrupt is Ctrl-C's).
INTERRUPTS = {"test-interrupt": _interrupt}

for name, fn in BAD_PREDICTIONS.items():
    register_model(name)(_model(predict=fn))
for name, fn in EXITS.items():
    register_model(name)(_model(train=fn))
for name, fn in BAD_LOSS.items():
    register_model(name)(_model(train=fn))
for name, fn in INTERRUPTS.items():
    register_model(name)(_model(train=fn))


class _BadAdding(AddingProblem):
    def generate(self, n, length, rng):
        x, y = super().generate(n, length, rng)
        return self.spoil(x, y)


BAD_TASKS = {
    "test-task-y-shape": lambda x, y: (x, y[:, None].repeat(2, 1)),
    "test-task-x-nan": lambda x, y: (x * np.nan, y),
    "test-task-none": lambda x, y: None,
    "test-task-x-2d": lambda x, y: (x[:, :, 0], y),
    "test-task-int-y": lambda x, y: (x, y.astype(np.int64)),
    "test-task-short": lambda x, y: (x[:-1], y[:-1]),
}
for name, fn in BAD_TASKS.items():
    register_task(name)(type(name, (_BadAdding,), {"spoil": staticmethod(fn)}))

NAMES = (*BAD_PREDICTIONS, *EXITS, *BAD_LOSS, *INTERRUPTS)
TASK_NAMES = tuple(BAD_TASKS)


def unregister() -> None:
    for name in NAMES:
        models.unregister(name)
    for name in TASK_NAMES:
        tasks.unregister(name)
