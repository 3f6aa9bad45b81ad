"""`rnnbench report`: exact tables on a CSV built here, its notes, its errors, figures and HTML."""

from __future__ import annotations

import csv
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from rnnbench.cli import main
from rnnbench.schema import COLUMNS

DATA = Path(__file__).resolve().parent / "data"
SMOKE_CSV = DATA / "smoke_results.csv"  # 12 real rows of `rnnbench sweep tasks/smoke.toml`

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# (task, model, forget_bias, length, seed, accuracy, sequences_to_solve, wall_seconds, status)
ROWS = [
    # seed 0 of lstm at length 10, first run; rerun below, the later row wins
    ("adding", "keras-lstm", 1.0, 10, 0, 0.10, "", 9.0, "ok"),
    ("adding", "keras-lstm", 1.0, 10, 0, 0.96, 2048, 1.0, "ok"),
    ("adding", "keras-lstm", 1.0, 10, 1, 0.98, 4096, 2.0, "ok"),
    ("adding", "keras-lstm", 1.0, 10, 2, 1.00, 6144, 3.0, "ok"),
    ("adding", "keras-lstm", 1.0, 100, 0, 0.97, 10000, 4.0, "ok"),
    ("adding", "keras-lstm", 1.0, 100, 1, 0.50, "", 5.0, "ok"),
    ("adding", "keras-lstm", 1.0, 100, 2, 0.96, 20000, 6.0, "ok"),
    ("adding", "keras-simplernn", "", 10, 0, 0.96, 8192, 1.0, "ok"),
    ("adding", "keras-simplernn", "", 10, 1, 0.40, "", 1.0, "ok"),
    ("adding", "keras-simplernn", "", 10, 2, 0.30, "", 1.0, "ok"),
    ("adding", "keras-simplernn", "", 100, 0, 0.10, "", 1.0, "ok"),
    ("adding", "keras-simplernn", "", 100, 1, 0.12, "", 1.0, "ok"),
    ("adding", "keras-simplernn", "", 100, 2, "", "", 1.0, "diverged"),
    # a plugin task and model rnnbench has never heard of; one of its cells failed
    ("my-copy", "my-cell", "", 5, 0, 1.00, 100, 0.5, "ok"),
    ("my-copy", "my-cell", "", 5, 1, "", "", 0.1, "error"),
]
PARAMS = {"keras-lstm": 4513, "keras-simplernn": 1153, "my-cell": 77}


def write_results(path: Path, rows=ROWS, extra: bool = True) -> Path:
    """A results CSV with every harness column, plus a column from a newer rnnbench."""
    columns = COLUMNS + (["grad_ratio_init"] if extra else [])
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for task, model, fb, length, seed, acc, sts, wall, status in rows:
            writer.writerow({
                "task": task, "model": model, "length": length, "seed": seed, "units": 32,
                "max_sequences": 64000, "batch_size": 64, "learning_rate": 0.003,
                "forget_bias": fb, "chunk_size": 2048, "eval_size": 1000,
                "solve_threshold": 0.95, "accuracy": acc, "best_accuracy": acc,
                "sequences_seen": sts or 64000, "sequences_to_solve": sts, "final_loss": 0.01,
                "wall_seconds": wall, "num_params": PARAMS[model],
                "chance_accuracy": 0.25 if task == "my-copy" else 0.08, "status": status,
                "error": "ValueError: boom" if status == "error" else "",
                **({"grad_ratio_init": 0.5} if extra else {}),
            })
    return path


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return write_results(tmp_path / "study.csv")


@pytest.fixture
def built(results: Path):
    from rnnbench.report import build_report, read_results

    return build_report(read_results(results), study="study")


LSTM = ("adding", "keras-lstm (fb=1)")
SRNN = ("adding", "keras-simplernn")
PLUGIN = ("my-copy", "my-cell")


def test_accuracy_table_mean_sd_solved(built):
    table = built.tables["accuracy"]
    assert list(table.columns) == [5, 10, 100]
    assert table.loc[LSTM, 10] == "0.98 ± 0.02 (solved 3/3)"  # the rerun row replaced 0.10
    assert table.loc[LSTM, 100] == "0.81 ± 0.27 (solved 2/3)"
    assert table.loc[SRNN, 10] == "0.55 ± 0.36 (solved 1/3)"
    # diverged: an unsolved seed (n = 3); it recorded no accuracy, so the mean is over two
    assert table.loc[SRNN, 100] == "0.11 ± 0.01 (solved 0/3)"
    # the error row is a seed run and not solved (n = 2); it recorded no accuracy for the mean
    assert table.loc[PLUGIN, 5] == "1.00 (solved 1/2)"
    # lengths a task never ran stay empty
    assert table.loc[LSTM, 5] == "" and table.loc[PLUGIN, 10] == ""


def test_summary_numbers(built):
    row = built.summary.loc[("adding", "keras-lstm (fb=1)", 100)]
    assert row["n"] == 3 and row["solved"] == 2
    assert row["mean"] == pytest.approx(0.81)
    assert row["sd"] == pytest.approx(0.268514, abs=1e-6)
    assert (row["min"], row["max"]) == (pytest.approx(0.50), pytest.approx(0.97))
    # over all three seeds, the unsolved one counted above the budget: median(10000, 20000, inf)
    assert row["median_sequences_to_solve"] == 20000
    assert row["chance"] == pytest.approx(0.08)


def test_critical_length(built):
    table = built.tables["critical_length"]
    assert table.loc[LSTM, "critical length"] == "100 (2/3 seeds)"  # with the seeds behind it
    assert table.loc[LSTM, "lengths solved by half the seeds"] == "10, 100"
    assert table.loc[SRNN, "critical length"] == "none"  # 1/3 at 10 is less than half
    assert table.loc[SRNN, "lengths tested"] == "10, 100"
    assert table.loc[PLUGIN, "critical length"] == "5 (1/2 seeds)"  # the error seed counts


def test_sample_efficiency_counts_the_unsolved_seeds(built):
    """Kaplan-Meier median (unsolved seeds censored at the 64,000 budget, not dropped), the
    Wilson interval of k/n and the expected running time, each worked out by hand."""
    table = built.tables["sample_efficiency"]
    lstm10 = table.loc[(*LSTM, 10)]
    assert lstm10["solved"] == "3/3" and lstm10["median to solve (KM)"] == "4,096"
    assert lstm10["expected running time"] == "4,096"  # (2,048 + 4,096 + 6,144) / 3
    lstm100 = table.loc[(*LSTM, 100)]
    assert lstm100["median to solve (KM)"] == "20,000"  # S(10,000) = 2/3, S(20,000) = 1/3
    assert lstm100["solved 95% CI"] == "0.21-0.94"  # Wilson, 2 of 3
    assert lstm100["expected running time"] == "47,000"  # (10,000 + 20,000 + 64,000) / 2
    srnn10 = table.loc[(*SRNN, 10)]
    assert srnn10["median to solve (KM)"] == ">64,000"  # S stays at 2/3 within the budget
    assert srnn10["expected running time"] == "136,192"  # (8,192 + 2 x 64,000) / 1
    srnn100 = table.loc[(*SRNN, 100)]
    assert srnn100["solved"] == "0/3" and srnn100["expected running time"] == ">64,000"
    assert table.loc[(*PLUGIN, 5), "median to solve (KM)"] == "100"


def test_cost(built):
    table = built.tables["cost"]
    assert table.loc[LSTM].to_dict() == {
        "parameters": "4,513", "cells": 6, "median s/cell": "3.50", "total s": "21.0",
    }
    assert table.loc[PLUGIN, "cells"] == 2  # the error row cost time too
    assert table.loc[PLUGIN, "median s/cell"] == "0.30"


def test_notes_say_how_rows_counted(built):
    notes = "\n".join(built.notes)
    assert "1 row repeated the config of a later row" in notes and "last row" in notes
    assert "rows with status error (1): seeds that ran and did not solve, counted in n" in notes
    assert "stopped early (1 diverged): unsolved seeds" in notes
    assert "incomplete grid" not in notes  # the error row is a seed run, not a hole
    assert "adding /" not in notes  # the adding grid is complete


def test_report_command_prints_every_table(results: Path):
    result = CliRunner().invoke(main, ["report", str(results)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for title in ("Accuracy against dependency length", "Critical length", "Sample efficiency",
                  "Cost"):
        assert title in out
    assert "0.81 ± 0.27 (solved 2/3)" in out and "47,000" in out  # an expected running time
    assert "Note: rows with status error (1): seeds that ran and did not solve" in out


def test_sweep_prints_the_same_main_table(results: Path):
    """`rnnbench sweep` prints format_table of its numeric DataFrame: the report's main table."""
    import pandas as pd

    from rnnbench.report import format_table

    main_table = format_table(pd.read_csv(results))
    assert "0.98 ± 0.02 (solved 3/3)" in main_table
    printed = CliRunner().invoke(main, ["report", str(results)]).stdout
    table_text = main_table.split("\nNote:")[0]
    assert table_text in printed


def test_partial_csv_says_what_is_missing(tmp_path: Path):
    """An interrupted sweep: simplernn stopped after its first length."""
    rows = [r for r in ROWS[1:13] if not (r[1] == "keras-simplernn" and r[3] == 100)]
    rows = [r for r in rows if not (r[1] == "keras-lstm" and r[3] == 100 and r[4] == 2)]
    path = write_results(tmp_path / "partial.csv", rows)
    result = CliRunner().invoke(main, ["report", str(path)])
    assert result.exit_code == 0, result.output
    assert "incomplete grid: adding / keras-lstm (fb=1): 1 of 6 cells missing" in result.stdout
    assert "adding / keras-simplernn: no rows at length 100 (not in its study, or not run yet)" \
        in result.stdout
    assert "0.73 ± 0.33 (solved 1/2)" in result.stdout  # lstm at 100, two seeds so far
    accuracy_table = result.stdout.split("Critical length")[0]
    assert "not run" in accuracy_table  # simplernn at 100: no row at all


def test_merged_csvs_keep_the_last_row(tmp_path: Path):
    first = write_results(tmp_path / "a.csv", ROWS[:4])
    second = write_results(tmp_path / "b.csv", ROWS[1:4])
    merged = tmp_path / "merged.csv"
    lines = first.read_text().splitlines() + second.read_text().splitlines()[1:]
    merged.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["report", str(merged)])
    assert result.exit_code == 0, result.output
    assert "4 rows repeated the config of a later row" in result.stdout
    assert "0.98 ± 0.02 (solved 3/3)" in result.stdout


def test_model_variants_are_not_pooled(tmp_path: Path):
    """Two sweeps with different widths merged: each width is its own row."""
    path = write_results(tmp_path / "widths.csv", ROWS[1:4])
    text = path.read_text()
    wider = "\n".join(line.replace(",32,", ",64,", 1) for line in text.splitlines()[1:])
    path.write_text(text + wider + "\n")
    from rnnbench.report import build_report, read_results

    built = build_report(read_results(path))
    labels = list(built.tables["accuracy"].index.get_level_values("model"))
    assert labels == ["keras-lstm (fb=1, units=32)", "keras-lstm (fb=1, units=64)"]
    assert any("differ in units" in n for n in built.notes)


def test_missing_columns_one_line_exit_2(tmp_path: Path):
    path = tmp_path / "other.csv"
    path.write_text("task,model,length,loss\nadding,lstm,10,0.1\n")
    result = CliRunner().invoke(main, ["report", str(path)])
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1
    assert "missing columns seed, accuracy, sequences_to_solve" in message


def _empty_file(folder: Path) -> Path:
    (folder / "empty.csv").write_text("")
    return folder / "empty.csv"


@pytest.mark.parametrize("make, expected", [
    (lambda d: d, "is not a file"),
    (lambda d: d / "nope.csv", "no such file"),
    (_empty_file, "is empty"),
])
def test_not_a_results_file(tmp_path: Path, make, expected):
    result = CliRunner().invoke(main, ["report", str(make(tmp_path))])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert expected in result.stderr


def test_bad_number_is_skipped_with_a_warning(tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text("task,model,length,seed,accuracy,sequences_to_solve\nadding,m,ten,0,0.5,\n")
    result = CliRunner().invoke(main, ["report", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 row does not parse" in result.stderr
    assert "line 2: length = 'ten' is not a number" in result.stderr
    assert "no result rows yet" in result.stdout


def test_minimal_columns_and_header_only(tmp_path: Path):
    path = tmp_path / "minimal.csv"
    path.write_text("task,model,length,seed,accuracy,sequences_to_solve\n")
    result = CliRunner().invoke(main, ["report", str(path)])
    assert result.exit_code == 0 and "no result rows yet" in result.stdout
    path.write_text(path.read_text() + "t,m,3,0,0.5,\nt,m,3,1,0.7,40\n")
    result = CliRunner().invoke(main, ["report", str(path)])
    assert result.exit_code == 0, result.output
    assert "0.60 ± 0.14 (solved 1/2)" in result.stdout
    assert "Cost" in result.stdout  # no parameters or wall time: only the cell count


def test_out_plot_html_files(results: Path, tmp_path: Path):
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["report", str(results), "--out", str(out), "--plot",
                                       "--html"])
    assert result.exit_code == 0, result.output
    for name in ("accuracy", "critical_length", "sample_efficiency", "cost"):
        assert (out / f"study_{name}.csv").is_file()
        markdown = (out / f"study_{name}.md").read_text(encoding="utf-8")
        assert markdown.count("\n| ") >= 3 and "|---|" in markdown
    assert "| adding | keras-lstm (fb=1) |  | 0.98 ± 0.02 (solved 3/3) |" in (
        out / "study_accuracy.md").read_text(encoding="utf-8")
    assert (out / "study_summary.csv").is_file()
    for task in ("adding", "my-copy"):
        png = (out / f"study_{task}.png").read_bytes()
        assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    page = (out / "study.html").read_text(encoding="utf-8")
    assert page.count('<img src="data:image/png;base64,') == 2
    assert "<table" in page and "0.81 ± 0.27 (solved 2/3)" in page and "47,000" in page
    assert "rows with status error (1)" in page
    assert "src=\"http" not in page and "<script" not in page  # self-contained


def test_plot_defaults_to_the_csv_folder(tmp_path: Path):
    path = write_results(tmp_path / "smoke.csv", [r for r in ROWS if r[0] == "adding"])
    result = CliRunner().invoke(main, ["report", str(path), "--plot"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "smoke_adding.png").read_bytes().startswith(PNG_MAGIC)
    assert not list(tmp_path.glob("*.md"))  # tables are written only with --out


def test_real_smoke_csv(tmp_path: Path):
    result = CliRunner().invoke(main, ["report", str(SMOKE_CSV), "--out", str(tmp_path),
                                       "--html"])
    assert result.exit_code == 0, result.output
    assert "keras-lstm (fb=1)" in result.stdout and "(solved 0/1)" in result.stdout
    assert "Note:" not in result.stdout  # a complete, clean grid needs no notes
    assert (tmp_path / "smoke_results.html").stat().st_size > 20_000


def test_report_never_imports_tensorflow(results: Path, tmp_path: Path):
    code = textwrap.dedent(f"""
        import sys
        from click.testing import CliRunner
        from rnnbench.cli import main
        r = CliRunner().invoke(main, ["report", {str(results)!r}, "--out", {str(tmp_path)!r},
                                      "--plot", "--html"])
        assert r.exit_code == 0, r.output
        heavy = sorted({{m.split(".")[0] for m in sys.modules}} & {{"tensorflow", "keras"}})
        print("heavy:", heavy)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "heavy: []" in done.stdout


def test_help_imports_no_pandas_or_matplotlib():
    code = ("import sys\nfrom click.testing import CliRunner\nfrom rnnbench.cli import main\n"
            "r = CliRunner().invoke(main, ['report', '--help'])\nassert r.exit_code == 0\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'pandas', 'matplotlib', 'tensorflow', 'keras'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
