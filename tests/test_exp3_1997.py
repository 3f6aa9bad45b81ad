"""Exp. 3 of Hochreiter & Schmidhuber (1997), Sec. 5.3: the generators against the paper's
definitions (noise moments, lengths, classes, targets), chance by Monte Carlo, the reference data,
the paper's net, and the test-set stopping rules ST1/ST2 in the harness."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnbench.harness import run_cell
from rnnbench.models.lstm1997 import Net1997
from rnnbench.registry import models, register_model, tasks
from rnnbench.schema import SweepCell
from rnnbench.tasks.base import Task, register_task
from rnnbench.tasks.rules import PeriodicTestRule

EXP3 = {  # name: (experiment, N, noisy signal, noisy target)
    "noisy-sequence-1997": ("Exp. 3a", 3, False, False),
    "noisy-sequence-n1-1997": ("Exp. 3a", 1, False, False),
    "noisy-signal-1997": ("Exp. 3b", 3, True, False),
    "noisy-signal-n1-1997": ("Exp. 3b", 1, True, False),
    "noisy-target-1997": ("Exp. 3c", 3, False, True),
    "noisy-target-n1-1997": ("Exp. 3c", 1, False, True),
}


def make(name: str) -> Task:
    return tasks.get(name)()


def within(value: float, expected: float, standard_error: float, k: float = 4.0) -> bool:
    return abs(value - expected) < k * standard_error


@pytest.mark.parametrize("name", list(EXP3))
def test_registered_with_the_experiment_in_the_description(name):
    experiment, N, _, _ = EXP3[name]
    entry = tasks.entry(name)
    assert entry.source == "built-in"
    assert f"{experiment} of Hochreiter & Schmidhuber 1997 (Sec. 5.3)" in entry.description
    assert f"N={N}" in entry.description
    task = entry.obj()
    assert task.kind == "regression" and task.input_dim == 1 and task.output_dim == 1
    assert task.variable_length and not task.in_default_study and task.min_length == N + 1


@pytest.mark.parametrize("name", list(EXP3))
def test_generator_against_the_definition(name):
    """Classes 1/2 w.p. 1/2; the first N elements +-1 (3b: plus noise); noise of VARIANCE 0.2
    (sd 0.447) after them; lengths uniform on T..T+T/10; targets 1/0 (3c: 0.2/0.8 + noise of
    variance 0.1); zero padding."""
    from scipy import stats

    _, N, noisy_signal, noisy_target = EXP3[name]
    task, T, n = make(name), 100, 6000
    x, y = task.generate(n, T, np.random.default_rng(5))
    assert x.dtype == np.float32 and y.dtype == np.float32 and y.shape == (n,)
    lengths = task.sequence_lengths(x)
    steps = np.arange(x.shape[1])[None, :]
    real = steps < lengths[:, None]
    assert np.all(x[~real, 0] == 0.0)

    # lengths: uniform on the 11 values 100..110 (chi-square), each seen
    counts = np.bincount(lengths - T, minlength=T // 10 + 1)
    assert len(counts) == T // 10 + 1 and counts.min() > 0
    assert stats.chisquare(counts).pvalue > 1e-4

    # classes: balanced (binomial, 4 sd); the class is y's (3a, 3b) or the noise-free first
    # element's sign (3c)
    first = x[:, :N, 0]  # (n, N)
    cls1 = first[:, 0] > 0 if noisy_target else y == 1.0
    assert within(cls1.mean(), 0.5, math.sqrt(0.25 / n))
    signal = np.where(cls1, 1.0, -1.0)[:, None]
    if noisy_signal:
        resid = (first - signal).ravel()
        m = len(resid)
        assert within(resid.mean(), 0.0, math.sqrt(0.2 / m))
        assert within(resid.var(), 0.2, 0.2 * math.sqrt(2 / (m - 1)))
    else:
        assert np.array_equal(first, np.broadcast_to(signal, first.shape).astype(np.float32))

    # the noise after the first N: mean 0, variance 0.2 (not sd 0.2), Gaussian (kurtosis 3)
    noise = x[:, N:, 0][real[:, N:]].astype(np.float64)
    m = len(noise)
    assert within(noise.mean(), 0.0, math.sqrt(0.2 / m))
    assert within(noise.var(), 0.2, 0.2 * math.sqrt(2 / (m - 1)))
    assert within(stats.kurtosis(noise, fisher=False), 3.0, math.sqrt(24 / m))
    assert stats.kstest(noise / math.sqrt(0.2), "norm").pvalue > 1e-4

    # targets
    clean = task.criterion_target(x, y)
    if noisy_target:
        assert np.array_equal(clean, np.where(cls1, 0.2, 0.8).astype(np.float32))
        resid = (y - clean).astype(np.float64)
        assert within(resid.mean(), 0.0, math.sqrt(0.1 / n))
        assert within(resid.var(), 0.1, 0.1 * math.sqrt(2 / (n - 1)))
    else:
        assert np.array_equal(y, np.where(cls1, 1.0, 0.0).astype(np.float32))
        assert np.array_equal(clean, y)


def test_worked_examples():
    rng = np.random.default_rng(0)
    rng.integers(0, 2, 1), rng.integers(10, 12, 1)
    z = rng.standard_normal((1, 11))[0]  # the noise draws of every example
    e = math.sqrt(0.2) * z
    x, y = make("noisy-sequence-1997").generate(1, 10, np.random.default_rng(0))
    np.testing.assert_allclose(x[0, :, 0], [-1, -1, -1, *e[3:]], atol=1e-6)
    np.testing.assert_allclose(x[0, 3:, 0], [-0.2396, 0.1617, 0.5832, 0.4235, -0.3147, -0.5659,
                                             -0.2787, 0.0185], atol=1e-4)
    assert y.tolist() == [0.0]
    x, _ = make("noisy-sequence-n1-1997").generate(1, 10, np.random.default_rng(0))
    np.testing.assert_allclose(x[0, :3, 0], [-1, 0.2864, 0.0469], atol=1e-4)
    x, _ = make("noisy-signal-1997").generate(1, 10, np.random.default_rng(0))
    np.testing.assert_allclose(x[0, :4, 0], [-1.0591, -0.7136, -0.9531, -0.2396], atol=1e-4)
    task = make("noisy-target-1997")
    x, y = task.generate(1, 10, np.random.default_rng(0))
    np.testing.assert_allclose(y, [0.0648], atol=1e-4)
    assert task.criterion_target(x, y).tolist() == [pytest.approx(0.8)]


@pytest.mark.parametrize("name", ["noisy-sequence-1997", "noisy-signal-n1-1997",
                                  "noisy-target-1997"])
def test_chance_by_monte_carlo(name):
    """The best memoryless output: a constant (the last input is independent noise), over a
    grid of constants; and a rule reading the last input only. Neither beats 0.5."""
    task, n = make(name), 20_000
    x, y = task.generate(n, 30, np.random.default_rng(9))
    target = task.criterion_target(x, y)
    grid = np.linspace(-0.5, 1.5, 401)
    best = max(task.correct(target, np.full(n, c)).mean() for c in grid)
    se = math.sqrt(0.25 / n)
    assert within(best, task.chance_accuracy(30), se)
    last = x[np.arange(n), task.sequence_lengths(x) - 1, 0]
    hi, lo = (0.8, 0.2) if EXP3[name][3] else (1.0, 0.0)
    by_last = task.correct(target, np.where(last > 0, hi, lo)).mean()
    assert by_last < task.chance_accuracy(30) + 4 * se
    assert task.correct(target, np.full(n, (hi + lo) / 2)).mean() == 0.0  # hedging scores 0


def test_3c_misclassified_only_beyond_0_1_of_the_noise_free_target():
    task = make("noisy-target-1997")
    clean = np.array([0.2, 0.2, 0.8], np.float32)
    assert task.correct(clean, np.array([0.29, 0.31, 0.71])).tolist() == [True, False, True]
    assert task.correct(np.array([0.5]), np.array([0.625])).tolist() == [False]
    assert task.correct(np.array([0.5]), np.array([0.59375])).tolist() == [True]


def test_reference_data_are_tables_4_to_6():
    def figures(name):
        return {(r.length, r.rule): r.sequences_to_solve for r in make(name).reference.rows}

    assert figures("noisy-sequence-1997") == {
        (100, "ST1"): 27_380, (100, "ST2"): 39_850, (1000, "ST1"): 446_850,
        (1000, "ST2"): 452_460}
    assert figures("noisy-sequence-n1-1997") == {(100, "ST1"): 58_370, (100, "ST2"): 64_330}
    assert figures("noisy-signal-1997") == {(100, "ST1"): 41_740, (100, "ST2"): 43_250}
    assert figures("noisy-signal-n1-1997") == {
        (100, "ST1"): 74_950, (100, "ST2"): 78_430, (1000, "ST1"): 481_060,
        (1000, "ST2"): 485_080}
    assert figures("noisy-target-1997") == {(100, ""): 269_650}
    assert figures("noisy-target-n1-1997") == {(100, ""): 565_640}
    st2 = [r for r in make("noisy-sequence-1997").reference.rows if r.rule == "ST2"][0]
    assert st2.test_wrong == pytest.approx(0.000195 * 2560) and st2.test_size == 2560
    assert {r.table for r in (make(n).reference for n in EXP3)} == {
        "Table 4", "Table 5", "Table 6"}
    for name, (_, N, _, _) in EXP3.items():
        for row in make(name).reference.rows:
            assert dict(row.settings) == {"N": N} and row.weights == 102 and row.trials == 10


@pytest.mark.parametrize("name", list(EXP3))
def test_the_papers_net_102_weights_and_biases(name):
    task = make(name)
    net = Net1997.from_task(task)  # raises if the count differs from the paper's 102
    assert (net.input_dim, net.output_dim, net.blocks, net.cells_per_block) == (1, 1, 3, 1)
    assert net.learning_rate == (0.1 if EXP3[name][3] else 1.0)
    params = net.initial_params(np.random.default_rng(0))
    _, ins, outs, _ = net.columns()
    assert params["W"][-1, ins].tolist() == [-1.0, -3.0, -5.0]
    assert params["W"][-1, outs].tolist() == [-2.0, -4.0, -6.0]
    assert params["W_k"][-1].tolist() == [0.0]  # the output unit has no bias
    assert int(sum(m.sum() for m in net.masks().values())) == 102
    others = np.delete(params["W"], -1, axis=0)
    assert np.abs(others).max() <= 0.1


def test_stopping_rules_are_the_papers():
    a = make("noisy-sequence-1997").solve_rule(100)
    assert isinstance(a, PeriodicTestRule) and a.tag == "ST2" and a.milestone.tag == "ST1"
    assert (a.test_size, a.max_wrong, a.mean_error_below, a.final_test_size) == (256, 0, 0.01,
                                                                                   2560)
    assert (a.milestone.max_wrong, a.milestone.mean_error_below) == (0, None)
    b = make("noisy-signal-n1-1997").solve_rule(100)
    assert (b.max_wrong, b.mean_error_below, b.milestone.max_wrong) == (5, 0.04, 5)  # < 6 wrong
    c = make("noisy-target-1997").solve_rule(100)
    assert (c.max_wrong, c.mean_error_below, c.milestone, c.tag) == (0, 0.015, None, "")
    assert a.check_every == b.check_every == c.check_every == 100


def test_test_set_rule_met_by_hand():
    rule = PeriodicTestRule("r", 4, 10, max_wrong=1, mean_error_below=0.1, final_test_size=8)
    assert rule.met(np.array([0.0, 0.0, 0.0, 0.3]), np.array([1, 1, 1, 0], bool))
    assert not rule.met(np.array([0.0, 0.0, 0.3, 0.3]), np.array([1, 1, 0, 0], bool))
    assert not rule.met(np.array([0.1, 0.1, 0.1, 0.1]), np.ones(4, bool))  # mean not below
    with pytest.raises(ValueError, match="max_wrong 5; allowed: 0..4"):
        PeriodicTestRule("r", 4, 10, max_wrong=5, mean_error_below=None, final_test_size=8)


# -- the harness under a PeriodicTestRule, scripted -------------------------------------------

WRONG_UNTIL, ROUGH_UNTIL = 250, 730  # training sequences: all wrong, then right but rough
SCRIPTED_RULE = PeriodicTestRule(
    "scripted ST2", test_size=50, check_every=100, max_wrong=0, mean_error_below=0.01,
    final_test_size=70,
    milestone=PeriodicTestRule("scripted ST1", 50, 100, 0, None, 70, tag="ST1"), tag="ST2",
)


class NoisyTargets(Task):
    """x's only step holds the clean target; y is it plus 5 (a 'noise' only criterion_target
    removes): a harness that judged against y would never see a sequence right."""

    kind = "regression"
    description = "scripted"
    tolerance = 0.2  # Exp. 3a's

    def generate(self, n, length, rng):
        clean = rng.uniform(0.1, 0.9, n).astype(np.float32)
        return clean[:, None, None].repeat(length, axis=1), clean + 5.0

    def criterion_target(self, x, y):
        return x[:, 0, 0]

    def chance_accuracy(self, length):
        return 0.0

    def solve_rule(self, length):
        return SCRIPTED_RULE


class Improving:
    """Output = clean target + an offset that shrinks with the training sequences seen."""

    num_params = 1

    def __init__(self) -> None:
        self.seen = 0
        self.test_calls: list[int] = []

    def predict(self, x):
        offset = 0.5 if self.seen < WRONG_UNTIL else 0.05 if self.seen < ROUGH_UNTIL else 0.0
        if len(x) == SCRIPTED_RULE.test_size:
            self.test_calls.append(self.seen)
        return x[:, 0, 0] + offset

    def train(self, x, y):
        self.seen += len(x)
        return 0.1


@pytest.fixture
def scripted(registered):
    built: list[Improving] = []
    register_task("noisy-targets-scripted")(NoisyTargets)
    registered(tasks, "noisy-targets-scripted")

    @register_model("improving")
    def factory(task, units, seed, **_):
        built.append(Improving())
        return built[-1]

    registered(models, "improving")
    return built


def test_harness_stops_at_the_first_check_where_the_test_set_rule_holds(scripted):
    result = run_cell(SweepCell(task="noisy-targets-scripted", model="improving", length=2,
                                seed=0, batch_size=1, max_sequences=5000))
    assert result.status == "ok", result.error
    assert result.solve_rule == "scripted ST2"
    assert result.sequences_to_milestone == 300  # first check at or after 250
    assert result.sequences_to_solve == result.sequences_seen == 800  # first after 730
    assert scripted[-1].test_calls == list(range(100, 801, 100))  # every 100, on the fixed set
    assert (result.test_wrong, result.test_size, result.accuracy) == (0, 70, 1.0)


def test_harness_unsolved_within_budget(scripted):
    result = run_cell(SweepCell(task="noisy-targets-scripted", model="improving", length=2,
                                seed=0, batch_size=1, max_sequences=650))
    assert result.status == "ok", result.error
    assert result.sequences_to_milestone == 300 and result.sequences_to_solve is None
    assert result.sequences_seen == 650 and scripted[-1].test_calls[-1] == 650
    assert result.test_wrong == 0  # right (within 0.2) but not within ST2's mean error


def test_the_papers_net_solves_3a_quickly_and_a_memoryless_model_does_not():
    """Exp. 3a at T = 20 (N = 3): the paper's net, online at the paper's rate, meets ST2 within
    20,000 sequences; the test fraction wrong then is small. An untrained net stays below
    chance on the 2,560 test sequences (the net with learning rate 0)."""
    cell = SweepCell(task="noisy-sequence-1997", model="numpy-lstm1997", length=20, seed=0,
                     batch_size=1, optimizer="sgd", learning_rate=1.0, max_sequences=20_000)
    result = run_cell(cell)
    assert result.status == "ok", result.error
    assert result.sequences_to_solve is not None and result.sequences_to_solve % 100 == 0
    assert result.sequences_to_milestone <= result.sequences_to_solve
    assert result.test_wrong / result.test_size < 0.02
    blind = run_cell(SweepCell(task="noisy-sequence-1997", model="numpy-lstm1997", length=20,
                               seed=0, batch_size=1, optimizer="sgd", learning_rate=0.0,
                               max_sequences=300))
    assert blind.sequences_to_solve is None and blind.sequences_to_milestone is None
    assert blind.accuracy < 0.6


def test_paper_table_puts_st1_and_st2_beside_tables_4_and_5():
    import io

    import pandas as pd

    from rnnbench.csvlog import rows_to_csv_text
    from rnnbench.report import build_report
    from rnnbench.schema import CellResult, result_row

    rule = make("noisy-sequence-1997").solve_rule(100)
    records = []
    for seed, (st1, st2) in enumerate([(2_000, 8_000), (4_000, 10_000), (6_000, None)]):
        c = SweepCell(task="noisy-sequence-1997", model="numpy-lstm1997", length=100, seed=seed,
                      batch_size=1, optimizer="sgd", learning_rate=1.0, max_sequences=100_000)
        r = CellResult(accuracy=0.999, sequences_seen=st2 or 100_000, sequences_to_solve=st2,
                       updates_to_solve=st2, sequences_to_milestone=st1, status="ok",
                       solve_rule=rule.name, test_wrong=2, test_size=2560)
        records.append(result_row(c, r))
    df = pd.read_csv(io.StringIO(rows_to_csv_text(records)), dtype=str, keep_default_na=False)
    paper = build_report(df).tables["paper"]
    by = {row["experiment"]: row for _, row in paper.iterrows()}
    st1 = by["Exp. 3a (2-sequence problem, N = 3) [ST1]"]
    st2 = by["Exp. 3a (2-sequence problem, N = 3) [ST2]"]
    assert st1["paper"].startswith("27,380") and st2["paper"].startswith("39,850")
    assert (st1["solved"], st1["mean (solved)"], st1["median (KM)"]) == ("3/3", "4,000",
                                                                               "4,000")
    assert (st2["solved"], st2["mean (solved)"], st2["median (KM)"]) == ("2/3", "9,000",
                                                                               "10,000")
    assert st1["median updates"] == "4,000"
