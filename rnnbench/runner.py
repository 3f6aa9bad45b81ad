"""Run a list of cells, append each row to the CSV as it arrives, and skip cells already done."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rnnbench.csvlog import ResultsCSV, config_key, rows_to_csv_text
from rnnbench.harness import CellResult, SweepCell, result_row, run_cell

ProgressFn = Callable[[int, int, SweepCell, CellResult], None]


def describe(cell: SweepCell, result: CellResult) -> str:
    """One line about a finished cell, for progress logs."""
    model = cell.model if cell.forget_bias is None else f"{cell.model}(fb={cell.forget_bias:g})"
    if result.status != "ok":
        outcome = f"{result.status}: {result.error}"
    elif result.sequences_to_solve is not None:
        outcome = f"acc {result.accuracy:.3f}, solved after {result.sequences_to_solve:,} sequences"
    else:
        outcome = f"acc {result.accuracy:.3f}, unsolved after {result.sequences_seen:,} sequences"
    return (
        f"{cell.task} length={cell.length} {model} seed={cell.seed}: {outcome} "
        f"({result.wall_seconds:.1f}s)"
    )


def print_progress(done: int, total: int, cell: SweepCell, result: CellResult) -> None:
    print(f"[{done}/{total}] {describe(cell, result)}", file=sys.stderr, flush=True)


def run_sweep(
    cells: Sequence[SweepCell],
    out: str | Path | None = None,
    progress: ProgressFn | None = None,
) -> Any:
    """Run the cells not yet in `out`, appending each row at once; return all their rows.

    The returned pandas DataFrame holds exactly the CSV's columns and the rows of `cells`
    (those run now and those found already done in `out`), read back through the same CSV text.
    """
    import pandas as pd

    log = ResultsCSV(out) if out is not None else None
    done_rows: dict[tuple[str, ...], dict[str, Any]] = {}
    if log is not None:
        log.prepare()
        done_rows = {config_key(r): r for r in log.rows()}
    wanted = {config_key(result_row(c, CellResult())): c for c in cells}
    todo = [c for key, c in wanted.items() if key not in done_rows]

    new_rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for i, cell in enumerate(todo, start=1):
        result = run_cell(cell)
        row = result_row(cell, result)
        if log is not None:
            log.append(row)
        new_rows[config_key(row)] = row
        if progress is not None:
            progress(i, len(todo), cell, result)

    rows = [new_rows.get(k) or done_rows[k] for k in wanted if k in new_rows or k in done_rows]
    return pd.read_csv(io.StringIO(rows_to_csv_text(rows)))
