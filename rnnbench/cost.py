"""What a cell will cost, in seconds: for scheduling the long cells first and for an honest ETA.

A cell's work is its training budget times its sequence length: `max_sequences * (length + 2)`
sequence-steps (delayed recall adds a symbol and a cue), scaled by `(units / 32) ** 2` (the
recurrent matmuls) and by a prior weight per model measured on this project's 2-core machine
(benchmarks/README.md, step times at length 100: numpy-rnn 7.7 ms, keras-simplernn 12.6,
numpy-lstm 32.0, keras-lstm 35.2). A model's seconds per unit of work are then learned from the
cells already done (their wall seconds against the work they did: a solved cell stops early), and
so is how much of its budget a (task, model, length) uses. Nothing here needs the cells to run
in any order; results are keyed by config, so the order never changes a row.

`Eta` turns that into time left: the predicted cell-seconds still to run, divided by the rate at
which cell-seconds are being finished (which counts the workers and how busy the machine is).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence

from rnnbench.schema import DEFAULT_UNITS, CellResult, SweepCell

# Relative cost of one sequence-step, per model (numpy-rnn = 1); other models count as an LSTM.
PRIOR_WEIGHT = {"numpy-rnn": 1.0, "keras-simplernn": 1.6, "numpy-lstm": 4.2, "keras-lstm": 4.6}
DEFAULT_WEIGHT = 4.6
PRIOR_SECONDS_PER_STEP = 1.5e-7  # numpy-rnn, 32 units, one sequence-step (train + evaluation)
PRIOR_OVERHEAD = 0.3  # seconds a cell costs besides training: building, gradient ratio, set-up


def work(cell: SweepCell, sequences: float | None = None) -> float:
    """Sequence-steps of a cell (its whole budget unless `sequences` is given), width-scaled."""
    seen = cell.max_sequences if sequences is None else sequences
    return float(seen) * (cell.length + 2) * (cell.units / DEFAULT_UNITS) ** 2


class CostModel:
    """Seconds per cell: a prior from the model's weight, corrected by the cells done so far."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = defaultdict(float)  # model -> wall seconds done
        self._work: dict[str, float] = defaultdict(float)  # model -> weighted work done
        self._used: dict[tuple[str, str, int], list[float]] = defaultdict(list)  # budget share

    @staticmethod
    def weight(model: str) -> float:
        return PRIOR_WEIGHT.get(model, DEFAULT_WEIGHT)

    def learn(self, cell: SweepCell, result: CellResult) -> None:
        """Take a finished cell's wall time and how much of its budget it used into account."""
        if result.status in ("crashed", "timeout") or result.wall_seconds <= 0:
            return  # says nothing about how fast the model trains
        seen = result.sequences_seen or cell.max_sequences
        self._seconds[cell.model] += max(result.wall_seconds - PRIOR_OVERHEAD, 0.0)
        self._work[cell.model] += work(cell, seen)
        self._used[(cell.task, cell.model, cell.length)].append(seen / cell.max_sequences)

    def seconds_per_step(self, model: str) -> float:
        """Learned for a model with cells done; else the prior, scaled as the other models ran."""
        if self._work.get(model):
            return self._seconds[model] / self._work[model]
        measured = [m for m, w in self._work.items() if w]
        if not measured:
            return PRIOR_SECONDS_PER_STEP * self.weight(model)
        observed = sum(self._seconds[m] for m in measured)
        expected = sum(PRIOR_SECONDS_PER_STEP * self.weight(m) * self._work[m] for m in measured)
        scale = observed / expected if expected else 1.0
        return PRIOR_SECONDS_PER_STEP * self.weight(model) * scale

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
        steps = work(cell) * self.budget_share(cell)
        return PRIOR_OVERHEAD + self.seconds_per_step(cell.model) * steps


def most_expensive_first(cells: Iterable[SweepCell]) -> list[SweepCell]:
    """The cells ordered by prior cost, longest first, so the last cells to finish are short
    (stable: equal costs keep their order)."""
    model = CostModel()
    return sorted(cells, key=model.estimate, reverse=True)


class Eta:
    """Time left in a sweep, from the predicted cost of the cells not yet done."""

    def __init__(self, cells: Sequence[SweepCell], clock=time.monotonic) -> None:
        self.cost = CostModel()
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
        """None until a cell has finished; then predicted cost left / cell-seconds per second."""
        if not self.left:
            return 0.0
        elapsed = self.clock() - self.started
        if self.done_seconds <= 0 or elapsed <= 0:
            return None
        throughput = self.done_seconds / elapsed  # about the number of busy workers
        return self.remaining_cost() / throughput
