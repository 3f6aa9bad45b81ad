"""Exp. 1 of Hochreiter & Schmidhuber (1997), Sec. 5.1: the embedded Reber grammar against an
independent recogniser (a regular expression written from the grammar's diagram), its
legal-successor targets against successors observed in many strings, the fixed sets, the
criterion, chance, the reference data and the paper's nets."""

from __future__ import annotations

import collections
import re

import numpy as np
import pytest

from rnnbench.models.lstm1997 import Net1997
from rnnbench.registry import tasks
from rnnbench.tasks.hochreiter1997.reber import (
    CODE,
    SYMBOLS,
    draw_sets,
    draw_string,
    embedded_successors,
    encode,
)

# The Reber grammar as a regular expression (paths of its diagram): from the node after
# "BT S* X" one may loop "X T* V P" and leave by "S" or "X T* V V"; "BP T* V" reaches the
# node that leaves by "V" or by "P" into that loop.
LOOP = r"(?:XT*VP)*(?:S|XT*VV)"
INNER = rf"B(?:(?:TS*X|PT*VP){LOOP}|PT*VV)E"
EMBEDDED = re.compile(rf"B([TP]){INNER}\1E")


def make(name="embedded-reber-1997"):
    return tasks.get(name)()


def test_every_drawn_string_is_in_the_grammar_and_the_recogniser_rejects_others():
    rng = np.random.default_rng(0)
    strings = [draw_string(rng) for _ in range(5000)]
    assert all(EMBEDDED.fullmatch(s) for s in strings)
    assert min(len(s) for s in strings) == 9  # "as few as 9 steps"
    assert {s[1] for s in strings} == {"T", "P"}
    for bad in ("BTBTXSEPE", "BTBTXSE", "BTBTSXXETE", "BPBPVVEPEE", "TBTXSETE", "BTBPTVPXETE",
                "BTBPVVEPE"):
        assert not EMBEDDED.fullmatch(bad) and not accepted(bad), bad
    assert all(accepted(s) for s in strings[:500])


def accepted(string: str) -> bool:
    """The module's own automaton as a recogniser: every symbol a legal successor, then none."""
    try:
        ok = all(string[t] in embedded_successors(string[:t]) for t in range(len(string)))
        return ok and embedded_successors(string) == ""
    except ValueError:
        return False


def test_legal_successors_are_the_ones_observed():
    """For every prefix seen at least 40 times in 40,000 strings, the target is exactly the set
    of symbols observed after it (each branch has probability 1/2: missing one is ~1e-12)."""
    rng = np.random.default_rng(1)
    seen: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for _ in range(40_000):
        s = draw_string(rng)
        for t in range(1, len(s)):
            seen[s[:t]][s[t]] += 1
    checked = 0
    for prefix, after in seen.items():
        if sum(after.values()) >= 40:
            assert set(embedded_successors(prefix)) == set(after), prefix
            checked += 1
    assert checked > 100


def test_encoding_and_the_worked_example():
    x, y = encode(["BTBTXSETE", "BPBPVVEPE"[:9]])
    assert x.shape == (2, 8, 7) and y.shape == (2, 8, 7)
    assert "".join(SYMBOLS[i] for i in x[0].argmax(axis=1)) == "BTBTXSET"
    targets = ["".join(SYMBOLS[k] for k in np.flatnonzero(row)) for row in y[0]]
    assert targets == ["TP", "B", "TP", "SX", "SX", "E", "T", "E"]
    x, y = encode(["BTBTXSETE", "BPBTSXXTVVEPE"])
    assert x.shape == (2, 12, 7)
    assert np.all(x[0, 8:] == 0) and np.all(y[0, 8:] == 0)  # padding: no input, no target
    assert y[1, 10].tolist() == [0, 0, 1, 0, 0, 0, 0]  # after the inner E: P, the 2nd symbol
    assert x[1, 11, CODE["P"]] == 1.0 and y[1, 11, CODE["E"]] == 1.0


def test_fixed_sets_per_trial():
    task = make()
    train, test = draw_sets(0)
    assert len(train) == len(test) == 256
    assert not set(train) & set(test)  # "sequences already used ... are not used for testing"
    assert all(EMBEDDED.fullmatch(s) for s in train + test)
    task.start_trial(4)  # seed 4 -> pair 1
    assert task.pair == 1 and task.train_strings == draw_sets(1)[0]
    assert draw_sets(1) != draw_sets(0) and draw_sets(2) == draw_sets(2)
    # training exemplars come from the training set only, drawn with the rng passed in
    x, y = task.generate(300, 9, np.random.default_rng(3))
    x2, _ = task.generate(300, 9, np.random.default_rng(3))
    assert np.array_equal(x, x2)
    lengths = task.sequence_lengths(x)
    strings = {"".join(SYMBOLS[i] for i in x[j, : lengths[j]].argmax(axis=1)) for j in range(300)}
    assert strings <= {s[:-1] for s in task.train_strings}
    fx, fy = task.fixed_test_set()
    assert fx.shape[0] == 512 and fy.shape[:2] == fx.shape[:2]
    with pytest.raises(ValueError, match="allowed: 9"):
        task.check_length(10)


def test_criterion_legal_successors_most_active():
    task = make()
    _, y = encode(["BTBTXSETE"])
    right = y.copy() * 0.6 + 0.2  # legal 0.8, others 0.2
    assert task.correct(y, right).tolist() == [True]
    hedge = right.copy()
    hedge[0, 3, CODE["S"]] = 0.2  # S legal at step 3 but tied with an illegal output
    assert task.correct(y, hedge).tolist() == [False]
    low = right * 0.1  # only the order counts
    assert task.correct(y, low).tolist() == [True]
    wrong_last = right.copy()
    wrong_last[0, 6, CODE["P"]] = 0.9  # the step that needs the second symbol
    assert task.correct(y, wrong_last).tolist() == [False]
    assert task.errors(y, right).tolist() == [pytest.approx(0.2)]


def test_chance_is_zero_for_any_predictor_of_the_current_symbol():
    """Monte Carlo: the best first-order predictor (each symbol's most frequent successor set)
    gets no string right, as the docstring derives; nor does any other first-order table."""
    rng = np.random.default_rng(2)
    strings = [draw_string(rng) for _ in range(5000)]
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for s in strings:
        for t in range(len(s) - 1):
            counts[s[t]][embedded_successors(s[: t + 1])] += 1
    best = {k: c.most_common(1)[0][0] for k, c in counts.items()}
    x, y = encode(strings)
    out = np.zeros_like(y)
    for symbol, successors in best.items():
        rows = x[:, :, CODE[symbol]] == 1
        out[rows] = np.isin(np.arange(7), [CODE[s] for s in successors])
    assert make().correct(y, out).mean() == make().chance_accuracy(9) == 0.0
    assert make().correct(y, y).mean() == 1.0  # the criterion itself can be met


def test_reference_data_and_the_papers_nets():
    rows = {(r.settings, r.sequences_to_solve, r.success_rate) for r in make().reference.rows}
    assert rows == {((("learning_rate", 0.1),), 21_730, 1.0),
                    ((("learning_rate", 0.2),), 14_060, 0.97),
                    ((("learning_rate", 0.5),), 8_440, 1.0)}
    rows4 = {(r.settings, r.sequences_to_solve) for r in make("embedded-reber-4x1-1997")
             .reference.rows}
    assert rows4 == {((("learning_rate", 0.1),), 39_740), ((("learning_rate", 0.5),), 9_500)}
    for name, shape, weights in (("embedded-reber-1997", (3, 2), 276),
                                 ("embedded-reber-4x1-1997", (4, 1), 264)):
        task = make(name)
        net = Net1997.from_task(task)  # raises unless the count is the paper's
        assert (net.blocks, net.cells_per_block) == shape
        assert int(sum(m.sum() for m in net.masks().values())) == weights
        params = net.initial_params(np.random.default_rng(0))
        cells, ins, outs, _ = net.columns()
        assert params["W"][-1, outs].tolist() == [-1.0, -2.0, -3.0, -4.0][: net.blocks]
        assert np.all(params["W"][-1, cells] == 0) and np.all(params["W_k"][-1] == 0)
        assert np.abs(params["W"][-1, ins]).max() <= 0.2 and np.abs(params["W_k"]).max() <= 0.2
        assert task.steps_scored == "every"


def test_the_rule_judges_both_fixed_sets():
    rule = make().solve_rule(9)
    assert (rule.test_size, rule.max_wrong, rule.final_test_size, rule.check_every) == (
        512, 0, None, 100)


def test_paper_table_puts_each_learning_rate_beside_its_row():
    import io

    import pandas as pd

    from rnnbench.csvlog import rows_to_csv_text
    from rnnbench.report import build_report
    from rnnbench.schema import CellResult, SweepCell, result_row

    rule = make().solve_rule(9)
    records = []
    for seed, (lr, at) in enumerate([(0.5, 9000), (0.5, None), (0.1, 30_000)]):
        c = SweepCell(task="embedded-reber-1997", model="numpy-lstm1997", length=9, seed=seed,
                      batch_size=1, optimizer="sgd", learning_rate=lr, max_sequences=60_000)
        r = CellResult(accuracy=1.0 if at else 0.5, sequences_seen=at or 60_000,
                       sequences_to_solve=at, updates_to_solve=at, status="ok",
                       solve_rule=rule.name, test_wrong=0 if at else 256, test_size=512)
        records.append(result_row(c, r))
    df = pd.read_csv(io.StringIO(rows_to_csv_text(records)), dtype=str, keep_default_na=False)
    paper = build_report(df).tables["paper"]
    by_paper = {row["paper"].split(" ")[0]: row for _, row in paper.iterrows()}
    assert set(by_paper) == {"8,440", "21,730"}  # no run at 0.2: its row stays out
    assert by_paper["8,440"]["solved"] == "1/2" and by_paper["8,440"]["regime"].endswith("0.5")
    assert by_paper["21,730"]["solved"] == "1/1" and by_paper["21,730"]["mean (solved)"] == "30,000"
