"""The Task contract: a synthetic sequence task with a dependency-length knob.

A task generates as many fresh sequences as asked (tasks are infinite), from the `rng` passed in
and nothing else, and knows how to score predictions and what a memoryless predictor scores.
A task that reproduces a paper's experiment also carries the paper's numbers (`reference`) and
its stopping rule (`solve_rule`), so a measured figure is put beside a published one measured the
same way.

Which steps are scored (docs/design.md, "Per-step outputs"): a task with `steps_scored = "last"`
(the default) has one target per sequence, read at its last real step; one with "every" has a
target at every step, and `score_mask(x, y)` says which steps carry loss (by default every real
step). One scoring path serves both: the harness turns a model's outputs into what the criterion
reads (class probabilities, or values) and asks the task for `errors` (the largest absolute error
of a sequence's scored outputs: what a paper's online rule averages), `correct` (its per-sequence
criterion) and `accuracy` (the row's number: by default the share of sequences `correct`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal, TypeVar

import numpy as np

from rnnbench.errors import UserError
from rnnbench.registry import RegistryError, tasks
from rnnbench.tasks.reference import PaperReference
from rnnbench.tasks.rules import OnlineRule, PeriodicTestRule

KINDS = ("regression", "classification")
TaskClassT = TypeVar("TaskClassT", bound=type)
# Hochreiter & Schmidhuber (1997, Sec. 5.4): a sequence counts as right if |error| < 0.04.
REGRESSION_TOLERANCE = 0.04


class Task:
    """Base class of every task; subclass it and decorate with `@rnnbench.register_task`.

    A subclass sets the class attributes and writes `generate`; a regression task also writes
    `chance_accuracy`. Every task is a `TaskSpec` for the model factories.

    Attributes:
        name: Set by `register_task` to the registered name.
        kind: "regression" (loss MSE) or "classification" (loss cross-entropy); the targets'
            shapes are `generate`'s.
        steps_scored: "last" (one target per sequence, at its last real step) or "every" (a
            target per step; `score_mask` says which steps carry loss).
        input_dim: Features per time step.
        output_dim: 1 for regression, the number of classes for classification.
        description: One line for `rnnbench list`.
        min_length: The smallest dependency length the task can generate.
        allowed_lengths: The only lengths the task can generate, or None for any length
            >= `min_length` (a task with fixed positions, such as temporal order, allows one).
        variable_length: True if the sequences of one call vary in length. Such a task returns
            `x` right-padded with all-zero steps to the longest sequence of the call, and the last
            real step of every sequence has a nonzero input, so `sequence_lengths` can find it.
        tolerance: Regression: a sequence is correct when |error| < tolerance. A classification
            task judged by the paper's "all output units within tolerance" criterion uses it too.
        reference: The published results this task reproduces, as data, or None.
        in_default_study: True if a study that names no tasks runs this one. A paper's task,
            with the paper's lengths and budgets of millions of sequences, sets False and runs
            only when named.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[Literal["regression", "classification"]] = "regression"
    steps_scored: ClassVar[Literal["last", "every"]] = "last"
    input_dim: ClassVar[int] = 1
    output_dim: ClassVar[int] = 1
    description: ClassVar[str] = ""
    min_length: ClassVar[int] = 1
    allowed_lengths: ClassVar[tuple[int, ...] | None] = None
    variable_length: ClassVar[bool] = False
    tolerance: ClassVar[float] = REGRESSION_TOLERANCE
    reference: ClassVar[PaperReference | None] = None
    in_default_study: ClassVar[bool] = True

    def generate(
        self, n: int, length: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw `n` fresh sequences at dependency length `length`.

        Args:
            n: how many sequences.
            length: the dependency length (>= `min_length`; how many steps that makes is the
                task's to say).
            rng: the only source of randomness: every draw comes from it, nothing global.

        Returns:
            `x` float32 (n, steps, input_dim), and `y`. With `steps_scored = "last"`: float32
            (n,) targets for regression, int (n,) class labels for classification. With
            "every": float32 (n, steps) targets for regression; float32 (n, steps, output_dim)
            for classification, each scored row non-negative with a positive sum (one 1: a
            one-hot label; several 1s: several correct classes, e.g. a grammar's legal
            successors; cross-entropy trains against the row normalised to sum 1). A
            `variable_length` task right-pads `x` with all-zero steps to the call's longest
            sequence (and `y` alike).
        """
        raise NotImplementedError

    def score_mask(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Which steps of each sequence are scored: bool (n, steps).

        Args:
            x: A batch this task generated (n, steps, input_dim), or a slice of one.
            y: Its targets.

        Returns:
            bool (n, steps). "every": every real step (t < the sequence's length, see
            `sequence_lengths`), the loss's steps; "last": its last real step alone. A task may
            narrow it (only the answer steps, say); the loss is the mean over the True steps.
        """
        lengths = self.sequence_lengths(x)  # (n,)
        t = np.arange(x.shape[1])[None, :]  # (1, steps)
        if self.steps_scored == "every":
            return np.less(t, lengths[:, None])
        return np.equal(t, lengths[:, None] - 1)

    @property
    def loss(self) -> str:
        """The training loss of the kind: "mse" or "cross-entropy"."""
        return "mse" if self.kind == "regression" else "cross-entropy"

    def check_length(self, length: int) -> None:
        """Check that the task can generate sequences of dependency length `length`.

        Args:
            length: the dependency length asked for.

        Raises:
            ValueError (rnnbench's UserError): naming the bad length and the allowed range.
        """
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)):
            raise UserError(f"length for task {self.name!r} must be an integer, got {length!r}")
        if self.allowed_lengths is not None and length not in self.allowed_lengths:
            allowed = ", ".join(str(v) for v in self.allowed_lengths)
            raise UserError(
                f"length {length} is not one task {self.name!r} can generate; allowed: {allowed}"
            )
        if length < self.min_length:
            raise UserError(
                f"length {length} is below the minimum of task {self.name!r}; "
                f"allowed: integers >= {self.min_length}"
            )

    def sequence_lengths(self, x: np.ndarray) -> np.ndarray:
        """The real length of each sequence of a batch `x` (n, steps, input_dim).

        Args:
            x: A batch this task generated (or a slice of one along axis 0).

        Returns:
            int64 (n,): `steps` for every sequence of a fixed-length task; for a variable-length
            task, the index of the last step with any nonzero input, plus 1 (0 for an all-zero
            sequence).
        """
        n, steps = x.shape[0], x.shape[1]
        if not self.variable_length:
            return np.full(n, steps, dtype=np.int64)
        nonzero = np.any(x != 0, axis=2)  # (n, steps) any input at step t
        last_from_end = np.argmax(nonzero[:, ::-1], axis=1)  # (n,) zero steps after the last real
        lengths = (steps - last_from_end).astype(np.int64)
        lengths[~nonzero.any(axis=1)] = 0
        return lengths

    def errors(
        self, y_true: np.ndarray, y_prob: np.ndarray, mask: np.ndarray | None = None
    ) -> np.ndarray:
        """Per-sequence absolute error: the largest over its scored outputs.

        Args:
            y_true: Targets, shaped as `generate` gives them.
            y_prob: Outputs as the criterion reads them: values, or class probabilities (the
                harness softmaxes logits first; outputs that already are probabilities pass as
                they are). Last step: (n,) or (n, 1) values, (n, K) probabilities. Every step:
                (n, steps) or (n, steps, 1) values, (n, steps, K) probabilities.
            mask: Every step only: bool (n, steps), the scored steps (`score_mask`); None for
                all of them.

        Returns:
            float64 (n,): |y_prob - y_true| for regression; for classification the largest
            absolute error over the output units, max_k |p_k - target_k| (target: the one-hot
            label, or a per-step target row as given). Every step: the largest over the
            scored steps (0 for a sequence with none).
        """
        y_true = np.asarray(y_true)
        y_prob = np.asarray(y_prob, dtype=np.float64)
        n = len(y_true)
        if self.kind not in KINDS:
            raise ValueError(
                f"task {self.name!r} has kind {self.kind!r}; allowed: {', '.join(KINDS)}")
        if self.steps_scored == "every":
            target = y_true.astype(np.float64)
            if self.kind == "regression":
                per_step = np.abs(y_prob.reshape(target.shape) - target)  # (n, steps)
            else:
                per_step = np.max(np.abs(y_prob - target), axis=2)  # (n, steps)
            if mask is not None:
                per_step = np.where(mask, per_step, 0.0)
            return per_step.max(axis=1) if per_step.shape[1] else np.zeros(n)
        if self.kind == "regression":
            return np.abs(y_prob.reshape(n) - y_true.astype(np.float64))
        onehot = np.zeros_like(y_prob)  # (n, K)
        onehot[np.arange(n), y_true.astype(np.int64)] = 1.0
        return np.max(np.abs(y_prob - onehot), axis=1)

    def correct(
        self, y_true: np.ndarray, y_prob: np.ndarray, mask: np.ndarray | None = None
    ) -> np.ndarray:
        """The task's per-sequence criterion: which sequences count as processed correctly.

        Args:
            y_true, y_prob, mask: as for `errors`.

        Returns:
            bool (n,). Default: |error| < `tolerance` (regression) or the most probable class
            is a correct one (classification: the label; every step: a class whose target is
            positive), at the last step or at every scored step. Tasks judged by another rule
            (a paper's) override it.
        """
        if self.kind == "regression":
            return self.errors(y_true, y_prob, *mask_args(mask)) < self.tolerance
        if self.kind != "classification":
            raise ValueError(
                f"task {self.name!r} has kind {self.kind!r}; allowed: {', '.join(KINDS)}")
        y_prob = np.asarray(y_prob)
        if self.steps_scored != "every":
            return np.equal(np.argmax(y_prob, axis=-1), np.asarray(y_true))
        guess = np.argmax(y_prob, axis=-1)  # (n, steps)
        right = np.take_along_axis(np.asarray(y_true), guess[..., None], axis=2)[..., 0] > 0
        if mask is not None:
            right = right | ~np.asarray(mask, dtype=bool)  # unscored steps do not count
        return np.all(right, axis=1)

    def accuracy(
        self, y_true: np.ndarray, y_prob: np.ndarray, mask: np.ndarray | None = None
    ) -> float:
        """The accuracy a result row reports: by default the share of sequences `correct`.

        Args:
            y_true, y_prob, mask: as for `errors` (outputs as probabilities or values).

        Returns:
            A fraction in [0, 1]. A task whose unit is not the sequence overrides it (copy
            memory: the share of recalled symbols right); its `chance_accuracy` is in the same
            unit.
        """
        right = self.correct(y_true, y_prob, *mask_args(mask))
        return float(np.mean(np.asarray(right, dtype=bool)))

    def chance_loss(self, length: int) -> float | None:
        """The training loss of the best memoryless predictor, where the task states one.

        Args:
            length: the dependency length.

        Returns:
            The loss (per scored step, in the task's loss), or None: the task states none.
        """
        return None

    def chance_accuracy(self, length: int) -> float:
        """What a memoryless predictor scores; a regression task must override this.

        Args:
            length: the dependency length.

        Returns:
            The accuracy of the best predictor that ignores the sequence's content; for
            classification, uniform guessing (1 / classes).
        """
        if self.kind == "classification":
            return 1.0 / self.output_dim
        raise NotImplementedError(
            f"task {self.name!r} is a regression task and must define chance_accuracy()"
        )

    def solve_rule(self, length: int) -> OnlineRule | PeriodicTestRule | None:
        """The paper's rule for when training stops.

        Args:
            length: The dependency length of the run.

        Returns:
            An `OnlineRule` (judged on training sequences before their updates), a
            `PeriodicTestRule` (judged on a fixed test set every so many sequences), or None: the
            harness's own rule (accuracy on held-out sequences reaching its threshold) applies.
        """
        return None

    def start_trial(self, seed: int) -> None:
        """Called once per cell, before any `generate`, with the cell's seed.

        A task whose trials each have fixed data (the embedded Reber grammar's 256 training and
        256 test strings) chooses or draws it here, from streams of its own; the default does
        nothing.
        """

    def fixed_test_set(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The trial's fixed set a `PeriodicTestRule` judges, or None (the default): the
        harness draws the rule's test set with `generate` from a stream of its own."""
        return None

    def criterion_target(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The targets the task's criterion judges outputs against, for sequences `x`, `y`.

        `y` itself, except for a task that trains on noisy targets and judges against the
        noise-free ones (Exp. 3c of the 1997 paper: "absolute difference between output and
        noise-free target"), which recovers them from `x`.

        Args:
            x: A batch this task generated.
            y: Its targets, as `generate` returned them.

        Returns:
            Targets shaped as `y`.
        """
        return y

    def __repr__(self) -> str:
        return f"<Task {self.name!r} ({self.kind})>"


def mask_args(mask: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """The mask as an extra argument, or none for a last-step task: a subclass written before
    masks overrides `errors` or `correct` with two arguments, and still works."""
    return () if mask is None else (mask,)


def register_task(name: str) -> Callable[[TaskClassT], TaskClassT]:
    """Class decorator: register a `Task` subclass under `name`.

    Args:
        name: the task's name in studies, on the command line and in result rows; it becomes
            the class's `name` attribute.

    Returns:
        A decorator that registers the class and returns it unchanged.

    Raises:
        RegistryError: the class is not a subclass of `rnnbench.Task`, or the name is taken.
    """

    def decorate(cls: TaskClassT) -> TaskClassT:
        if not (isinstance(cls, type) and issubclass(cls, Task)):
            raise RegistryError(f"register_task({name!r}) needs a subclass of rnnbench.Task")
        cls.name = name
        return tasks.register(name, cls)

    return decorate
