"""The command line on the real click group: sweeps, resume, listing, and every bad input."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import rnnbench
from rnnbench.cli import main
from rnnbench.schema import COLUMNS
from rnnbench.study import StudySpec

REPO = Path(__file__).resolve().parent.parent
SMOKE_SPEC = REPO / "tasks" / "smoke.toml"

NUMPY_ONLY = ["--model", "numpy-rnn"]


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.mark.slow
def test_smoke_sweep_writes_every_column_and_prints_the_table(tmp_path):
    out = tmp_path / "smoke.csv"
    result = run("sweep", SMOKE_SPEC, "--out", out)
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out)
    assert list(df.columns) == COLUMNS
    spec = StudySpec.from_toml(SMOKE_SPEC)
    assert len(df) == len(spec.cells()) == 2 * 2 * 3  # tasks x lengths x models, 1 seed
    assert set(df["status"]) == {"ok"}, df[["model", "error"]]
    assert set(df["model"]) == {"numpy-rnn", "keras-simplernn", "keras-lstm"}
    assert df.loc[df["model"] == "keras-lstm", "forget_bias"].eq(1.0).all()
    assert df.loc[df["model"] != "keras-lstm", "forget_bias"].isna().all()
    assert (df["num_params"] > 0).all() and (df["sequences_seen"] == 512).all()
    for task, chance in (("adding", 0.0784), ("delayed-recall", 0.125)):
        assert df.loc[df["task"] == task, "chance_accuracy"].round(4).eq(chance).all()
    # one table per task: rows model, columns that task's lengths, "mean solved/seeds"
    lines = result.output.splitlines()
    table_rows = [line for line in lines if re.search(r"\d\.\d\d [01]/1\b", line)]
    assert len(table_rows) == 6  # (task, model) pairs
    assert "delayed-recall: held-out accuracy by dependency length" in lines
    table = lines[lines.index("adding: held-out accuracy by dependency length"):]
    assert all(len(line) <= 100 for line in table if not line.startswith("The table")), table
    assert "cells: mean held-out accuracy over seeds, seeds solved/run" in result.output
    assert f"The table covers the 12 cells of study 'smoke'; their rows are in {out}." \
        in result.output


def test_rerun_resumes_without_repeating_and_api_returns_the_csv(tmp_path):
    out = tmp_path / "r.csv"
    args = ["sweep", SMOKE_SPEC, *NUMPY_ONLY, "--out", out]
    assert run(*args, "--lengths", "4").exit_code == 0
    first = pd.read_csv(out)
    assert len(first) == 2
    result = run(*args, "--lengths", "4,6")
    assert result.exit_code == 0
    assert result.output.count("numpy-rnn") >= 2
    second = pd.read_csv(out)
    assert len(second) == 4 and not second.duplicated(["task", "length", "seed"]).any()
    pd.testing.assert_frame_equal(second.iloc[:2], first)  # earlier rows untouched
    # the Python API: same rows and columns as the CSV (all already done, so nothing reruns)
    df = rnnbench.sweep(spec=str(SMOKE_SPEC), models=["numpy-rnn"], lengths=[4, 6], out=str(out),
                        progress=False)
    assert str(df["error"].dtype) == "string" and str(df["sequences_to_solve"].dtype) == "Int64"
    # and the command line says it trained nothing, and how to start over
    result = run(*args, "--lengths", "4,6")
    assert "4 of 4 cells already in" in result.output and "(study 'smoke', written " in \
        result.output and "; nothing to train. Use --fresh to start over" in result.output
    # (in the study's cell order; the CSV holds them in the order they finished)
    key = ["task", "length", "seed"]
    pd.testing.assert_frame_equal(
        df.sort_values(key, ignore_index=True).astype(object).fillna(np.nan),
        second.sort_values(key, ignore_index=True).astype(object).fillna(np.nan),
        check_dtype=False,
    )


def test_numpy_rows_are_identical_run_to_run(tmp_path):
    a = rnnbench.sweep(spec=str(SMOKE_SPEC), models=["numpy-rnn"], seeds=2)
    b = rnnbench.sweep(spec=str(SMOKE_SPEC), models=["numpy-rnn"], seeds=2)
    columns = [c for c in COLUMNS if c != "wall_seconds"]
    pd.testing.assert_frame_equal(a[columns], b[columns])


def test_list_names_tasks_models_and_sources():
    result = run("list")
    assert result.exit_code == 0
    for name in ("adding", "delayed-recall", "numpy-rnn", "keras-simplernn", "keras-lstm"):
        assert name in result.output
    assert "[built-in]" in result.output


def test_help_and_list_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from rnnbench.cli import main\n"
        "for args in (['--help'], ['list'], ['sweep', '--help']):\n"
        "    assert CliRunner().invoke(main, args).exit_code == 0\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'pandas', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_installed_console_script_starts():
    exe = shutil.which("rnnbench")
    assert exe, "the rnnbench console script is not installed"
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True).stdout
    assert "rnnbench" in out and "sweep" in out


def test_teaching_toml_is_the_built_in_default():
    assert StudySpec.from_toml(REPO / "tasks" / "teaching.toml") == StudySpec.teaching()
    assert StudySpec.teaching().task_names() == ["delayed-recall", "adding-1997"]


# -- bad input: one line, exit code 2, nothing written ------------------------------------------


def test_unknown_task_lists_known(tmp_path):
    out = tmp_path / "x.csv"
    result = run("sweep", SMOKE_SPEC, "--task", "nope", "--lengths", "3", "--out", out)
    one_line_error(result, "unknown task 'nope'",
                   "adding, adding-1997, adding-bai2018, copy-memory, copy-memory-bai2018, "
                   "delayed-recall")
    assert not out.exists()


def test_unknown_model_lists_known(tmp_path):
    result = run("sweep", SMOKE_SPEC, "--model", "gru", "--out", tmp_path / "x.csv")
    one_line_error(result, "unknown model 'gru'", "keras-lstm", "numpy-rnn")


def test_length_below_task_minimum(tmp_path):
    result = run("sweep", SMOKE_SPEC, "--task", "adding", "--lengths", "1",
                 "--out", tmp_path / "x.csv")
    one_line_error(result, "length 1", "'adding'", ">= 2")


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ('seeds = "three"\n', ["seeds = 'three'", "a positive count, or a list"]),
        ("epochs = 3\n", ["unknown key 'epochs'", "allowed keys"]),
        ("lengths = [5, -\n", ["not valid TOML"]),
        ("max_sequences = {adding = 0}\n", ["max_sequences", "positive integer"]),
    ],
)
def test_malformed_spec_names_the_key(tmp_path, text, fragments):
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    one_line_error(run("sweep", spec, "--out", tmp_path / "x.csv"), str(spec), *fragments)


def test_missing_spec_file(tmp_path):
    one_line_error(run("sweep", tmp_path / "none.toml"), "cannot read spec file", "none.toml")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; see the folder case")
def test_unwritable_output_path(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    one_line_error(run("sweep", SMOKE_SPEC, "--out", locked / "x.csv"), "cannot write results")


def test_output_path_under_a_file_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run("sweep", SMOKE_SPEC, *NUMPY_ONLY, "--out", blocker / "x.csv")
    one_line_error(result, "cannot write results", str(blocker / "x.csv"))


def test_output_that_is_not_a_results_csv_is_left_alone(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    result = run("sweep", SMOKE_SPEC, *NUMPY_ONLY, "--out", other)
    one_line_error(result, "not a results CSV", "--fresh")
    assert other.read_text() == "a,b\n1,2\n"


def test_bad_lengths_option_is_a_usage_error(tmp_path):
    result = run("sweep", SMOKE_SPEC, "--lengths", "5,x", "--out", tmp_path / "x.csv")
    assert result.exit_code == 2 and "list of integers" in result.output
    assert "Traceback" not in result.output


def test_csv_values_are_plain_numbers_whatever_their_numpy_type():
    import numpy as np

    from rnnbench.csvlog import cell_text

    assert cell_text(np.float64(0.125)) == "0.125"
    assert cell_text(np.float32(0.5)) == "0.5"
    assert cell_text(np.int64(7)) == "7"
    assert cell_text(float("nan")) == "" and cell_text(None) == ""


def test_a_reader_that_leaves_the_pipe_early_is_no_error():
    """`rnnbench report x.csv | head -1`: the reader closes the pipe while rnnbench still writes
    (here before it writes at all), and rnnbench stops quietly (no 'Error: Broken pipe', exit 0)."""
    csv = Path(__file__).resolve().parents[1] / "results" / "hochreiter1997.csv"
    proc = subprocess.Popen([sys.executable, "-c", "from rnnbench.cli import main; main()",
                             "report", str(csv)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()  # the reader leaves: every write rnnbench makes meets a closed pipe
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and b"Broken pipe" not in err, err.decode()
