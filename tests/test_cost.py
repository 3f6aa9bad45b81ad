"""The cost model orders cells longest first and its ETA follows the cost left, not the count."""

from __future__ import annotations

from rnnbench.cost import CostModel, Eta, most_expensive_first
from rnnbench.schema import CellResult, SweepCell
from rnnbench.study import StudySpec


def cell(model: str, length: int, seed: int = 0, budget: int = 1000) -> SweepCell:
    return SweepCell(task="delayed-recall", model=model, length=length, seed=seed,
                     max_sequences=budget)


def test_long_lstm_cells_run_first_and_the_order_keeps_every_cell():
    cells = StudySpec.teaching().cells()
    ordered = most_expensive_first(cells)
    assert sorted(map(repr, ordered)) == sorted(map(repr, cells))
    first, last = ordered[0], ordered[-1]
    assert first.length == max(c.length for c in cells if c.task == first.task)
    assert first.model in ("keras-lstm", "numpy-lstm")
    assert last.model == "numpy-rnn" and last.length == min(c.length for c in cells)


def test_rates_are_learned_per_model_and_early_stops_lower_the_estimate():
    model = CostModel()
    prior = model.estimate(cell("numpy-rnn", 20))
    model.learn(cell("numpy-rnn", 20), CellResult(wall_seconds=10.3, sequences_seen=1000))
    assert model.estimate(cell("numpy-rnn", 20, seed=1)) > 5 * prior  # the machine is slower
    assert abs(model.estimate(cell("numpy-rnn", 20, seed=1)) - 10.3) < 0.01
    # a model not seen yet is scaled as the others ran
    assert model.estimate(cell("keras-lstm", 20)) > 4 * model.estimate(cell("numpy-rnn", 20))
    # solved after half its budget: the other seeds of that length are expected to do the same
    model.learn(cell("numpy-rnn", 10), CellResult(wall_seconds=3.0, sequences_seen=500))
    assert model.budget_share(cell("numpy-rnn", 10, seed=2)) == 0.5
    assert model.budget_share(cell("numpy-rnn", 5)) == 0.5  # the nearest longer length
    assert model.budget_share(cell("numpy-rnn", 50)) == 1.0


def test_eta_is_cost_left_over_throughput():
    now = [0.0]
    cells = [cell("numpy-rnn", 100), cell("numpy-rnn", 10), cell("numpy-rnn", 10, seed=1)]
    eta = Eta(cells, clock=lambda: now[0])
    assert eta.seconds_left() is None
    now[0] = 10.0
    eta.finished(cells[0], CellResult(wall_seconds=10.0, sequences_seen=1000))
    left = eta.seconds_left()
    # a cell of length 10 costs about (10 + 15) / (100 + 15) of the length-100 one: not 10 s
    assert left is not None and 3.5 < left < 6
    assert 0.6 < eta.fraction_done() < 0.8
    eta.finished(cells[1], CellResult(wall_seconds=1.0))
    eta.finished(cells[2], CellResult(wall_seconds=1.0))
    assert eta.seconds_left() == 0.0


def test_with_workers_known_the_cost_left_is_shared_out_less_what_runs_already():
    now = [0.0]
    cells = [cell("numpy-rnn", 100, seed=s) for s in range(5)]
    eta = Eta(cells, workers=2, clock=lambda: now[0])
    now[0] = 10.0
    eta.finished(cells[0], CellResult(wall_seconds=10.0, sequences_seen=1000))
    # 4 cells of about 10 s left on 2 workers; the other worker has run one for 10 s already
    assert abs(eta.seconds_left() - (40 - 10) / 2) < 0.5
