"""The one train/evaluate loop: `run_cell(SweepCell) -> CellResult`.

A cell trains one model on freshly generated data (tasks are infinite) in chunks, scores it after
each chunk on a held-out set drawn from a separate seed stream, and stops when held-out accuracy
reaches the solve threshold or the budget of training sequences is spent. A task with a rule of
its own (the 1997 paper's: `Task.solve_rule`) is judged instead by that rule on every training
sequence's output from before the update that used it, and then tested on the paper's fresh test
set. How a chunk reaches the model (whole, or in mini-batches of one length) is rnnbench.feeding's.
A NaN loss ends the cell as diverged and an exception ends it as error; neither escapes, so one
bad cell never stops a sweep.

Before training, each cell also measures how fast the error signal decays through time in the
untrained model (`grad_ratio_init`, see rnnbench.gradients), on a small batch of its own stream.
`rnnbench gradients` reuses `make_task`, `make_model` and `train_model`: one training loop.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from rnnbench.backends import select_backend
from rnnbench.diagnostics import first_to_last_ratio
from rnnbench.errors import UserError
from rnnbench.feeding import chunk_lengths, predict_all, probabilities, train_chunk
from rnnbench.models.base import (
    Model,
    ModelFactory,
    hparam_refusal,
    named_hparams,
    per_step_refusal,
)
from rnnbench.registry import models, tasks
from rnnbench.schema import CellResult, SweepCell
from rnnbench.tasks.base import Task, mask_args
from rnnbench.tasks.rules import OnlineRule, PeriodicTestRule, RuleTracker
from rnnbench.validation import check_mask, check_predictions, check_score, check_task_output

GRAD_RATIO_BATCH = 32  # sequences in the batch that measures grad_ratio_init
JUDGE_BLOCK = 1000  # test sequences judged at a time

# Independent random streams of one cell, all derived from its seed (see `_rng`). A
# `PeriodicTestRule`'s fixed stopping test set (Exp. 3's 256 sequences) has a stream of its own,
# so the paper's "additional test set" of 2,560 (EVAL_STREAM) is drawn apart from it.
TRAIN_STREAM, EVAL_STREAM, GRADIENT_STREAM, RULE_TEST_STREAM = 0, 1, 2, 3


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


def make_task(cell: SweepCell) -> Task:
    """The cell's task, with its length checked."""
    task: Task = tasks.get(cell.task)()
    task.check_length(cell.length)
    task.start_trial(cell.seed)
    return task


def make_model(cell: SweepCell, task: Task) -> Model:
    """The cell's untrained model, built by its factory from the cell's hyper-parameters.

    A factory takes the hyper-parameters it names; one that cannot take a non-default optimizer
    the cell asks for is refused, rather than trained with another optimizer than the row says,
    and so is a model that reads out only at the last step for a task scored at every step.
    """
    factory: ModelFactory = models.get(cell.model)
    settings = dataclasses.asdict(cell)
    refusal = hparam_refusal(cell.model, factory, settings) or per_step_refusal(
        cell.model, factory, task)
    if refusal is not None:
        raise UserError(refusal)
    return factory(task, cell.units, cell.seed, **named_hparams(factory, cell.hparams(), settings))


def gradient_batch(cell: SweepCell, task: Task, n: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` sequences for gradient measurements, from the cell's own stream (not train or eval).

    For a task whose sequences vary in length, the largest group of one length among the `n`,
    cut to that length (a gradient per step needs the steps to line up; per-step targets are
    cut with them).
    """
    rng = _rng(cell.seed, GRADIENT_STREAM)
    x, y = check_task_output(task, task.generate(n, cell.length, rng), n)
    lengths = chunk_lengths(task, x)
    if lengths is None:
        return x, y
    values, counts = np.unique(lengths, return_counts=True)
    common = int(values[np.argmax(counts)])
    keep = lengths == common
    y = np.asarray(y)[keep]
    return x[keep, :common], y[:, :common] if per_step(task) else y


def per_step(task: Task) -> bool:
    """Whether `task` is scored at every step (its targets and outputs are per step)."""
    return getattr(task, "steps_scored", "last") == "every"


def scored_steps(task: Task, x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """The task's mask of scored steps (n, steps), checked; None for a last-step task."""
    if not per_step(task):
        return None
    return check_mask(task, task.score_mask(x, y), np.asarray(y), x.shape)


def _train(cell: SweepCell, result: CellResult) -> None:
    select_backend(cell.backend)  # before any Keras import in this process; raises on a clash
    task = make_task(cell)
    result.chance_accuracy = check_score(task.chance_accuracy(cell.length), "chance_accuracy")
    chance_loss = task.chance_loss(cell.length)
    result.chance_loss = math.nan if chance_loss is None else float(chance_loss)
    model = make_model(cell, task)
    x_grad, y_grad = gradient_batch(cell, task, GRAD_RATIO_BATCH)
    result.grad_ratio_init = first_to_last_ratio(
        model, x_grad, y_grad, scored_steps(task, x_grad, y_grad))
    train_model(cell, task, model, result)


def train_model(cell: SweepCell, task: Task, model: Model, result: CellResult) -> Model:
    """The training loop: train `model` in chunks until solved or out of budget; return it.

    A task with its own solve rule (`Task.solve_rule`, such as the 1997 paper's ST3) is judged by
    that rule on its training outputs, then tested on a fresh test set; any other task by held-out
    accuracy after every chunk. Fills `result` (accuracy, sequences, updates, loss, status) as it
    goes.
    """
    result.num_params = int(model.num_params)
    rule = task.solve_rule(cell.length) if cell.rule == "task" else None
    if rule is None:
        return _train_to_held_out_threshold(cell, task, model, result)
    if isinstance(rule, PeriodicTestRule):
        return _train_to_test_set_rule(cell, task, model, result, rule)
    return _train_to_paper_rule(cell, task, model, result, rule)


def _diverged(result: CellResult, loss: float) -> bool:
    result.final_loss = loss
    if math.isfinite(loss):
        return False
    result.status = "diverged"
    result.error = f"training loss became {loss} after {result.sequences_seen} sequences"
    return True


def _train_to_held_out_threshold(
    cell: SweepCell, task: Task, model: Model, result: CellResult
) -> Model:
    """Chunks of `chunk_size`; solved when held-out accuracy reaches `solve_threshold`."""
    result.solve_rule = f"held-out>={cell.solve_threshold:g}"
    n_eval = cell.eval_size
    x_eval, y_eval = check_task_output(
        task, task.generate(n_eval, cell.length, _rng(cell.seed, EVAL_STREAM)), n_eval)
    y_eval = task.criterion_target(x_eval, y_eval)  # noise-free, for a task with noisy targets
    eval_lengths = chunk_lengths(task, x_eval)
    eval_mask = scored_steps(task, x_eval, y_eval)
    train_rng = _rng(cell.seed, TRAIN_STREAM)

    while result.sequences_seen < cell.max_sequences:
        n = min(cell.chunk_size, cell.max_sequences - result.sequences_seen)
        x, y = check_task_output(task, task.generate(n, cell.length, train_rng), n)
        trained = train_chunk(model, x, y, chunk_lengths(task, x), cell.batch_size, False,
                              scored_steps(task, x, y))
        result.sequences_seen += n
        result.updates_seen += int(trained.update[-1])
        if _diverged(result, trained.loss):
            return model
        predictions = check_predictions(
            task, predict_all(model, x_eval, eval_lengths, per_step=per_step(task)), n_eval,
            cell.model)
        accuracy = check_score(
            held_out_accuracy(task, model, y_eval, predictions, eval_mask), "accuracy")
        result.accuracy = accuracy
        result.best_accuracy = max(accuracy, float(np.nan_to_num(result.best_accuracy, nan=-1.0)))
        if accuracy >= cell.solve_threshold:
            result.sequences_to_solve = result.sequences_seen
            result.updates_to_solve = result.updates_seen
            return model
    return model


def held_out_accuracy(
    task: Task, model: Model, y_true: np.ndarray, y_pred: np.ndarray,
    mask: np.ndarray | None = None,
) -> float:
    """The task's `accuracy` of the model's outputs, read as the criterion reads them
    (`probabilities`), over the scored steps `mask` of a per-step task: the one scoring path, so
    a 1997 task's "all outputs within 0.25" means the same under the held-out rule as under the
    paper's."""
    return float(task.accuracy(y_true, probabilities(task, model, y_pred), *mask_args(mask)))


def _train_to_paper_rule(
    cell: SweepCell, task: Task, model: Model, result: CellResult, rule: OnlineRule
) -> Model:
    """Train until the task's own rule is met on the training outputs, then test.

    The rule judges each training sequence by the output it got before the update that used it,
    so the sequence at which it is met is known exactly, whatever the chunks. Chunks are sized
    from the first sequence at which the rule could be met (`RuleTracker.earliest_solve`), so
    training stops soon after it: online within `min_chunk` sequences (1% of the rule's window,
    a floor that keeps a plateau just above the rule's error threshold from running one
    sequence a call), in mini-batches within a chunk of whole batches, and for a model fed
    mini-batches of one length each (a variable-length task) within 16 batches, so the length
    groups stay near `batch_size` (updates_* count the updates made). After stopping (solved or
    out of budget), a fresh test set of `rule.test_size` sequences from the cell's evaluation
    stream gives `test_wrong` and the cell's accuracy.
    """
    result.solve_rule = rule.name
    tracker = RuleTracker(rule)
    train_rng = _rng(cell.seed, TRAIN_STREAM)
    batch = cell.batch_size
    grouped = task.variable_length and batch > 1 and not getattr(model, "accepts_lengths", False)
    min_chunk = max(batch * (16 if grouped else 1), rule.window // 100)
    while result.sequences_seen < cell.max_sequences and tracker.solved_at is None:
        budget = cell.max_sequences - result.sequences_seen
        until_possible = max(min_chunk, tracker.earliest_solve() - result.sequences_seen)
        n = min(cell.chunk_size, budget, -(-until_possible // batch) * batch)  # whole batches
        x, y = check_task_output(task, task.generate(n, cell.length, train_rng), n)
        mask = scored_steps(task, x, y)
        trained = train_chunk(model, x, y, chunk_lengths(task, x), batch, True, mask)
        ordered_y = np.asarray(y)[trained.order]
        ordered_mask = None if mask is None else mask[trained.order]
        checked = check_predictions(task, trained.outputs, n, cell.model)
        outputs = probabilities(task, model, checked)
        before = tracker.sequences
        tracker.feed(task.errors(ordered_y, outputs, *mask_args(ordered_mask)),
                     task.correct(ordered_y, outputs, *mask_args(ordered_mask)))
        result.sequences_seen += n
        if tracker.solved_at is not None:
            result.sequences_to_solve = tracker.solved_at
            result.updates_to_solve = result.updates_seen + int(
                trained.update[tracker.solved_at - before - 1]
            )
        result.updates_seen += int(trained.update[-1])
        if tracker.error_level_at is not None and result.sequences_to_error_level is None:
            result.sequences_to_error_level = tracker.error_level_at
        result.longest_correct_run = tracker.longest_correct_run
        if _diverged(result, trained.loss):
            return model

    _final_test(cell, task, model, result, rule.test_size)
    return model


def _judge(
    cell: SweepCell, task: Task, model: Model, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(absolute errors (n,), correct (n,) bool) of the model on test sequences x, y, judged
    against the task's criterion targets; in blocks of JUDGE_BLOCK sequences, so per-step
    outputs of a large test set (Exp. 2a: 10,000 x 100 steps x 101 units) never sit in memory
    at once."""
    errors, correct = [], []
    for a in range(0, len(x), JUDGE_BLOCK):
        xb, yb = x[a : a + JUDGE_BLOCK], np.asarray(y)[a : a + JUDGE_BLOCK]
        outputs = predict_all(model, xb, chunk_lengths(task, xb), per_step=per_step(task))
        judged = probabilities(task, model, check_predictions(task, outputs, len(xb), cell.model))
        target = task.criterion_target(xb, yb)
        mask = scored_steps(task, xb, target)
        errors.append(np.asarray(task.errors(target, judged, *mask_args(mask))))
        correct.append(np.asarray(task.correct(target, judged, *mask_args(mask)), bool))
    return np.concatenate(errors), np.concatenate(correct)


def _final_test(cell: SweepCell, task: Task, model: Model, result: CellResult, n: int) -> None:
    """The paper's fresh test set after stopping: `n` sequences of the evaluation stream."""
    x_test, y_test = check_task_output(
        task, task.generate(n, cell.length, _rng(cell.seed, EVAL_STREAM)), n)
    wrong = int(np.count_nonzero(~_judge(cell, task, model, x_test, y_test)[1]))
    result.test_wrong, result.test_size = wrong, int(n)
    result.accuracy = result.best_accuracy = 1.0 - wrong / n


def _train_to_test_set_rule(
    cell: SweepCell, task: Task, model: Model, result: CellResult, rule: PeriodicTestRule
) -> Model:
    """Train until the rule holds on a fixed test set, checked every `rule.check_every`
    sequences; then the paper's fresh test set of `rule.final_test_size`.

    The stopping test set (`rule.test_size` sequences, Exp. 3: 256) is drawn once per cell from
    its own stream, as the paper's "randomly chosen test set", and is never trained on (or is
    the task's own fixed set, `Task.fixed_test_set`, as the embedded Reber grammar's). Chunks
    are one check interval each (`chunk_size` does not apply), so checks fall on multiples of
    `check_every` training sequences (and at the budget's end). A weaker `rule.milestone`
    (ST1 beside ST2) is checked at the same points and its first count recorded.
    """
    result.solve_rule = rule.name
    n_rule = rule.test_size
    fixed = task.fixed_test_set()
    if fixed is None:
        fixed = task.generate(n_rule, cell.length, _rng(cell.seed, RULE_TEST_STREAM))
    x_rule, y_rule = check_task_output(task, fixed, n_rule)
    train_rng = _rng(cell.seed, TRAIN_STREAM)
    step = rule.check_every
    while result.sequences_seen < cell.max_sequences:
        n = min(step, cell.max_sequences - result.sequences_seen)  # one check interval
        x, y = check_task_output(task, task.generate(n, cell.length, train_rng), n)
        trained = train_chunk(model, x, y, chunk_lengths(task, x), cell.batch_size, False,
                              scored_steps(task, x, y))
        result.sequences_seen += n
        result.updates_seen += int(trained.update[-1])
        if _diverged(result, trained.loss):
            return model
        errors, correct = _judge(cell, task, model, x_rule, y_rule)
        milestone = rule.milestone
        if milestone and result.sequences_to_milestone is None and milestone.met(errors, correct):
            result.sequences_to_milestone = result.sequences_seen
        if rule.met(errors, correct):
            result.sequences_to_solve = result.sequences_seen
            result.updates_to_solve = result.updates_seen
            break
    if rule.final_test_size is not None:
        _final_test(cell, task, model, result, rule.final_test_size)
    elif result.sequences_seen:  # no further test: the last check's count stands
        wrong = int(np.count_nonzero(~correct))
        result.test_wrong, result.test_size = wrong, n_rule
        result.accuracy = result.best_accuracy = 1.0 - wrong / n_rule
    return model
