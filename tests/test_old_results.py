"""Old results stay usable: a results CSV written before a column was added resumes and reports.

The reference is a CSV this project's own history wrote (results/teaching.csv of commit c9fabc1,
23 columns: no backend, optimizer or rule settings and none of the 1997 result columns), and the
same rows with only the newest result columns cut off.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from rnnbench.cli import main
from rnnbench.csvlog import parse_rows
from rnnbench.runner import run_sweep
from rnnbench.schema import CELL_COLUMNS, COLUMNS, SweepCell

# The first two rows of results/teaching.csv as commit c9fabc1 wrote it (an older rnnbench).
OLD_HEADER = ("task,model,length,seed,units,max_sequences,batch_size,learning_rate,forget_bias,"
              "chunk_size,eval_size,solve_threshold,accuracy,best_accuracy,sequences_seen,"
              "sequences_to_solve,final_loss,wall_seconds,num_params,chance_accuracy,"
              "grad_ratio_init,status,error")
OLD_ROWS = [
    "adding,numpy-rnn,5,1,32,32000,64,0.003,,2048,1000,0.95,0.38,0.38,32000,,"
    "0.006891393032856285,0.147,1153,0.07840000000000003,0.6392343640327454,ok,",
    "adding,numpy-rnn,5,0,32,32000,64,0.003,,2048,1000,0.95,0.368,0.483,32000,,"
    "0.00561540542403236,0.207,1153,0.07840000000000003,0.7576311230659485,ok,",
]
NEWEST = COLUMNS[-3:]  # the last columns added (a file missing them appends them, in order)


def tiny(seed: int, **kw) -> SweepCell:
    base = {"task": "adding", "model": "numpy-rnn", "length": 4, "seed": seed,
            "max_sequences": 64, "chunk_size": 64, "eval_size": 16}
    return SweepCell(**{**base, **kw})


def without(text: str, dropped: list[str]) -> str:
    """The CSV text with these columns cut out, as an older rnnbench would have written it."""
    rows = list(csv.reader(io.StringIO(text)))
    keep = [i for i, name in enumerate(rows[0]) if name not in dropped]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([[r[i] for i in keep] for r in rows])
    return out.getvalue()


def test_a_csv_missing_the_newest_columns_resumes_without_rerunning(tmp_path: Path):
    out = tmp_path / "r.csv"
    run_sweep([tiny(0), tiny(1)], out=out)
    written = out.read_text()
    out.write_text(without(written, NEWEST))
    before = parse_rows(out.read_bytes()).rows
    said: list[str] = []
    df = run_sweep([tiny(0), tiny(1), tiny(2)], out=out, warn=said.append)
    parsed = parse_rows(out.read_bytes())
    assert parsed.header == COLUMNS and not parsed.bad
    assert len(parsed.rows) == 3 and len(df) == 3  # two kept, one run: nothing ran twice
    for old, now in zip(before, parsed.rows[:2], strict=True):
        assert {k: now[k] for k in old} == old  # every value kept
        assert all(now[c] == "" for c in NEWEST)  # missing results read as empty
    assert parsed.rows[2]["seed"] == "2" and parsed.rows[2]["status"] == "ok"
    assert len(said) == 1 and all(c in said[0] for c in NEWEST)


def test_a_csv_of_an_older_rnnbench_resumes_and_reports(tmp_path: Path):
    out = tmp_path / "teaching.csv"
    out.write_text("\n".join([OLD_HEADER, *OLD_ROWS]) + "\n")
    report = CliRunner().invoke(main, ["report", str(out)])
    assert report.exit_code == 0, report.output
    # the old rows' cells: settings the old file lacks ran at what is now their default
    old_cells = [tiny(s, length=5, max_sequences=32000, chunk_size=2048, eval_size=1000)
                 for s in (1, 0)]
    df = run_sweep(old_cells, out=out, memory_limit="none")
    assert list(df["accuracy"]) == [0.38, 0.368]  # found done, not run again
    parsed = parse_rows(out.read_bytes())
    assert parsed.header[:23] == OLD_HEADER.split(",") and set(parsed.header) == set(COLUMNS)
    assert parsed.rows[0]["optimizer"] == SweepCell.optimizer and parsed.rows[0]["test_size"] == ""


def test_columns_in_another_order_and_unknown_ones_are_kept(tmp_path: Path):
    out = tmp_path / "r.csv"
    run_sweep([tiny(0)], out=out)
    rows = list(csv.reader(io.StringIO(out.read_text())))
    order = [*reversed(COLUMNS), "note"]  # as a user's pandas might have saved it, with a note
    index = {name: i for i, name in enumerate(rows[0])}
    lines = [order] + [[r[index[c]] if c in index else "mine" for c in order] for r in rows[1:]]
    lines.append(["a line a user typed"])  # does not parse: kept, not deleted
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(lines)
    out.write_text(buffer.getvalue())
    run_sweep([tiny(0), tiny(1)], out=out)
    parsed = parse_rows(out.read_bytes())
    assert parsed.header == order and len(parsed.rows) == 2
    assert parsed.rows[0]["note"] == "mine" and parsed.rows[1]["note"] == ""
    assert parsed.rows[1]["seed"] == "1" and parsed.rows[1]["model"] == "numpy-rnn"
    assert "a line a user typed" in out.read_text()


@pytest.mark.parametrize("text", ["a,b\n1,2\n", "task,model,length,status\nadding,x,4,ok\n",
                                  "task,model,length,seed,seed,status\n"])
def test_a_file_that_is_not_a_results_csv_is_still_refused_and_left_alone(tmp_path, text):
    out = tmp_path / "other.csv"
    out.write_text(text)
    with pytest.raises(ValueError, match="not a results CSV of this rnnbench"):
        run_sweep([tiny(0)], out=out)
    assert out.read_text() == text


def test_every_setting_has_a_default_an_old_row_can_read_as():
    from dataclasses import MISSING, fields

    identity = {"task", "model", "length", "seed"}
    assert {f.name for f in fields(SweepCell) if f.default is MISSING} == identity
    assert identity < set(CELL_COLUMNS)


def test_an_old_files_rows_are_their_cells_before_the_file_is_rewritten(tmp_path: Path):
    """Read without resuming (`report`, a study compared with its committed rows), a row of a
    file written before a setting existed is the cell at that setting's default, as after the
    rewrite a resume does: so adding a setting leaves committed rows matching their studies."""
    from rnnbench.csvlog import ResultsCSV, config_key, rows_to_csv_text
    from rnnbench.runner import cell_key, result_row
    from rnnbench.schema import CellResult

    cells = [tiny(0), tiny(1, rule="held-out")]
    text = rows_to_csv_text([result_row(c, CellResult()) for c in cells], columns=COLUMNS)
    path = tmp_path / "old.csv"
    path.write_text(without(text, ["optimizer", "rule"]), encoding="utf-8")
    rows = ResultsCSV(path).rows()
    assert "rule" not in rows[0]  # read as written
    assert config_key(rows[0]) == cell_key(cells[0])  # the defaults: adam, rule task
    assert config_key(rows[1]) != cell_key(cells[1])  # held-out was not the default
    assert config_key(rows[1]) == cell_key(tiny(1))
    assert result_row(cells[0], CellResult())["rule"] == "task"
