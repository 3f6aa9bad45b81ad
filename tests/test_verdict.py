"""Every view of a result gives the same verdict: the contradiction of issue 19 on a crafted CSV.

The committed 1997 page once gave four verdicts on one cell group: a figure at 1.00 above a
threshold no paper-rule cell uses, a table cell "1.00 1/5" shaded as solved, a sentence "solves
no length tried" and a paper table "0/5 (1 more met the rule, failed the test)". Here a seed
that met the paper's rule and then broke its test bound, and seeds that solved with a low mean
accuracy, go through every view, and each must say what rnnbench.verdict decided.
"""

from __future__ import annotations

import re

import pytest

from rnnbench.csvlog import rows_to_csv_text
from rnnbench.registry import tasks
from rnnbench.report import build_report, read_text
from rnnbench.schema import CellResult, SweepCell, result_row

ONLINE = dict(batch_size=1, optimizer="sgd", learning_rate=0.5)


def seeds(task: str, model: str, length: int, runs: list[tuple[int | None, int | None, float]],
          budget: int, **cell) -> list[dict]:
    """Rows of (sequences_to_solve, test_wrong, accuracy) per seed under the task's rule."""
    rule = tasks.get(task)().solve_rule(length)
    out = []
    for seed, (at, wrong, accuracy) in enumerate(runs):
        c = SweepCell(task=task, model=model, length=length, seed=seed, max_sequences=budget,
                      **cell)
        r = CellResult(accuracy=accuracy, sequences_seen=at or budget, sequences_to_solve=at,
                       status="ok", solve_rule=rule.name, test_wrong=wrong,
                       test_size=None if wrong is None else 2560)
        out.append(result_row(c, r))
    return out


# (task, label, length) -> the seeds solved of 5, as the paper's rule and test decide
EXPECTED = {
    ("adding-1997", "numpy-lstm1997", 100): 0,  # 1 met the rule, broke the test: 0/5
    ("adding-1997", "numpy-lstm (fb=4)", 100): 1,  # 2 met the rule, 1 broke the test
    ("noise-1997", "numpy-lstm (fb=4)", 100): 3,  # solved 3/5 with a mean accuracy of 0.6
}


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    records = seeds("adding-1997", "numpy-lstm1997", 100,
                    [(200_000, 40, 1.0)] + [(None, None, 0.99)] * 4, 400_000, **ONLINE)
    records += seeds("adding-1997", "numpy-lstm", 100,
                     [(150_000, 1, 1.0), (250_000, 9, 1.0)] + [(None, None, 0.98)] * 3,
                     300_000, forget_bias=4.0)
    records += seeds("noise-1997", "numpy-lstm", 100,
                     [(14_000, 0, 1.0), (16_000, 0, 1.0), (30_000, 0, 1.0),
                      (None, None, 0.0), (None, None, 0.0)], 50_000, forget_bias=4.0)
    path = tmp_path_factory.mktemp("verdict") / "crafted.csv"
    path.write_text(rows_to_csv_text(records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def report(crafted):
    return build_report(read_text(crafted), study="crafted")


def test_the_summary_counts_the_test_bound(report):
    for (task, label, length), k in EXPECTED.items():
        row = report.summary.loc[(task, label, length)]
        assert (row["solved"], row["n"]) == (k, 5), (task, label)
        assert bool(row["paper_rule"])


def test_every_table_agrees(report):
    from rnnbench.terminal_table import format_tables

    accuracy = report.tables["accuracy"]
    efficiency = report.tables["sample_efficiency"]
    paper = report.tables["paper"].set_index(["task", "length", "model"])
    critical = report.tables["critical_length"]
    terminal = format_tables(report)
    for (task, label, length), k in EXPECTED.items():
        assert f"(solved {k}/5" in accuracy.loc[(task, label), length]
        assert efficiency.loc[(task, label, length), "solved"].startswith(f"{k}/5")
        assert paper.loc[(task, length, label), "solved"].startswith(f"{k}/5")
        line = next(ln for ln in terminal.split(f"{task}: ", 1)[1].splitlines()
                    if ln.startswith(label + " "))
        assert line.split()[-1] == f"{k}/5", line
        expected_critical = f"{length} ({k}/5 seeds)" if 2 * k >= 5 else "none"
        assert critical.loc[(task, label), "critical length"] == expected_critical


def test_the_page_agrees_in_sentence_cell_and_shade(report):
    from rnnbench import webpage

    for (task, label, length), k in EXPECTED.items():
        sentence = webpage.lesson(report, task)
        if 2 * k >= 5:
            assert f"{label} solves every length tried, up to {length} ({k}/5 seeds there)" \
                in sentence
        else:
            assert re.search(rf"{re.escape(label)}( and [^;]*)? solves? no length tried",
                             sentence), sentence
        table = webpage.task_table(report, task)
        row = table[table.index(f'<td class="label" data-label="model">{label}</td>'):]
        cell = re.search(r'<td title="[^"]*"( style="[^"]*")? data-label="[^"]*">([^<]*)</td>',
                         row)
        assert cell.group(2).endswith(f" {k}/5")
        # a paper's rule decided: the cell is shaded by the fraction solved, white at 0/5
        lightness = float(re.search(r"hsl\(212,60%,(\d+)%\)", cell.group(1)).group(1))
        assert lightness == pytest.approx(97 - 67 * k / 5, abs=0.5)
        assert "paper's rule met, then its bound on test errors kept" in table


def test_the_figures_show_what_the_rule_decided(report):
    pytest.importorskip("matplotlib")
    from rnnbench import plots

    for (task, label, length), k in EXPECTED.items():
        assert plots.judged_by_paper(report, task)  # no held-out threshold line applies
        curve = plots.solved_curves(report, task)[(label, length)]
        assert curve.solved[-1] == pytest.approx(k / 5)  # unsolved seeds censored at the budget
        assert plots.figure_png(report, task).startswith(b"\x89PNG")


def test_typed_rows_get_the_same_verdict(crafted):
    """`rnnbench.read_results` (nullable Int64 with <NA>, as a sweep returns) gives the verdict
    the text rows gave."""
    import rnnbench

    typed = rnnbench.read_results(crafted)
    assert str(typed["sequences_to_solve"].dtype) == "Int64"
    assert typed["sequences_to_solve"].isna().sum() == 9  # unsolved seeds: <NA>, not NaN floats
    assert set(typed["label"]) == {"numpy-lstm1997", "numpy-lstm (fb=4)"}
    again = build_report(typed)
    for key, k in EXPECTED.items():
        assert again.summary.loc[key, "solved"] == k


def test_read_results_keeps_every_model_configuration():
    """The README's claim, on the committed teaching CSV: grouping on the label keeps all 28
    (task, model configuration, length) groups; grouping on forget_bias keeps the 18 whose bias
    is set (pandas drops NaN keys), losing the 10 of the models without a forget gate."""
    from pathlib import Path

    import rnnbench

    df = rnnbench.read_results(Path(__file__).resolve().parent.parent / "results" / "teaching.csv")
    configurations = df[["task", "model", "forget_bias", "length"]].astype(str).drop_duplicates()
    assert df.groupby(["task", "label", "length"]).ngroups == len(configurations) == 28
    assert df.groupby(["task", "model", "forget_bias", "length"]).ngroups == 18
    assert str(df["num_params"].dtype) == "Int64" and str(df["status"].dtype) == "string"
    assert set(df["label"]) == {"keras-lstm (fb=1)", "keras-lstm (fb=4)", "keras-simplernn",
                                "numpy-rnn", "keras-gru (fb=1)", "keras-gru (fb=4)"}


def test_a_sweeps_rows_with_missing_text_are_judged():
    """A crashed row of a sweep's own DataFrame has <NA> (pandas.NA) for solve_rule and counts:
    judged as an unsolved seed, not a traceback at the end of the sweep."""
    import pandas as pd

    from rnnbench.verdict import judge

    df = pd.DataFrame({
        "task": ["adding", "adding"], "length": [10, 10],
        "status": pd.array(["ok", "crashed"], dtype="string"),
        "solve_rule": pd.array(["held-out>=0.95", pd.NA], dtype="string"),
        "sequences_to_solve": pd.array([2048, pd.NA], dtype="Int64"),
        "sequences_seen": pd.array([2048, 512], dtype="Int64"),
        "max_sequences": pd.array([64000, 64000], dtype="Int64"),
    })
    judged = judge(df)
    assert list(judged["solved"]) == [True, False]
    assert list(judged["counted"]) == [True, True]
    assert judged["censored_at"].iloc[1] == 64000  # a crash is not solving, within the budget
    assert judged["spent"].iloc[1] == 512


# A group whose failed seeds ended in error, crashed and diverged: every view counts them as
# seeds run and not solved (n = 5), none leaves them out (issue 19: failed seeds are counted).
FAILED = ("temporal-order-1997", "numpy-lstm1997", 100)


@pytest.fixture(scope="module")
def with_failures(tmp_path_factory):
    task, model, length = FAILED
    records = seeds(task, model, length, [(20_000, 0, 1.0), (30_000, 1, 1.0)] + [
        (None, None, 0.5)] * 3, 200_000, **ONLINE)
    records[2].update(status="error", error="RuntimeError: boom", accuracy=None,
                      sequences_seen=None, solve_rule=None)
    records[3].update(status="crashed", error="worker died", accuracy=None,
                      sequences_seen=None, solve_rule=None, max_sequences=None)
    records[4].update(status="diverged", sequences_seen=5_000)
    path = tmp_path_factory.mktemp("failed") / "failed.csv"
    path.write_text(rows_to_csv_text(records), encoding="utf-8")
    return build_report(read_text(path), study="failed")


def test_error_crashed_and_diverged_seeds_count_in_every_view(with_failures):
    from rnnbench import plots, webpage
    from rnnbench.terminal_table import format_tables

    report = with_failures
    task, label, length = FAILED
    row = report.summary.loc[FAILED]
    assert (row["solved"], row["n"]) == (2, 5)
    assert report.tables["accuracy"].loc[(task, label), length].endswith("(solved 2/5)")
    assert report.tables["sample_efficiency"].loc[FAILED, "solved"].startswith("2/5")
    paper = report.tables["paper"].set_index(["task", "length", "model"])
    assert paper.loc[(task, length, label), "solved"] == "2/5"
    # 20,000 and 30,000 solved; three censored at the budget: S never reaches 1/2
    assert paper.loc[(task, length, label), "median (KM)"] == ">200,000"
    assert report.tables["critical_length"].loc[(task, label), "critical length"] == "none"
    line = next(ln for ln in format_tables(report).split(f"{task}: ", 1)[1].splitlines()
                if ln.startswith(label + " "))
    assert line.split()[-1] == "2/5", line
    table = webpage.task_table(report, task)
    row_html = table[table.index(f'<td class="label" data-label="model">{label}</td>'):]
    assert re.search(r'<td title="[^"]*"[^>]*>[^<]* 2/5</td>', row_html)
    curve = plots.solved_curves(report, task)[(label, length)]
    assert curve.n == 5 and curve.solved[-1] == pytest.approx(2 / 5)
    assert any("status error (1)" in note for note in report.notes)
    assert not any("cells missing" in note for note in report.notes)
