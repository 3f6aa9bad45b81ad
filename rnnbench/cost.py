"""What a cell will cost, in seconds: for scheduling the long cells first and for an honest ETA.

A cell costs an overhead plus a rate times its work, `max_sequences * (length + 15)`: a
mini-batch step costs about 15 time steps more than its length says (fitted on the teaching
study), scaled by `(units / 32) ** 2` (the recurrent matmuls). Before any cell is done, the rate
is the prior each model declares (`ModelTraits.cost_weight` and `overhead_seconds`, measured on
this project's 2-core machine: benchmarks/README.md; an undeclared model is priced as a Keras LSTM);
then each model's rate and overhead are learned from its cells already done (their wall seconds
against the work they did: a solved cell stops early), and so is how much of its budget a (task,
model, length) uses. Nothing here needs the cells to run
in any order; results are keyed by config, so the order never changes a row.

`Eta` turns that into time left: the predicted cell-seconds still to run, divided by the rate at
which cell-seconds are being finished (which counts the workers and how busy the machine is).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence

from rnnbench.errors import UserError
from rnnbench.models.base import ModelTraits, traits_of
from rnnbench.registry import models
from rnnbench.schema import DEFAULT_UNITS, CellResult, SweepCell

# One sequence-step of the reference model (numpy-rnn, 32 units: train + evaluation); a model's
# `ModelTraits.cost_weight` scales it.
PRIOR_SECONDS_PER_STEP = 1.5e-7
# A mini-batch step costs about as much as this many more time steps whatever the length
# (per-step set-up; Keras's dispatch): fitted on the teaching study's rows, lengths 5-100.
STEP_OFFSET = 15


def model_traits(model: str) -> ModelTraits:
    """A registered model's traits; the defaults for a name not registered (priced as the
    dearest built-in, never as a cheap one)."""
    try:
        return traits_of(models.get(model))
    except UserError:
        return ModelTraits()


def work(cell: SweepCell, sequences: float | None = None) -> float:
    """Sequence-steps of a cell (its whole budget unless `sequences` is given), width-scaled."""
    seen = cell.max_sequences if sequences is None else sequences
    return float(seen) * (cell.length + STEP_OFFSET) * (cell.units / DEFAULT_UNITS) ** 2


class CostModel:
    """Seconds per cell: overhead + rate x work, per model; a prior until cells are done.

    With cells of a model done, its rate is learned from their wall seconds against the work they
    did (a solved cell stops early); once three cells of clearly different work are done, its
    overhead is fitted too (least squares, kept between 0 and the shortest cell's time).
    """

    def __init__(self) -> None:
        self._done: dict[str, list[tuple[float, float]]] = defaultdict(list)  # (work, seconds)
        self._used: dict[tuple[str, str, int], list[float]] = defaultdict(list)  # budget share

    @staticmethod
    def weight(model: str) -> float:
        """The model's declared cost of a sequence-step against numpy-rnn's (or the default)."""
        return model_traits(model).cost_weight_or_default

    @staticmethod
    def prior_overhead(model: str) -> float:
        """The model's declared seconds a cell costs besides its steps (or the default)."""
        return model_traits(model).overhead_or_default

    def learn(self, cell: SweepCell, result: CellResult) -> None:
        """Take a finished cell's wall time and how much of its budget it used into account."""
        if result.status in ("crashed", "timeout") or result.wall_seconds <= 0:
            return  # says nothing about how fast the model trains
        seen = result.sequences_seen or cell.max_sequences
        self._done[cell.model].append((work(cell, seen), float(result.wall_seconds)))
        self._used[(cell.task, cell.model, cell.length)].append(seen / cell.max_sequences)

    def overhead_and_rate(self, model: str) -> tuple[float, float]:
        """(seconds per cell, seconds per unit of work) of a model."""
        done = self._done.get(model)
        if done:
            return _fit(done, self.prior_overhead(model))
        measured = [m for m, d in self._done.items() if d]
        prior = (self.prior_overhead(model), PRIOR_SECONDS_PER_STEP * self.weight(model))
        if not measured:
            return prior
        # not seen yet: the prior, scaled by how the models seen so far compare with theirs
        observed = sum(s for m in measured for _, s in self._done[m])
        expected = sum(self.prior_overhead(m) + PRIOR_SECONDS_PER_STEP * self.weight(m) * w
                       for m in measured for w, _ in self._done[m])
        scale = observed / expected if expected > 0 else 1.0
        return prior[0] * scale, prior[1] * scale

    def budget_share(self, cell: SweepCell) -> float:
        """The share of its budget a cell is expected to use (solved cells stop early).

        The mean over done cells of the same task, model and length; else over the nearest
        longer length done (a harder task, so at most an overestimate); else the whole budget.
        """
        own = self._used.get((cell.task, cell.model, cell.length))
        if own:
            return sum(own) / len(own)
        longer = sorted(n for (t, m, n) in self._used if t == cell.task and m == cell.model
                        and n > cell.length)
        if longer:
            shares = self._used[(cell.task, cell.model, longer[0])]
            return sum(shares) / len(shares)
        return 1.0

    def estimate(self, cell: SweepCell) -> float:
        """Predicted wall seconds of a cell."""
        overhead, rate = self.overhead_and_rate(cell.model)
        return overhead + rate * work(cell) * self.budget_share(cell)


def _fit(done: list[tuple[float, float]], prior_overhead: float) -> tuple[float, float]:
    """Overhead and rate from (work, seconds) pairs: least squares once the work varies enough,
    else the prior overhead and the rate of what is left."""
    works = [w for w, _ in done]
    overhead = prior_overhead
    if len(done) >= 3 and max(works) > 1.5 * min(works):
        n = len(done)
        mean_w = sum(works) / n
        mean_s = sum(s for _, s in done) / n
        var = sum((w - mean_w) ** 2 for w in works)
        slope = sum((w - mean_w) * (s - mean_s) for w, s in done) / var
        if slope > 0:
            overhead = min(max(mean_s - slope * mean_w, 0.0), min(s for _, s in done))
    overhead = min(overhead, min(s for _, s in done))
    rate = sum(max(s - overhead, 0.0) for _, s in done) / sum(works)
    return overhead, rate


def most_expensive_first(cells: Iterable[SweepCell]) -> list[SweepCell]:
    """The cells ordered by prior cost, longest first, so the last cells to finish are short
    (stable: equal costs keep their order)."""
    model = CostModel()
    return sorted(cells, key=model.estimate, reverse=True)


class Eta:
    """Time left in a sweep, from the predicted cost of the cells not yet done."""

    def __init__(self, cells: Sequence[SweepCell], workers: int | None = None,
                 clock=time.monotonic) -> None:
        self.cost = CostModel()
        self.workers = workers  # cells run side by side, if known
        self.left = list(cells)
        self.clock = clock
        self.started = clock()
        self.done_seconds = 0.0  # wall seconds of the cells done (summed over workers)

    def restart(self) -> None:
        self.started = self.clock()

    def finished(self, cell: SweepCell, result: CellResult) -> None:
        self.cost.learn(cell, result)
        if cell in self.left:
            self.left.remove(cell)
        self.done_seconds += max(result.wall_seconds, 0.0)

    def remaining_cost(self) -> float:
        """Predicted cell-seconds of the cells not done (those running are counted whole)."""
        return sum(self.cost.estimate(c) for c in self.left)

    def fraction_done(self) -> float:
        """The share of the sweep's cost done: for a bar that fills by cost, not by count."""
        left = self.remaining_cost()
        total = self.done_seconds + left
        return self.done_seconds / total if total > 0 else 1.0

    def seconds_left(self) -> float | None:
        """None until a cell has finished; then the predicted cell-seconds left, shared out.

        With the number of workers known: over those workers (or fewer, if fewer cells are
        left), less the time the cells now running have already had; the learned rates already
        hold how busy the machine is. Otherwise: over the rate at which cell-seconds finished.
        """
        if not self.left:
            return 0.0
        elapsed = self.clock() - self.started
        if self.done_seconds <= 0 or elapsed <= 0:
            return None
        if self.workers:
            lanes = min(self.workers, len(self.left))
            # worker-seconds spent so far that no finished cell accounts for: the running cells'
            running = max(elapsed * self.workers - self.done_seconds, 0.0)
            return max(self.remaining_cost() - running, 0.0) / lanes
        throughput = self.done_seconds / elapsed  # about the number of busy workers
        return self.remaining_cost() / throughput
