"""The published rows after 1997 (rnnbench.tasks.literature) and their table beside the cells:
each row's task, model and memoryless level against the registered task; its setup against the
study that runs it; the reading and the verdict on made-up results."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
import pytest

from rnnbench.csvlog import rows_to_csv_text
from rnnbench.paper_table import loss_reading
from rnnbench.registry import models, tasks
from rnnbench.report import build_report
from rnnbench.schema import CellResult, SweepCell, result_row
from rnnbench.study import StudySpec
from rnnbench.tasks.literature import ADDING_MEMORYLESS, PUBLISHED
from rnnbench.tasks.reference import (
    LOSS_AFTER_UPDATES,
    SEQUENCES_TO_CRITERION,
    Figure,
)

REPO = Path(__file__).resolve().parent.parent
STUDY = REPO / "tasks" / "literature.toml"


@pytest.mark.parametrize("row", PUBLISHED, ids=lambda r: f"{r.paper}:{r.task}:{r.length}:{r.model}")
def test_each_row_names_a_registered_task_and_model_and_its_memoryless_level(row):
    task = tasks.get(row.task)()
    models.entry(row.ours)
    task.check_length(row.length)
    chance = task.chance_loss(row.length) if hasattr(task, "chance_loss") else None
    if chance is not None and not math.isnan(chance):  # copy: 10 ln 8 / (T + 20)
        assert row.memoryless == pytest.approx(chance)
    else:  # adding, either form: the constant guess 1 has MSE Var(U1 + U2) = 1/6
        assert row.task.startswith("adding") and row.memoryless == ADDING_MEMORYLESS
    assert row.figure.kind == LOSS_AFTER_UPDATES
    assert row.figure.read_from_plot == (row.where != "Table 1")  # Table 1's are printed


def test_bai_table_1_as_printed():
    """The rows hold Table 1's numbers: adding T = 600 and copy T = 1000, per model."""
    bai = {(r.task, r.model): r.figure.value for r in PUBLISHED if r.where == "Table 1"}
    assert bai == {
        ("adding-bai2018", "GRU"): 5.3e-5, ("adding-bai2018", "LSTM"): 0.164,
        ("adding-bai2018", "RNN"): 0.177, ("copy-memory-bai2018", "GRU"): 0.0197,
        ("copy-memory-bai2018", "LSTM"): 0.0204, ("copy-memory-bai2018", "RNN"): 0.0202,
    }


def test_every_row_is_run_by_the_literature_study_with_its_setup():
    """Each row's cells exist in tasks/literature.toml: its task, length and model, with the
    settings the row names (so the study and the rows cannot drift apart)."""
    cells = StudySpec.from_toml(STUDY).cells()
    for row in PUBLISHED:
        matching = [c for c in cells if (c.task, c.length, c.model) == (row.task, row.length,
                                                                         row.ours)
                    and all(getattr(c, k) == pytest.approx(v) for k, v in row.run)]
        assert matching, row


def test_a_figure_read_off_a_plot_states_its_tolerance():
    with pytest.raises(ValueError, match="tolerance"):
        Figure(LOSS_AFTER_UPDATES, 0.1, "MSE", read_from_plot=True)
    with pytest.raises(ValueError, match="tolerance"):
        Figure(LOSS_AFTER_UPDATES, 0.1, "MSE", tolerance=0.01)
    with pytest.raises(ValueError, match="kind"):
        Figure("accuracy", 0.1, "MSE")  # type: ignore[arg-type]
    read = Figure(LOSS_AFTER_UPDATES, 0.145, "cross-entropy", 50_000, "~", True, 0.02)
    assert read.text() == "~0.145 (cross-entropy +-0.02, read from a figure)"


def test_the_1997_rows_give_figures_of_sequences_to_criterion():
    reference = tasks.get("adding-1997")().reference
    figure = reference.rows_at(100)[0].figure()
    assert figure.kind == SEQUENCES_TO_CRITERION and figure.value == 74_000
    assert not figure.read_from_plot


def test_the_reading_against_the_memoryless_level():
    assert loss_reading(0.0099, 0.1) == "near 0"  # below a tenth of the level
    assert loss_reading(0.0101, 0.1) == "below memoryless"
    assert loss_reading(0.0899, 0.1) == "below memoryless"
    assert loss_reading(0.0901, 0.1) == "at or above memoryless"  # 0.9 of the level or more
    assert loss_reading(0.3, 0.1) == "at or above memoryless"


def results(*cells: tuple[dict, float, int], solved_at: int | None = None) -> pd.DataFrame:
    records = []
    for cell, loss, updates in cells:
        c = SweepCell(**{"seed": 0, **cell})
        r = CellResult(accuracy=0.5, sequences_seen=updates * c.batch_size, final_loss=loss,
                       updates_seen=updates, num_params=1000, status="ok",
                       solve_rule="held-out>=0.95", updates_to_solve=solved_at,
                       sequences_to_solve=None if solved_at is None else solved_at * c.batch_size)
        records.append(result_row(c, r))
    return pd.read_csv(io.StringIO(rows_to_csv_text(records)), dtype=str, keep_default_na=False)


BAI_GRU = dict(task="adding-bai2018", model="numpy-gru", length=600, units=32, batch_size=32)


def literature(df: pd.DataFrame) -> pd.DataFrame:
    return build_report(df).tables["literature"].set_index(["task, T", "model"])


def test_the_verdict_reads_both_losses_against_the_memoryless_level():
    table = literature(results(
        (BAI_GRU, 0.05, 1200),  # below memoryless after 1,200 of 7,000: not within budget
        ({**BAI_GRU, "model": "numpy-lstm"}, 0.166, 1200),  # at memoryless, as the paper
        ({**BAI_GRU, "model": "numpy-rnn"}, 0.05, 8000),  # below, after more than 7,000: no
    ))
    gru = table.loc[("adding-bai2018, 600", "GRU (numpy-gru)")]
    assert (gru["paper reads"], gru["reads"], gru["agrees"]) == (
        "near 0", "below memoryless", "not within budget")
    # the default chunk of 2,048 sequences is 64 updates of 32: the loss here is their mean
    assert gru["updates"] == "1,200 / 7,000 (loss over the last 64)" and gru["loss here"] == "0.05"
    assert table.loc[("adding-bai2018, 600", "LSTM (numpy-lstm)"), "agrees"] == "yes"
    assert table.loc[("adding-bai2018, 600", "RNN (numpy-rnn)"), "agrees"] == "no"


def test_cells_run_with_other_settings_do_not_stand_beside_a_row():
    table = literature(results(({**BAI_GRU, "units": 64}, 0.0001, 1200)))
    assert table.loc[("adding-bai2018, 600", "GRU (numpy-gru)"), "agrees"] == "not run"


def test_results_of_no_published_task_have_no_literature_table():
    df = results(({**BAI_GRU, "task": "adding", "length": 10}, 0.1, 10))
    assert "literature" not in build_report(df).tables


def test_a_cell_that_met_the_held_out_criterion_reads_near_0_whatever_its_chunks_mean():
    """expRNN at copy T = 200 solving within its first chunk: the chunk's mean loss spans the
    updates from the start, so the held-out criterion, not that mean, decides the reading."""
    cell = dict(task="copy-memory", model="numpy-exprnn", length=200, units=128, batch_size=10,
                learning_rate=1e-3, chunk_size=2000)
    row = literature(results((cell, 0.159, 200), solved_at=200)).loc[
        ("copy-memory, 200", "expRNN (numpy-exprnn)")]
    assert row["reads"] == "near 0 (held-out criterion met)" and row["agrees"] == "yes"
    assert row["updates"] == "200 / 500 (loss over the last 200)"
    unsolved = literature(results((cell, 0.159, 200))).loc[
        ("copy-memory, 200", "expRNN (numpy-exprnn)")]
    assert unsolved["reads"] == "at or above memoryless"


def test_each_seed_is_read_on_its_own():
    """Li et al.'s LSTM at T = 100 as it ran here: one seed near 0, the other not; the row says
    so, seed by seed, rather than a median of the two."""
    cell = dict(task="adding", model="numpy-lstm", length=100, units=128, batch_size=32,
                learning_rate=2e-3)
    row = literature(results((cell, 0.14, 2500), ({**cell, "seed": 1}, 0.0064, 2500))).loc[
        ("adding, 100", "LSTM (numpy-lstm)")]
    assert row["loss here"] == "0.14, 0.0064"
    assert row["reads"] == "below memoryless in 1 of 2; near 0 in 1 of 2"
    assert row["agrees"] == "in 1 of 2 seeds"
