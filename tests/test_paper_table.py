"""The paper-vs-rnnbench table: the paper's figure from the task, ours measured the same way."""

from __future__ import annotations

import io

import pandas as pd

from rnnbench.csvlog import rows_to_csv_text
from rnnbench.paper_table import median_over_all
from rnnbench.registry import tasks
from rnnbench.report import build_report
from rnnbench.schema import CellResult, SweepCell, result_row


def rows(task: str, model: str, length: int, solved_at: list[int | None], **cell) -> list[dict]:
    rule = tasks.get(task)().solve_rule(length)
    out = []
    for seed, at in enumerate(solved_at):
        c = SweepCell(task=task, model=model, length=length, seed=seed, max_sequences=300_000,
                      **cell)
        r = CellResult(accuracy=0.99, sequences_seen=at or 300_000, sequences_to_solve=at,
                       updates_to_solve=None if at is None else -(-at // c.batch_size),
                       sequences_to_error_level=(at or 250_000) - 1000, status="ok",
                       solve_rule=rule.name if rule else "held-out>=0.95")
        out.append(result_row(c, r))
    return out


def table(records: list[dict]) -> pd.DataFrame:
    df = pd.read_csv(io.StringIO(rows_to_csv_text(records)), dtype=str, keep_default_na=False)
    return build_report(df).tables["paper"].set_index(["task", "length", "model"])


def test_median_over_all_seeds_counts_the_unsolved_above_the_budget():
    assert median_over_all([100.0, 200.0, float("nan")], 1000) == "200"
    assert median_over_all([100.0, float("nan"), float("nan")], 1000) == ">1,000"
    assert median_over_all([100.0, 300.0], 1000) == "200"
    assert median_over_all([100.0, float("nan")], 1000) == ">1,000"  # the middle holds a failure


def test_adding_rows_beside_the_papers_74000():
    online = dict(batch_size=1, optimizer="sgd", learning_rate=0.5)
    records = rows("adding-1997", "numpy-lstm1997", 100, [60_000, None, 90_000], **online)
    records += rows("adding-1997", "keras-lstm", 100, [None, None, 190_000], forget_bias=4.0)
    t = table(records)
    online_row = t.loc[("adding-1997", 100, "numpy-lstm1997")]
    assert online_row["paper"].startswith("74,000")
    assert online_row["solved"] == "2/3"
    assert online_row["median (KM)"] == "90,000"  # 60,000, 90,000 and >300,000
    assert online_row["mean (solved)"] == "75,000"
    assert online_row["median updates"] == "90,000"  # online: one update per sequence
    assert online_row["mean / paper"] == "1"  # 75,000 / 74,000: the paper's statistic
    assert online_row["regime"] == "sgd online, lr 0.5"
    modern = t.loc[("adding-1997", 100, "keras-lstm (fb=4)")]
    assert modern["solved"] == "1/3" and modern["median (KM)"] == ">300,000"
    assert modern["mean / paper"] == "2.6"  # 190,000 over 74,000, beside its 1/3
    assert modern["regime"] == "adam batch 64, lr 0.003"


def test_exp2_is_counted_to_the_start_of_the_success_window():
    """The paper's 5,040 precede its 10,000 successive correct sequences; ours are counted so."""
    records = rows("two-sequence-1997", "numpy-lstm", 100, [12_000, 14_000, 16_000],
                   forget_bias=4.0)
    row = table(records).loc[("two-sequence-1997", 100, "numpy-lstm (fb=4)")]
    assert row["paper"].startswith("5,040")
    assert row["median (KM)"] == "4,000"  # 14,000 - 10,000
    assert row["mean / paper"] == "0.79"


def test_rows_judged_by_another_rule_are_not_put_beside_the_paper():
    records = rows("adding-1997", "numpy-lstm", 100, [90_000, 80_000], forget_bias=4.0)
    records[1]["solve_rule"] = "held-out>=0.95"
    row = table(records).loc[("adding-1997", 100, "numpy-lstm (fb=4)")]
    assert row["solved"] == "1/1" and row["median (KM)"] == "90,000"


def test_tasks_without_a_paper_have_no_such_table():
    records = rows("adding", "numpy-rnn", 10, [2048])
    df = pd.read_csv(io.StringIO(rows_to_csv_text(records)), dtype=str, keep_default_na=False)
    assert "paper" not in build_report(df).tables


def test_a_run_that_fails_the_papers_test_is_not_solved_and_errors_count_as_seeds():
    """As in every table of the report: an error row is a seed run and not solved (censored at
    its budget), and so is a run that broke the test bound: failed seeds are never dropped."""
    online = dict(batch_size=1, optimizer="sgd", learning_rate=0.5)
    records = rows("adding-1997", "numpy-lstm1997", 100, [60_000, 80_000, None], **online)
    records[0]["test_wrong"] = 40  # the paper allows at most 3 wrong of 2,560
    records[1]["test_wrong"] = 2
    records[2].update(status="error", error="RuntimeError: boom", accuracy=None)
    row = table(records).loc[("adding-1997", 100, "numpy-lstm1997")]
    assert row["solved"] == "1/3 (1 more met the rule, failed the test)"
    assert row["mean (solved)"] == "80,000"
    assert row["median (KM)"] == ">300,000"  # 1 of 3 solved: S never reaches 1/2 within budget


def test_nobody_solving_says_by_how_much_of_the_papers_figure():
    records = rows("adding-1997", "numpy-rnn", 100, [None, None])
    row = table(records).loc[("adding-1997", 100, "numpy-rnn")]
    assert row["mean / paper"] == "none by 4.1x" and row["solved"] == "0/2"


def test_a_sweeps_own_dataframe_with_nullable_columns_makes_the_table():
    """What `rnnbench sweep` prints at its end: the rows as run_sweep returns them (Int64 with
    <NA> for an unsolved seed), not as read back from the CSV."""
    online = dict(batch_size=1, optimizer="sgd", learning_rate=0.5)
    records = rows("adding-1997", "numpy-lstm1997", 100, [60_000, None], **online)
    df = pd.read_csv(io.StringIO(rows_to_csv_text(records)))
    for column in ("sequences_to_solve", "updates_to_solve", "test_wrong"):
        df[column] = df[column].astype("Int64")
    row = build_report(df).tables["paper"].set_index(["task", "length", "model"]).loc[
        ("adding-1997", 100, "numpy-lstm1997")]
    assert row["solved"] == "1/2" and row["median (KM)"] == "60,000"  # S(60,000) = 1/2


def test_the_sweeps_closing_table_says_a_papers_rule_judged_the_cells():
    from rnnbench.terminal_table import format_tables

    online = dict(batch_size=1, optimizer="sgd", learning_rate=0.5)
    records = rows("adding-1997", "numpy-lstm1997", 100, [60_000, None], **online)
    records += rows("adding", "numpy-rnn", 10, [2048])
    df = pd.read_csv(io.StringIO(rows_to_csv_text(records)), dtype=str, keep_default_na=False)
    text = format_tables(df)
    held_out_part, paper_part = text.split("adding-1997: ")
    assert paper_part.startswith("accuracy by dependency length")
    assert "paper's test set" in paper_part and "ST3(0.01)" in paper_part
    assert "held-out accuracy" in held_out_part and "(solved: >= 0.95)" in held_out_part


def test_the_longest_correct_run_of_the_unsolved_seeds_says_how_near_they_came():
    """Exp. 2c asks 10,000 successive correct sequences: the unsolved seeds' longest runs (the
    solved seed's is left out) as their median and largest."""
    online = dict(batch_size=1, optimizer="sgd", learning_rate=0.01)
    records = rows("long-lag-1997", "numpy-lstm1997", 100, [40_000, None, None, None], **online)
    for record, run in zip(records, [10_000, 120, 9_400, 800], strict=True):
        record["longest_correct_run"] = run
    row = table(records).loc[("long-lag-1997", 100, "numpy-lstm1997")]
    assert row["solved"] == "1/4"
    assert row["longest correct run (unsolved)"] == "800 (max 9,400)"  # of 120, 800, 9,400
    records = rows("long-lag-1997", "numpy-lstm1997", 100, [None], **online)
    row = table(records).loc[("long-lag-1997", 100, "numpy-lstm1997")]
    assert row["longest correct run (unsolved)"] == ""  # a CSV from before the column
