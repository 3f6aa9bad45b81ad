"""The one train/evaluate loop: `run_cell(SweepCell) -> CellResult`.

A cell trains one model on freshly generated data (tasks are infinite) in chunks, scores it after
each chunk on a held-out set drawn from a separate seed stream, and stops when held-out accuracy
reaches the solve threshold or the budget of training sequences is spent. A NaN loss ends the cell
as diverged and an exception ends it as error; neither escapes, so one bad cell never stops a sweep.

Before training, each cell also measures how fast the error signal decays through time in the
untrained model (`grad_ratio_init`, see rnnbench.gradients), on a small batch of its own stream.
`rnnbench gradients` reuses `make_task`, `make_model` and `train_model`: one training loop.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from rnnbench.backends import select_backend
from rnnbench.diagnostics import first_to_last_ratio
from rnnbench.models.base import accepted_hparams
from rnnbench.registry import models, tasks
from rnnbench.schema import CellResult, SweepCell
from rnnbench.validation import check_loss, check_predictions, check_score, check_task_output

GRAD_RATIO_BATCH = 32  # sequences in the batch that measures grad_ratio_init

# Independent random streams of one cell, all derived from its seed (see `_rng`).
TRAIN_STREAM, EVAL_STREAM, GRADIENT_STREAM = 0, 1, 2


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def run_cell(cell: SweepCell) -> CellResult:
    """Train and evaluate one cell; never raises for a model's or task's failure."""
    result = CellResult()
    started = time.perf_counter()
    try:
        _train(cell, result)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - recorded in the row (SystemExit too)
        result.status = "error"
        result.error = error_text(exc)
    result.wall_seconds = round(time.perf_counter() - started, 3)
    return result


def error_text(exc: BaseException, prefix: str = "") -> str:
    """An exception as one line for the CSV's error column: its type and message, capped."""
    message = " ".join(str(exc).split())
    return f"{prefix}{type(exc).__name__}: {message}"[:500]


def make_task(cell: SweepCell) -> Any:
    """The cell's task, with its length checked."""
    task = tasks.get(cell.task)()
    task.check_length(cell.length)
    return task


def make_model(cell: SweepCell, task: Any) -> Any:
    """The cell's untrained model, built by its factory from the cell's hyper-parameters."""
    factory = models.get(cell.model)
    return factory(task, cell.units, cell.seed, **accepted_hparams(factory, cell.hparams()))


def gradient_batch(cell: SweepCell, task: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` sequences for gradient measurements, from the cell's own stream (not train or eval)."""
    rng = _rng(cell.seed, GRADIENT_STREAM)
    return check_task_output(task, task.generate(n, cell.length, rng), n)


def _train(cell: SweepCell, result: CellResult) -> None:
    select_backend(cell.backend)  # before any Keras import in this process; raises on a clash
    task = make_task(cell)
    result.chance_accuracy = check_score(task.chance_accuracy(cell.length), "chance_accuracy")
    model = make_model(cell, task)
    x_grad, y_grad = gradient_batch(cell, task, GRAD_RATIO_BATCH)
    result.grad_ratio_init = first_to_last_ratio(model, x_grad, y_grad)
    train_model(cell, task, model, result)


def train_model(cell: SweepCell, task: Any, model: Any, result: CellResult) -> Any:
    """The training loop: train `model` in chunks until solved or out of budget; return it.

    Fills `result` (accuracy, sequences, loss, status) as it goes.
    """
    n_eval = cell.eval_size
    x_eval, y_eval = check_task_output(
        task, task.generate(n_eval, cell.length, _rng(cell.seed, EVAL_STREAM)), n_eval)
    train_rng = _rng(cell.seed, TRAIN_STREAM)
    result.num_params = int(model.num_params)

    while result.sequences_seen < cell.max_sequences:
        n = min(cell.chunk_size, cell.max_sequences - result.sequences_seen)
        x, y = check_task_output(task, task.generate(n, cell.length, train_rng), n)
        loss = check_loss(model.train(x, y))
        result.sequences_seen += n
        result.final_loss = loss
        if not math.isfinite(loss):
            result.status = "diverged"
            result.error = f"training loss became {loss} after {result.sequences_seen} sequences"
            return model
        y_pred = check_predictions(task, model.predict(x_eval), n_eval, cell.model)
        accuracy = check_score(task.accuracy(y_eval, y_pred), "accuracy")
        result.accuracy = accuracy
        result.best_accuracy = max(accuracy, float(np.nan_to_num(result.best_accuracy, nan=-1.0)))
        if accuracy >= cell.solve_threshold:
            result.sequences_to_solve = result.sequences_seen
            return model
    return model
