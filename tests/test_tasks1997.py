"""The tasks of Hochreiter & Schmidhuber (1997) against the paper's definitions, and the rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnbench.registry import tasks
from rnnbench.tasks.base import Task
from rnnbench.tasks.hochreiter1997.marked_pairs import first_pair_marked_probability
from rnnbench.tasks.hochreiter1997.temporal_order import B, E, X, Y
from rnnbench.tasks.rules import OnlineRule, RuleTracker

NAMES_1997 = (
    "two-sequence-1997",
    "noise-1997",
    "two-sequence-last-1997",
    "noise-last-1997",
    "long-lag-1997",
    "noisy-sequence-1997",
    "noisy-sequence-n1-1997",
    "noisy-signal-1997",
    "noisy-signal-n1-1997",
    "noisy-target-1997",
    "noisy-target-n1-1997",
    "adding-1997",
    "multiplication-1997",
    "temporal-order-1997",
    "temporal-order-3-1997",
)
# A small length each task accepts (the fixed-length ones accept only the paper's).
SMALL = {
    "two-sequence-last-1997": 100,
    "two-sequence-1997": 100,
    "noise-1997": 100,
    "noise-last-1997": 100,
    "long-lag-1997": 10,
    **{f"noisy-{kind}-1997": 20 for kind in ("sequence", "sequence-n1", "signal", "signal-n1",
                                             "target", "target-n1")},
    "adding-1997": 20,
    "multiplication-1997": 20,
    "temporal-order-1997": 100,
    "temporal-order-3-1997": 100,
}


def make(name: str) -> Task:
    return tasks.get(name)()


# -- registration, determinism, padding -------------------------------------------------------


def test_all_registered_as_builtins_and_described_by_their_experiment():
    for name in NAMES_1997:
        entry = tasks.entry(name)
        assert entry.source == "built-in"
        assert "Hochreiter & Schmidhuber 1997" in entry.description, name
        assert "Exp. " in entry.description and "Sec. 5." in entry.description, name
        task = entry.obj()
        assert task.reference is not None
        assert task.reference.rows or "-last-" in name  # a final-step variant has no rows
        assert task.solve_rule(SMALL[name]) is not None
        assert not task.in_default_study  # run only when a study names it
    for old in ("adding", "delayed-recall"):
        assert "Hochreiter" not in tasks.entry(old).description
        assert "not the 1997" in tasks.entry(old).description


@pytest.mark.parametrize("name", NAMES_1997)
def test_same_seed_same_data_and_no_global_state(name):
    task, length = make(name), SMALL[name]
    before = np.random.get_state()[1].copy()
    x1, y1 = task.generate(40, length, np.random.default_rng(7))
    x2, y2 = task.generate(40, length, np.random.default_rng(7))
    x3, y3 = task.generate(40, length, np.random.default_rng(8))
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not (x1.shape == x3.shape and np.array_equal(x1, x3))
    assert np.array_equal(np.random.get_state()[1], before), "touched numpy's global random state"
    assert x1.dtype == np.float32 and x1.shape[0] == 40 and x1.shape[2] == task.input_dim
    if task.steps_scored == "every":
        assert y1.shape == (*x1.shape[:2], task.output_dim) and y1.dtype == np.float32
    elif task.kind == "classification":
        assert y1.shape == (40,)
        assert np.issubdtype(y1.dtype, np.integer) and y1.min() >= 0
        assert y1.max() < task.output_dim
    else:
        assert y1.dtype == np.float32


@pytest.mark.parametrize("name", NAMES_1997)
def test_padding_and_sequence_lengths(name):
    task, length = make(name), SMALL[name]
    x, _ = task.generate(300, length, np.random.default_rng(1))
    lengths = task.sequence_lengths(x)
    assert lengths.dtype == np.int64 and lengths.shape == (300,)
    steps = np.arange(x.shape[1])[None, :]
    real = steps < lengths[:, None]  # (n, steps)
    assert np.all(x[~real] == 0), "padding must be all-zero steps"
    assert np.all(np.any(x[np.arange(300), lengths - 1] != 0, axis=1)), "last real step is zero"
    if task.variable_length:
        assert lengths.max() == x.shape[1] and len(set(lengths.tolist())) > 1
    else:
        assert np.all(lengths == x.shape[1])


def test_sequence_lengths_on_a_hand_built_padded_batch():
    class Padded(Task):
        variable_length = True

    x = np.zeros((3, 5, 2), np.float32)
    x[0, :5, 0] = 1.0  # full length
    x[1, 1, 1] = -1.0  # a zero step first, then the last real step at index 1
    x[1, 0, 0] = 0.0
    x[2, 2, 0] = 0.5
    assert Padded().sequence_lengths(x).tolist() == [5, 2, 3]
    assert Task().sequence_lengths(x).tolist() == [5, 5, 5]  # fixed length: the array's
    assert Padded().sequence_lengths(np.zeros((1, 4, 1))).tolist() == [0]


# -- Exp. 4 and 5: marked pairs ---------------------------------------------------------------


def marks(x):
    """Positions of X1 (the mark within the first ten of the two) and X2, per sequence."""
    marked = x[:, :, 1] == 1.0
    assert np.all(marked.sum(axis=1) == 2)
    pos = np.sort(np.nonzero(marked)[1].reshape(-1, 2), axis=1)  # (n, 2) ascending
    return pos


@pytest.mark.parametrize("T", [20, 100])
def test_adding_definition_statistics(T):
    task = make("adding-1997")
    n = 20_000 if T == 20 else 8_000
    x, y = task.generate(n, T, np.random.default_rng(11))
    lengths = task.sequence_lengths(x)
    rows = np.arange(n)
    # lengths uniform on T..T+T/10, every one appearing
    counts = np.bincount(lengths - T, minlength=T // 10 + 1)
    assert lengths.min() == T and lengths.max() == T + T // 10
    assert len(counts) == T // 10 + 1 and np.all(np.abs(counts / counts.mean() - 1) < 0.15)
    # markers: -1 on the final pair and on the first unless it is marked; exactly two 1s
    assert np.all(x[rows, lengths - 1, 1] == -1)
    first_marked = x[:, 0, 1] == 1
    assert np.all(x[~first_marked, 0, 1] == -1)
    inner = x[:, 1:, 1].copy()
    inner[rows, lengths - 2] = 0
    assert set(np.unique(inner).tolist()) <= {0.0, 1.0}
    pos = marks(x)
    # one mark among the first ten, the other within the first T/2 pairs: minimal lag T/2
    assert np.all(pos[:, 0] < 10) and np.all(pos[:, 1] <= T // 2 - 1)
    assert np.all((lengths - 1) - pos[:, 1] >= T // 2)
    assert np.any((lengths - 1) - pos[:, 1] == T // 2)
    # a marked first pair: frequency as derived, and its value is 0
    q = first_pair_marked_probability(T)
    assert first_marked.mean() == pytest.approx(q, abs=4 * math.sqrt(q * (1 - q) / n))
    assert np.all(x[first_marked, 0, 0] == 0)
    # values U[-1, 1], target 0.5 + (X1 + X2)/4 in [0, 1], mean 0.5
    v = x[:, :, 0][x[:, :, 1] != 0]
    assert v.min() >= -1 and v.max() <= 1 and v.min() < -0.99 and v.max() > 0.99
    sums = x[rows, pos[:, 0], 0] + x[rows, pos[:, 1], 0]
    np.testing.assert_allclose(y, 0.5 + sums / 4, atol=1e-6)
    assert y.min() >= 0 and y.max() <= 1 and y.mean() == pytest.approx(0.5, abs=0.01)


def test_adding_x2_covers_its_whole_window_and_never_x1():
    T = 40
    x, _ = make("adding-1997").generate(20_000, T, np.random.default_rng(3))
    pos = marks(x)
    marked = np.zeros((len(x), T // 2), bool)
    marked[np.arange(len(x))[:, None], pos] = True
    # every position of the first T/2 pairs is marked sometimes; none beyond
    assert marked.any(axis=0).all()
    assert np.all(x[:, T // 2 :, 1] != 1)


def test_adding_chance_is_the_best_constant_guess():
    task = make("adding-1997")
    # the derivation, at T = 100: q = 1/10 + 9/10 / 49, d = 0.16
    q = 0.1 + 0.9 / 49
    assert task.chance_accuracy(100) == pytest.approx((1 - q) * 0.1536 + q * 0.16, abs=1e-12)
    assert task.chance_accuracy(100) == pytest.approx(0.15436, abs=1e-5)
    for T, n in ((20, 100_000), (100, 40_000)):
        _, y = task.generate(n, T, np.random.default_rng(T))
        best = np.mean(task.correct(y, np.full(n, 0.5)))
        sd = math.sqrt(0.155 * 0.845 / n)
        assert best == pytest.approx(task.chance_accuracy(T), abs=4 * sd)
        for c in (0.45, 0.48, 0.52, 0.55):  # 0.5 is the best constant
            assert np.mean(task.correct(y, np.full(n, c))) < best


def test_multiplication_definition_and_chance():
    task = make("multiplication-1997")
    T, n = 20, 100_000
    x, y = task.generate(n, T, np.random.default_rng(4))
    rows = np.arange(n)
    pos = marks(x)
    first_marked = x[:, 0, 1] == 1
    assert np.all(x[first_marked, 0, 0] == 1.0)
    real = x[:, :, 1] != 0
    assert x[:, :, 0][real].min() >= 0 and x[:, :, 0][real].max() <= 1
    np.testing.assert_allclose(y, x[rows, pos[:, 0], 0] * x[rows, pos[:, 1], 0], atol=1e-6)
    # the derivation: (1 - q) F(0.08) + q 0.08, F(z) = z (1 - ln z)
    q = first_pair_marked_probability(T)
    expected = (1 - q) * 0.08 * (1 - math.log(0.08)) + q * 0.08
    assert task.chance_accuracy(T) == pytest.approx(expected)
    assert task.chance_accuracy(100) == pytest.approx(0.2581, abs=1e-4)
    best = np.mean(task.correct(y, np.full(n, 0.04)))
    assert best == pytest.approx(task.chance_accuracy(T), abs=4 * math.sqrt(0.25 * 0.75 / n))
    for c in (0.02, 0.06, 0.1, 0.25):
        assert np.mean(task.correct(y, np.full(n, c))) < best


def test_marked_pairs_docstring_examples():
    adding, mult = make("adding-1997"), make("multiplication-1997")
    x, y = adding.generate(1, 20, np.random.default_rng(1))
    assert x.shape == (1, 21, 2)
    assert np.nonzero(x[0, :, 1] == -1)[0].tolist() == [0, 20]
    assert np.nonzero(x[0, :, 1] == 1)[0].tolist() == [4, 5]
    assert x[0, 5, 0] == pytest.approx(0.6554, abs=1e-4)
    assert x[0, 4, 0] == pytest.approx(-0.1533, abs=1e-4)
    assert y[0] == pytest.approx(0.6255, abs=1e-4)
    x, y = adding.generate(1, 20, np.random.default_rng(3))
    assert x.shape[1] == 22 and x[0, 0].tolist() == [0.0, 1.0] and x[0, 21, 1] == -1
    assert x[0, 2, 0] == pytest.approx(0.1643, abs=1e-4) and y[0] == pytest.approx(0.5411, abs=1e-4)
    x, y = mult.generate(1, 20, np.random.default_rng(1))
    assert x[0, 5, 0] == pytest.approx(0.8277, abs=1e-4)
    assert x[0, 4, 0] == pytest.approx(0.4233, abs=1e-4)
    assert y[0] == pytest.approx(0.3504, abs=1e-4)
    x, y = mult.generate(1, 20, np.random.default_rng(3))
    assert x[0, 0].tolist() == [1.0, 1.0] and y[0] == pytest.approx(0.5822, abs=1e-4)


# -- Exp. 2 ---------------------------------------------------------------------------------------


def test_two_sequence_definition_and_docstring_example():
    task = make("two-sequence-last-1997")
    x, y = task.generate(400, 100, np.random.default_rng(0))
    assert x.shape == (400, 100, 101) and np.all(x.sum(axis=2) == 1)
    symbols = np.argmax(x, axis=2)
    assert np.array_equal(symbols[:, 0], y) and set(y.tolist()) == {99, 100}  # x, y
    assert np.all(symbols[:, 1:] == np.arange(99))  # a_1 .. a_99, the same in both sequences
    assert abs(np.mean(y == 100) - 0.5) < 0.1
    x, y = task.generate(1, 100, np.random.default_rng(0))
    assert np.argmax(x[0], axis=1)[:4].tolist() == [100, 0, 1, 2] and y.tolist() == [100]


def test_noise_definition_and_docstring_example():
    task = make("noise-last-1997")
    x, y = task.generate(1000, 100, np.random.default_rng(2))
    symbols = np.argmax(x, axis=2)
    assert np.array_equal(symbols[:, 0], y) and set(y.tolist()) == {99, 100}
    middle = symbols[:, 1:]
    assert middle.max() == 98 and middle.min() == 0  # only a_1..a_99, never x or y
    counts = np.bincount(middle.ravel(), minlength=99)
    assert np.all(np.abs(counts / counts.mean() - 1) < 0.15)  # uniform over the 99
    x, y = task.generate(1, 100, np.random.default_rng(0))
    assert np.argmax(x[0], axis=1)[:4].tolist() == [100, 63, 50, 26] and y.tolist() == [100]


@pytest.mark.parametrize(
    "name", ["two-sequence-last-1997", "noise-last-1997", "temporal-order-1997"]
)
def test_fixed_length_tasks_refuse_other_lengths_in_one_line(name):
    task = make(name)
    for bad in (99, 101, 50):
        with pytest.raises(ValueError, match=rf"length {bad} .*allowed: 100$") as info:
            task.check_length(bad)
        assert "\n" not in str(info.value)
    task.check_length(100)


def test_long_lag_definition_and_the_9_10_rule():
    task = make("long-lag-1997")
    q, p, rng = 5, task.P, np.random.default_rng(5)
    # 10,000 sequences in batches: a batch of one-hot inputs is n x (q + max k + 3) x 104
    batches = [task.generate(2000, q, rng) for _ in range(5)]
    k = np.concatenate([task.sequence_lengths(x) for x, _ in batches]) - (q + 3)
    assert k.min() == 0  # b, x|y, q + k distractors, e
    # P(k) = 0.1 * 0.9^k: P(k=0) = 0.1, mean 9, P(k >= 10) = 0.9^10 (4 sd each)
    assert np.mean(k == 0) == pytest.approx(0.1, abs=0.012)
    assert k.mean() == pytest.approx(9.0, abs=0.4)
    assert np.mean(k >= 10) == pytest.approx(0.9**10, abs=0.02)
    x, y = batches[0]
    n = len(x)
    lengths = task.sequence_lengths(x)
    symbols = np.argmax(x, axis=2)
    rows = np.arange(n)
    assert np.all(symbols[:, 0] == p + 1)  # b
    assert np.array_equal(symbols[:, 1], p + 2 + y)  # x (class 0) or y (class 1)
    assert np.all(symbols[rows, lengths - 1] == p)  # the trigger e ends every input
    # between x|y and e: only distractors, uniform over the p of them
    inner = np.arange(x.shape[1])[None, :]
    between = (inner >= 2) & (inner < (lengths - 1)[:, None])
    d = symbols[between]
    assert d.max() < p and np.all(np.abs(np.bincount(d, minlength=p) / (d.size / p) - 1) < 0.2)
    assert abs(np.mean(y) - 0.5) < 0.05
    x, y = task.generate(1, 3, np.random.default_rng(1))
    assert np.argmax(x[0], axis=1).tolist() == [101, 102, 94, 24, 31, 86, 42, 100]
    assert y.tolist() == [0]


# -- Exp. 6 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "windows"),
    [
        ("temporal-order-1997", ((10, 20), (50, 60))),
        ("temporal-order-3-1997", ((10, 20), (33, 43), (66, 76))),
    ],
)
def test_temporal_order_definition(name, windows):
    task = make(name)
    n = 8000
    x, y = task.generate(n, 100, np.random.default_rng(6))
    symbols = np.argmax(x, axis=2)
    lengths = task.sequence_lengths(x)
    rows = np.arange(n)
    assert lengths.min() == 100 and lengths.max() == 110
    assert np.all(np.abs(np.bincount(lengths - 100) / (n / 11) - 1) < 0.15)
    assert np.all(symbols[:, 0] == E) and np.all(symbols[rows, lengths - 1] == B)
    relevant = (symbols == X) | (symbols == Y)
    assert np.all(relevant.sum(axis=1) == len(windows))
    pos = np.nonzero(relevant)[1].reshape(n, len(windows)) + 1  # 1-based positions
    label = np.zeros(n, np.int64)
    for j, (low, high) in enumerate(windows):
        assert pos[:, j].min() == low and pos[:, j].max() == high
        assert len(np.unique(pos[:, j])) == high - low + 1
        label = 2 * label + (symbols[rows, pos[:, j] - 1] == Y)
    assert np.array_equal(label, y)  # X,X -> Q (0), X,Y -> R (1), Y,X -> S (2), Y,Y -> U (3)
    counts = np.bincount(y, minlength=task.output_dim)
    assert np.all(np.abs(counts / (n / task.output_dim) - 1) < 0.15)
    others = ~relevant
    others[:, 0] = False
    others[rows, lengths - 1] = False
    others &= np.arange(x.shape[1])[None, :] < lengths[:, None]
    assert set(np.unique(symbols[others]).tolist()) == {0, 1, 2, 3}  # a, b, c, d


def test_temporal_order_docstring_examples():
    x, y = make("temporal-order-1997").generate(1, 100, np.random.default_rng(1))
    s = "".join("abcdXYEB"[c] for c in np.argmax(x[0], axis=1))
    assert len(s) == 105 and s.startswith("Eddaaddabdbb") and s[-1] == "B"
    assert (s[15], s[52]) == ("Y", "X") and y.tolist() == [2]
    x, y = make("temporal-order-3-1997").generate(1, 100, np.random.default_rng(1))
    s = "".join("abcdXYEB"[c] for c in np.argmax(x[0], axis=1))
    assert (s[15], s[35], s[70]) == ("Y", "X", "X") and y.tolist() == [4]


# -- criteria and chance of the classification tasks ---------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "two-sequence-last-1997",
        "noise-last-1997",
        "long-lag-1997",
        "temporal-order-1997",
        "temporal-order-3-1997",
    ],
)
def test_classification_chance_is_a_committed_constant_and_hedging_scores_zero(name):
    task = make(name)
    n = 1000
    _, y = task.generate(n, SMALL[name], np.random.default_rng(9))
    classes = np.unique(y)
    committed = np.zeros((n, task.output_dim))
    committed[:, classes[0]] = 1.0
    score = np.mean(task.correct(y, committed))
    assert score == pytest.approx(task.chance_accuracy(SMALL[name]), abs=0.05)
    hedge = np.zeros((n, task.output_dim))
    hedge[:, classes] = 1.0 / len(classes)
    assert not task.correct(y, hedge).any()  # every output 1/K away: never within tolerance
    assert task.accuracy(y, committed) == pytest.approx(score)  # argmax agrees here


def test_errors_and_correct_by_hand():
    adding = make("adding-1997")
    y = np.array([0.5, 0.5, 0.5])
    out = np.array([[0.53], [0.45], [0.7]])
    np.testing.assert_allclose(adding.errors(y, out), [0.03, 0.05, 0.2])
    assert adding.correct(y, out).tolist() == [True, False, False]
    order = make("temporal-order-1997")  # |err| < 0.3 on all 4 outputs
    labels = np.array([0, 1, 2])
    p = np.array(
        [
            [0.75, 0.1, 0.1, 0.05],  # all within 0.3: correct
            [0.2, 0.75, 0.29, 0.0],  # worst 0.29: correct
            [0.1, 0.35, 0.55, 0.0],  # right argmax, but 0.45 and 0.35 off: wrong
        ]
    )
    np.testing.assert_allclose(order.errors(labels, p), [0.25, 0.29, 0.45])
    assert order.correct(labels, p).tolist() == [True, True, False]
    assert order.accuracy(labels, p) == pytest.approx(2 / 3)  # one path: the mean of correct
    recall = make("delayed-recall")  # the default classification criterion: argmax
    assert recall.correct(np.array([2, 0]), np.eye(8)[[2, 1]]).tolist() == [True, False]
    np.testing.assert_allclose(recall.errors(np.array([2]), np.full((1, 8), 0.125)), [0.875])


# -- reference data --------------------------------------------------------------------------------


def paper_weight_count(task: Task) -> int:
    """The weights of the paper's net for `task`, counted from `reference.net`."""
    net = task.reference.net
    cells = net["blocks"] * net["cells_per_block"]
    gates = net["blocks"] * (2 if net["output_gate"] else 1)
    if net["connectivity"] == "B":  # each layer from all below: in->out, in->hidden, cells->out
        return (task.input_dim + cells) * task.output_dim + (cells + gates) * task.input_dim
    hidden = cells + gates + net["hidden_units"]
    biased = {"all": hidden, "hidden": hidden, "gates": gates, "none": 0}[net["bias"]]
    output_bias = task.output_dim if net["bias"] == "all" else 0
    return hidden * (task.input_dim + hidden) + biased + task.output_dim * cells + output_bias


@pytest.mark.parametrize("name", NAMES_1997)
def test_reference_rows_and_nets_agree_with_the_paper(name):
    task = make(name)
    ref = task.reference
    assert ref.source == "Hochreiter & Schmidhuber (1997)" and ref.section.startswith("Sec. 5.")
    for row in ref.rows:
        task.check_length(row.length)
        assert row.sequences_to_solve > 0 and row.statistic.startswith("mean of")
        assert row.weights == ref.net["weights"]
    assert paper_weight_count(task) == ref.net["weights"]
    igb = ref.net["input_gate_bias"]
    assert igb is None or len(igb) == ref.net["blocks"]
    with pytest.raises(TypeError):
        ref.net["learning_rate"] = 1.0  # data, read-only


def test_the_papers_numbers():
    def figures(name):
        return {r.rule or r.length: r.sequences_to_solve for r in make(name).reference.rows}

    assert figures("adding-1997") == {100: 74_000, 500: 209_000, 1000: 853_000}
    assert figures("multiplication-1997") == {"n_seq=140": 482_000, "n_seq=13": 1_273_000}
    assert figures("two-sequence-1997") == {100: 5_040}
    assert figures("two-sequence-last-1997") == {}  # a variant: no figure beside the paper's
    assert figures("noise-1997") == {100: 5_680}
    assert figures("long-lag-1997") == {100: 31_000, 1000: 135_000}
    assert figures("temporal-order-1997") == {100: 31_390}
    assert figures("temporal-order-3-1997") == {100: 571_100}


def test_solve_rules_are_the_papers():
    adding = make("adding-1997").solve_rule(100)
    assert (adding.window, adding.max_wrong, adding.mean_error_below) == (2000, 0, 0.01)
    assert (adding.test_size, adding.test_max_wrong, adding.error_level) == (2560, 3, 0.01)
    mult = make("multiplication-1997")
    assert mult.solve_rule(100).max_wrong == 12  # fewer than 13
    assert mult.solve_rule(100).tag == "n_seq=13"
    assert {r.rule for r in mult.reference.rows_at(100)} == {"n_seq=140", "n_seq=13"}
    order = make("temporal-order-1997").solve_rule(100)
    assert (order.mean_error_below, order.test_size) == (0.1, 2560)
    for name, tol in (
        ("two-sequence-last-1997", 0.25), ("noise-last-1997", 0.25), ("long-lag-1997", 0.2),
        ("two-sequence-1997", 0.25), ("noise-1997", 0.25),
    ):
        rule = make(name).solve_rule(100)
        assert make(name).tolerance == tol
        assert (rule.window, rule.max_wrong, rule.test_size) == (10_000, 0, 10_000)
        assert rule.reported_count(15_040) == 5_040  # the paper counts up to the window's start
    assert make("adding").solve_rule(10) is None
    assert make("delayed-recall").solve_rule(5) is None


# -- RuleTracker -----------------------------------------------------------------------------------


def rule(window=4, max_wrong=0, mean_below=None, measure="absolute", level=None):
    return OnlineRule("test", window, max_wrong, mean_below, measure, level, 10, None)


def test_tracker_fires_exactly_when_the_window_is_full_and_clean():
    tracker = RuleTracker(rule(window=4))
    tracker.feed(np.zeros(3), np.ones(3, bool))
    assert tracker.solved_at is None  # 3 correct, but the window of 4 is not full
    assert tracker.earliest_solve() == 4
    tracker.feed(np.zeros(1), np.ones(1, bool))
    assert tracker.solved_at == 4

    tracker = RuleTracker(rule(window=4))
    correct = np.array([1, 1, 0, 1, 1, 1, 1, 1, 1], bool)  # wrong at 3: first clean window 4..7
    tracker.feed(np.zeros(5), correct[:5])
    assert tracker.solved_at is None and tracker.earliest_solve() == 7
    tracker.feed(np.zeros(4), correct[5:])
    assert tracker.solved_at == 7 and tracker.sequences == 9


def test_tracker_mean_condition_error_level_and_squared_measure():
    errors = np.array([0.5, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0])
    ok = np.ones(8, bool)
    # absolute mean over 4 below 0.1: windows end 4: 0.125, 5: 0.025 -> fires at 5
    tracker = RuleTracker(rule(window=4, mean_below=0.1, level=0.05))
    tracker.feed(errors, ok)
    assert tracker.solved_at == 5 and tracker.error_level_at == 5
    # squared: 0.25/4 = 0.0625 < 0.1 at 4 already
    tracker = RuleTracker(rule(window=4, mean_below=0.1, measure="squared"))
    tracker.feed(errors[:4], ok[:4])
    assert tracker.solved_at == 4
    # max_wrong = 1 tolerates one wrong sequence in the window
    tracker = RuleTracker(rule(window=3, max_wrong=1))
    tracker.feed(np.zeros(4), np.array([0, 0, 1, 1], bool))
    assert tracker.solved_at == 4


def naive_solved_at(r: OnlineRule, errors, correct):
    for c in range(r.window, len(errors) + 1):
        window = slice(c - r.window, c)
        e = np.abs(errors[window])
        mean = e.mean() if r.error_measure == "absolute" else (e * e).mean()
        if (~correct[window]).sum() <= r.max_wrong and (
            r.mean_error_below is None or mean < r.mean_error_below
        ):
            return c
    return None


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    window=st.integers(1, 12),
    max_wrong=st.integers(0, 2),
    mean_below=st.sampled_from([None, 0.25, 0.5]),
    measure=st.sampled_from(["absolute", "squared"]),
)
def test_tracker_matches_a_naive_scan_in_any_chunking(data, window, max_wrong, mean_below, measure):
    max_wrong = min(max_wrong, window)
    r = rule(window, max_wrong, mean_below, measure)
    n = data.draw(st.integers(0, 60))
    correct = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
    errors = np.array(
        # dyadic values: the running sums are exact, so ties at the threshold agree too
        data.draw(st.lists(st.sampled_from([0.0, 0.125, 0.375, 1.0]), min_size=n, max_size=n))
    )
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=6)))
    tracker = RuleTracker(r)
    start = 0
    for cut in [*cuts, n]:
        bound = tracker.earliest_solve()
        tracker.feed(errors[start:cut], correct[start:cut])
        start = cut
        # a lower bound: wherever the rule is met, it is not before the bound given then
        if tracker.solved_at is not None:
            assert tracker.solved_at >= bound
        # and exact for the best continuation (all correct, error 0)
        best = RuleTracker(r)
        best.feed(errors[:cut], correct[:cut])
        bound_now = best.earliest_solve()
        extra = bound_now - cut
        if best.solved_at is None:
            best.feed(np.zeros(extra + 1), np.ones(extra + 1, bool))
            assert best.solved_at == bound_now
    assert tracker.solved_at == naive_solved_at(r, errors, correct)
    assert tracker.sequences == n


def test_tracker_feed_is_linear_in_the_chunk_not_the_history():
    tracker = RuleTracker(rule(window=2000, mean_below=0.01))
    rng = np.random.default_rng(0)
    for _ in range(200):  # 409,600 sequences, a wrong one now and then
        correct = rng.random(2048) > 0.001
        tracker.feed(np.where(correct, 0.005, 0.5), correct)
    assert tracker.sequences == 409_600
    assert tracker._wrong.shape == (2001,)  # the state is the ring buffer, however long the run


# -- Exp. 2a/2b as published: every next symbol ---------------------------------------------


@pytest.mark.parametrize("name", ["two-sequence-1997", "noise-1997"])
def test_published_exp2_predicts_every_next_symbol(name):
    task = make(name)
    x, y = task.generate(500, 100, np.random.default_rng(4))
    assert task.steps_scored == "every" and x.shape == y.shape == (500, 100, 101)
    assert np.all(x.sum(axis=2) == 1) and np.all(y.sum(axis=2) == 1)  # one-hot, no padding
    assert np.array_equal(x[:, 1:], y[:, :-1])  # the target of step t is the input of t + 1
    assert np.array_equal(y[:, -1].argmax(axis=1), x[:, 0].argmax(axis=1))  # last = first
    assert set(x[:, 0].argmax(axis=1).tolist()) == {99, 100}  # x or y
    middle = x[:, 1:].argmax(axis=2)
    assert middle.max() <= 98
    if name == "two-sequence-1997":
        assert np.all(middle == np.arange(99))
    else:
        assert len(np.unique(middle)) == 99 and not np.all(middle == np.arange(99))


def test_2a_is_judged_at_every_step_and_2b_at_the_end():
    a, b = make("two-sequence-1997"), make("noise-1997")
    x, y = a.generate(2, 100, np.random.default_rng(0))
    out = y * 0.9 + 0.05  # every output within 0.25
    out_mid = out.copy()
    out_mid[:, 50] = 1.0 / 101  # a hedge at a middle step: wrong for 2a, unjudged for 2b
    assert a.correct(y, out).tolist() == [True, True]
    assert a.correct(y, out_mid).tolist() == [False, False]
    assert b.correct(y, out_mid).tolist() == [True, True]
    out_end = out.copy()
    out_end[:, -1, 99:] = 0.5  # hedging x / y at the end: wrong for both
    assert b.correct(y, out_end).tolist() == a.correct(y, out_end).tolist() == [False, False]
    for task, where in ((a, "at every step"), (b, "at the sequence end")):
        name = task.solve_rule(100).name
        assert name.startswith(f"ABS(0.25) {where};") and "window of 1,000 sequences" in name
        assert task.reference.net["cell_added"] == "plateau"
        assert "-last-" not in task.name and task.reference.rows[0].trials == 18
