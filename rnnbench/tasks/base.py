"""The Task contract: a synthetic sequence task with a dependency-length knob.

A task generates as many fresh sequences as asked (tasks are infinite), from the `rng` passed in
and nothing else, and knows how to score predictions and what a memoryless predictor scores.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

import numpy as np

from rnnbench.errors import UserError
from rnnbench.registry import RegistryError, tasks

KINDS = ("regression", "classification")
# Hochreiter & Schmidhuber (1997): a sequence counts as right if |error| < 0.04.
REGRESSION_TOLERANCE = 0.04


class Task:
    """Base class of every task; subclass it and decorate with `@rnnbench.register_task`.

    Class attributes a task sets:
      kind: "regression" (target float32 (n,), loss MSE) or "classification"
            (target int (n,) class labels, loss cross-entropy)
      input_dim: features per time step
      output_dim: 1 for regression, the number of classes for classification
      description: one line for `rnnbench list`
      min_length: the smallest dependency length the task can generate
    """

    name: ClassVar[str] = ""
    kind: ClassVar[Literal["regression", "classification"]] = "regression"
    input_dim: ClassVar[int] = 1
    output_dim: ClassVar[int] = 1
    description: ClassVar[str] = ""
    min_length: ClassVar[int] = 1

    def generate(self, n: int, length: int, rng: np.random.Generator):
        """Return `x` float32 (n, steps, input_dim) and `y` (float32 or int (n,))."""
        raise NotImplementedError

    @property
    def loss(self) -> str:
        return "mse" if self.kind == "regression" else "cross-entropy"

    def check_length(self, length: int) -> None:
        """Raise ValueError (rnnbench's UserError) naming the bad length and the allowed range."""
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)):
            raise UserError(f"length for task {self.name!r} must be an integer, got {length!r}")
        if length < self.min_length:
            raise UserError(
                f"length {length} is below task {self.name!r}'s minimum; "
                f"allowed: integers >= {self.min_length}"
            )

    def accuracy(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        """Fraction of sequences predicted right: |error| < 0.04, or argmax equal to the label."""
        y_true = np.asarray(y_true)
        y_pred = np.asarray(y_pred)
        if self.kind == "regression":
            y_pred = y_pred.reshape(len(y_true))
            return float(np.mean(np.abs(y_pred - y_true) < REGRESSION_TOLERANCE))
        if self.kind == "classification":
            return float(np.mean(np.argmax(y_pred, axis=-1) == y_true))
        raise ValueError(f"task {self.name!r} has kind {self.kind!r}; allowed: {', '.join(KINDS)}")

    def chance_accuracy(self, length: int) -> float:
        """What a memoryless predictor scores; for classification, uniform guessing (1/K)."""
        if self.kind == "classification":
            return 1.0 / self.output_dim
        raise NotImplementedError(
            f"task {self.name!r} is a regression task and must define chance_accuracy()"
        )

    def __repr__(self) -> str:
        return f"<Task {self.name!r} ({self.kind})>"


def register_task(name: str) -> Callable[[type], type]:
    """Class decorator: register a `Task` subclass under `name`.

    Args:
        name: the task's name in studies, on the command line and in result rows; it becomes
            the class's `name` attribute.

    Returns:
        A decorator that registers the class and returns it unchanged.

    Raises:
        RegistryError: the class is not a subclass of `rnnbench.Task`, or the name is taken.
    """

    def decorate(cls: type) -> type:
        if not (isinstance(cls, type) and issubclass(cls, Task)):
            raise RegistryError(f"register_task({name!r}) needs a subclass of rnnbench.Task")
        cls.name = name
        return tasks.register(name, cls)

    return decorate
