"""The words every layer speaks: one cell's config, what it measured, the CSV's columns, labels.

This is near the bottom of rnnbench's layers (see docs/design.md): it imports nothing of rnnbench
but the backend default and the settings table (rnnbench.settings), so the harness, the CSV log,
the study, the report and the progress lines all take their cell and result types, their columns
and their model labels from here.
"""

from __future__ import annotations

import math
import typing
from dataclasses import asdict, dataclass, fields
from typing import Any

from rnnbench.backends import DEFAULT_BACKEND
from rnnbench.settings import (
    ALWAYS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_EVAL_SIZE,
    DEFAULT_LEARNING_RATE,
    DEFAULT_MAX_SEQUENCES,
    DEFAULT_OPTIMIZER,
    DEFAULT_RULE,
    DEFAULT_SOLVE_THRESHOLD,
    DEFAULT_UNITS,
    HPARAMS,
    OPTIMIZERS,
    RULES,
)

# The defaults come from the settings table (rnnbench.settings), where each is written once.
__all__ = ["CELL_COLUMNS", "COLUMNS", "DEFAULT_BATCH_SIZE", "DEFAULT_CHUNK_SIZE",
           "DEFAULT_EVAL_SIZE", "DEFAULT_LEARNING_RATE", "DEFAULT_MAX_SEQUENCES",
           "DEFAULT_OPTIMIZER", "DEFAULT_SOLVE_THRESHOLD", "DEFAULT_UNITS", "OPTIMIZERS",
           "RESULT_COLUMNS", "RULES",
           "CellResult", "SweepCell", "model_label", "result_row"]


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
    rule: str = DEFAULT_RULE  # one of RULES

    def hparams(self) -> dict[str, Any]:
        """The hyper-parameters offered to the model factory (it takes the ones it names): the
        settings the table marks as such (rnnbench.settings, `Setting.hparam`), but a
        forget_bias of None (the model takes none) and a WHEN_SET one at its default."""
        offered = {}
        for setting in HPARAMS:
            value = getattr(self, setting.key)
            if value is not None and (setting.hparam == ALWAYS or value != setting.default):
                offered[setting.key] = value
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
    # Under a paper's rule: the longest run of successive training sequences judged correct (how
    # near a rule of successive correct sequences came to being met: Exp. 2c asks for 10,000)
    longest_correct_run: int | None = None
    # Under a paper's rule: the first training sequence at which the running mean absolute
    # training error over the rule's window fell below the paper's error level (e.g. 0.01)
    sequences_to_error_level: int | None = None
    test_wrong: int | None = None  # under a paper's rule: wrong answers on the fresh test set
    test_size: int | None = None  # ... of this many sequences (2,560 or 10,000 in the paper)
    # Under a paper's rule with a weaker one met on the way (Exp. 3: ST1 beside ST2, both judged
    # on a fixed test set): the training sequences until the weaker one first held
    sequences_to_milestone: int | None = None


CELL_COLUMNS = [f.name for f in fields(SweepCell)]
RESULT_COLUMNS = [f.name for f in fields(CellResult)]
COLUMNS = CELL_COLUMNS + RESULT_COLUMNS


def column_dtypes() -> dict[str, str]:
    """pandas dtypes that say what each column holds: nullable integers (Int64: empty where a
    cell never solved or has no parameter count) and strings, floats for the rest."""
    kinds: dict[str, str] = {}
    for cls in (SweepCell, CellResult):
        for name, hint in typing.get_type_hints(cls).items():
            args = set(typing.get_args(hint)) or {hint}
            if str in args:
                kinds[name] = "string"
            elif int in args and float not in args:
                kinds[name] = "Int64"
            else:
                kinds[name] = "float64"
    return kinds


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
