"""The harness under a task's own solve rule, and with sequences that vary in length.

A scripted model (its outputs set by the test) and a scripted task make every number here known
in advance: where the rule is met, how many updates that took, which lengths the model was fed.
"""

from __future__ import annotations

import numpy as np
import pytest

from rnnbench.feeding import same_length_batches
from rnnbench.harness import GRAD_RATIO_BATCH, run_cell
from rnnbench.registry import models, register_model
from rnnbench.schema import SweepCell
from rnnbench.tasks.base import Task, register_task
from rnnbench.tasks.rules import OnlineRule

RULE = OnlineRule(
    name="test rule: 50 right in a row", window=50, max_wrong=0, mean_error_below=None,
    error_measure="absolute", error_level=0.2, test_size=300, test_max_wrong=None,
)
GOOD_FROM = 1234  # the scripted model answers every sequence right from this one on (1-based)
# The harness draws its gradient batch first; the task numbers every sequence it draws, so the
# k-th training sequence carries the number OFFSET + k.
OFFSET = GRAD_RATIO_BATCH


class Counting(Task):
    """Regression: x's first value numbers the sequence (1-based, in drawn order); target 0."""

    kind = "regression"
    input_dim = 1
    output_dim = 1
    description = "scripted"
    variable_length = False

    def __init__(self) -> None:
        self.drawn = 0

    def generate(self, n, length, rng):
        index = np.arange(self.drawn + 1, self.drawn + n + 1, dtype=np.float32)
        self.drawn += n
        x = np.ones((n, length, 1), np.float32)
        x[:, 0, 0] = index
        return x, np.zeros(n, np.float32)

    def chance_accuracy(self, length):
        return 0.0

    def solve_rule(self, length):
        return RULE


class Ragged(Counting):
    """As Counting, but each sequence has length `length` + (index % 3), right-padded."""

    variable_length = True

    def generate(self, n, length, rng):
        x0, y = super().generate(n, length, rng)
        index = x0[:, 0, 0].astype(int)
        own = length + index % 3
        x = np.zeros((n, length + 2, 1), np.float32)
        for i, steps in enumerate(own):
            x[i, :steps, 0] = 1.0
            x[i, 0, 0] = index[i]
        return x, y


class Scripted:
    """Wrong (output 1.0) on sequences before GOOD_FROM, right (0.0) after; logs what it saw."""

    num_params = 1

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self.trained: list[int] = []  # indices of the sequences trained on, in order
        self.shapes: list[tuple[int, ...]] = []

    def _answer(self, x):
        training_number = x[:, 0, 0] - OFFSET
        return np.where(training_number >= GOOD_FROM, 0.0, 1.0).astype(np.float32)

    def predict(self, x):
        if np.any(x[:, -1, 0] == 0):
            raise AssertionError("the model was fed padding")
        return self._answer(x)

    def train(self, x, y):
        self.shapes.append(x.shape)
        self.trained += [int(i) - OFFSET for i in x[:, 0, 0]]
        return 0.5


@pytest.fixture
def scripted(registered):
    built: list[Scripted] = []

    for name, cls in (("counting", Counting), ("ragged", Ragged)):
        register_task(name)(cls)
        registered(__import__("rnnbench").registry.tasks, name)

    @register_model("scripted")
    def factory(task, units, seed, batch_size=64, **_):
        built.append(Scripted(batch_size))
        return built[-1]

    registered(models, "scripted")
    return built


def cell(task: str, batch_size: int, max_sequences: int = 100_000) -> SweepCell:
    return SweepCell(task=task, model="scripted", length=4, seed=0, batch_size=batch_size,
                     max_sequences=max_sequences, chunk_size=512)


@pytest.mark.parametrize("batch_size", [1, 64])
def test_the_rule_is_met_exactly_where_the_outputs_say(scripted, batch_size):
    result = run_cell(cell("counting", batch_size))
    assert result.status == "ok", result.error
    # 50 right in a row ending at sequence GOOD_FROM + 49; judged on outputs before each update
    assert result.sequences_to_solve == GOOD_FROM + RULE.window - 1
    assert result.updates_to_solve == -(-(GOOD_FROM + RULE.window - 1) // batch_size)
    # training stops at the end of the batch holding the solve point, never a chunk later
    model = scripted[-1]
    assert len(model.trained) == result.sequences_seen
    assert result.sequences_seen - result.sequences_to_solve < batch_size
    assert model.trained == list(range(1, result.sequences_seen + 1))  # in drawn order
    assert result.test_size == 300 and result.test_wrong == 0 and result.accuracy == 1.0
    assert result.solve_rule == RULE.name
    # the error level (mean |error| over the window below 0.2): first at 9 wrong of 50
    assert result.sequences_to_error_level == GOOD_FROM + 40
    # right from GOOD_FROM to the last sequence trained (a batch may run past the solve point)
    assert result.longest_correct_run == result.sequences_seen - GOOD_FROM + 1


def test_unsolved_within_budget_is_counted_and_tested(scripted):
    result = run_cell(cell("counting", 1, max_sequences=500))
    assert result.status == "ok"
    assert result.sequences_to_solve is None and result.updates_to_solve is None
    assert result.sequences_seen == 500 and result.updates_seen == 500
    assert result.test_wrong == 300 and result.accuracy == 0.0  # still wrong on everything
    assert result.longest_correct_run == 0  # never one right: nowhere near the rule


@pytest.mark.parametrize("seed", range(5))
def test_the_longest_correct_run_is_counted_across_chunks(seed):
    """RuleTracker.longest_correct_run against the longest run of True counted one by one, the
    verdicts fed in chunks of random sizes (runs that span chunks, chunks all right or all
    wrong)."""
    from rnnbench.tasks.rules import RuleTracker

    rng = np.random.default_rng(seed)
    correct = rng.random(3000) < rng.uniform(0.5, 0.99)
    correct[500:1700] = True  # one long run across many chunks
    tracker = RuleTracker(RULE)
    start = 0
    while start < len(correct):
        end = min(len(correct), start + int(rng.integers(0, 120)))
        part = correct[start:end]
        tracker.feed(np.where(part, 0.0, 1.0), part)
        start = end
    longest = run = 0
    for ok in correct:
        run = run + 1 if ok else 0
        longest = max(longest, run)
    assert longest >= 1200 and tracker.longest_correct_run == longest


@pytest.mark.parametrize("batch_size", [1, 8])
def test_variable_lengths_reach_the_model_cut_to_their_own_length(scripted, batch_size):
    result = run_cell(cell("ragged", batch_size))
    assert result.status == "ok", result.error  # the model raises if it is fed padding
    model = scripted[-1]
    # every mini-batch is one length, and every length of the task was trained on
    assert {shape[1] for shape in model.shapes} == {4, 5, 6}
    assert all(shape[0] <= batch_size for shape in model.shapes)
    assert sorted(model.trained) == list(range(1, result.sequences_seen + 1))
    assert result.sequences_to_solve is not None


def test_same_length_batches_keep_the_chunk_order():
    lengths = np.array([3, 4, 3, 3, 4, 5, 3])
    batches = same_length_batches(lengths, 2)
    assert [b.tolist() for b in batches] == [[0, 2], [1, 4], [3, 6], [5]]
    assert [b.tolist() for b in same_length_batches(lengths, 1)] == [[i] for i in range(7)]


@pytest.mark.parametrize("name", ["numpy-rnn", "numpy-lstm"])
def test_numpy_models_give_each_batchs_outputs_before_its_update(name):
    """train_with_outputs: batch k's outputs are predict's on the weights after k-1 updates."""
    from rnnbench.registry import tasks

    task = tasks.get("delayed-recall")()
    x, y = task.generate(12, 5, np.random.default_rng(0))
    twin_a = models.get(name)(task, 8, 0, batch_size=4)
    twin_b = models.get(name)(task, 8, 0, batch_size=4)
    expected = []
    for start in range(0, 12, 4):
        expected.append(twin_b.predict(x[start : start + 4]))
        twin_b.train(x[start : start + 4], y[start : start + 4])
    loss, outputs = twin_a.train_with_outputs(x, y)
    np.testing.assert_allclose(outputs, np.concatenate(expected), rtol=1e-5, atol=1e-6)
    assert not np.allclose(expected[0], expected[2])  # the updates did change the outputs
    np.testing.assert_array_equal(twin_a.params["W_h"], twin_b.params["W_h"])
