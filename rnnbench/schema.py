"""The words every layer speaks: one cell's config, what it measured, the CSV's columns, labels.

This is the bottom of rnnbench's layers (see docs/design.md): it imports nothing of rnnbench but the
backend default, so the harness, the CSV log, the study, the report and the progress lines all
take their cell and result types, their columns and their model labels from here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from rnnbench.backends import DEFAULT_BACKEND

# One width, optimizer and batch for every built-in model, so comparisons are fair.
DEFAULT_UNITS = 32
DEFAULT_LEARNING_RATE = 3e-3
DEFAULT_BATCH_SIZE = 64
DEFAULT_OPTIMIZER = "adam"  # Adam with each variable's gradient clipped to norm 1
OPTIMIZERS = ("adam", "sgd")  # sgd: plain gradient descent, the 1997 paper's
# How a cell is judged: "task" is the task's own rule where it has one (the 1997 tasks: the
# paper's), else held-out accuracy against solve_threshold; "held-out" always the latter.
RULES = ("task", "held-out")

# A cell's budget and how it is scored.
DEFAULT_MAX_SEQUENCES = 64_000
DEFAULT_CHUNK_SIZE = 2048  # sequences per training chunk; held-out accuracy is measured after each
DEFAULT_EVAL_SIZE = 1000
DEFAULT_SOLVE_THRESHOLD = 0.95


@dataclass(frozen=True)
class SweepCell:
    """Everything that defines one training run; all of it lands in the result row."""

    task: str
    model: str
    length: int
    seed: int
    units: int = DEFAULT_UNITS
    max_sequences: int = DEFAULT_MAX_SEQUENCES
    batch_size: int = DEFAULT_BATCH_SIZE
    learning_rate: float = DEFAULT_LEARNING_RATE
    forget_bias: float | None = None  # None for models that take no forget gate bias
    chunk_size: int = DEFAULT_CHUNK_SIZE
    eval_size: int = DEFAULT_EVAL_SIZE
    solve_threshold: float = DEFAULT_SOLVE_THRESHOLD
    backend: str = DEFAULT_BACKEND  # the Keras backend (recorded for NumPy models too)
    optimizer: str = DEFAULT_OPTIMIZER  # "adam", or "sgd" (batch_size 1 and sgd: online, as 1997)
    rule: str = "task"  # one of RULES

    def hparams(self) -> dict[str, Any]:
        """The hyper-parameters offered to the model factory (it takes the ones it names).

        `optimizer` is offered only when it is not the default, so factories written before it
        existed keep working; the harness refuses a model that does not take one it is offered.
        """
        offered: dict[str, Any] = {
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
        }
        if self.forget_bias is not None:
            offered["forget_bias"] = self.forget_bias
        if self.optimizer != DEFAULT_OPTIMIZER:
            offered["optimizer"] = self.optimizer
        return offered


@dataclass
class CellResult:
    """What one cell measured; the harness fills it in as training goes."""

    accuracy: float = math.nan  # held-out (or, under a paper's rule, test) accuracy at the end
    best_accuracy: float = math.nan
    sequences_seen: int = 0
    sequences_to_solve: int | None = None  # None when the solve rule was never met
    final_loss: float = math.nan
    wall_seconds: float = 0.0
    num_params: int | None = None
    chance_accuracy: float = math.nan
    # The memoryless predictor's loss per scored step, where the task states one (copy memory:
    # 10 ln 8 / (T + 20)); held against final_loss, the training loss of the last chunk
    chance_loss: float = math.nan
    # |dLoss/dh_1| / |dLoss/dh_T| at initialisation, batch-averaged: how much of the last step's
    # error signal reaches the first step (NaN for a model without a gradient hook)
    grad_ratio_init: float = math.nan
    status: str = "ok"  # ok / diverged / error / crashed / timeout
    error: str = ""
    # How the cell was judged: "held-out>=0.95" (the harness's rule), or a task's own rule, such
    # as the 1997 paper's ST3, judged on training outputs before the update that uses them.
    solve_rule: str = ""
    updates_seen: int = 0  # optimizer updates: sequences / batch size, per length group
    updates_to_solve: int | None = None  # updates up to and including the one that solved it
    # Under a paper's rule: the first training sequence at which the running mean absolute
    # training error over the rule's window fell below the paper's error level (e.g. 0.01)
    sequences_to_error_level: int | None = None
    test_wrong: int | None = None  # under a paper's rule: wrong answers on the fresh test set
    test_size: int | None = None  # ... of this many sequences (2,560 or 10,000 in the paper)


CELL_COLUMNS = [f.name for f in fields(SweepCell)]
RESULT_COLUMNS = [f.name for f in fields(CellResult)]
COLUMNS = CELL_COLUMNS + RESULT_COLUMNS


def result_row(cell: SweepCell, result: CellResult) -> dict[str, Any]:
    """The CSV row of a cell: its whole config, then what it measured."""
    return {**asdict(cell), **asdict(result)}


def _short(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:g}" if number == number else ""


def model_label(model: str, forget_bias: Any, settings: dict[str, Any] | None = None) -> str:
    """A model's name with its forget-gate bias (LSTM variants differ) and any other settings."""
    parts = []
    try:
        fb = float(forget_bias)
    except (TypeError, ValueError):
        fb = math.nan
    if fb == fb:  # fb != fb: NaN, no forget gate
        parts.append(f"fb={fb:g}")
    for name, value in (settings or {}).items():
        parts.append(f"{name}={_short(value)}")
    return f"{model} ({', '.join(parts)})" if parts else model
