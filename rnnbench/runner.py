"""Run a list of cells, append each row to the CSV as it arrives, and skip cells already done."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rnnbench import executors
from rnnbench.csvlog import ResultsCSV, config_key, rows_to_csv_text
from rnnbench.executors import DEFAULT_CELLS_PER_WORKER, DEFAULT_DASK_RETRIES
from rnnbench.harness import CellResult, SweepCell, result_row

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
    workers: int = 1,
    cell_timeout: float | None = None,
    scheduler: str | None = None,
    retry_failed: bool = False,
    cells_per_worker: int = DEFAULT_CELLS_PER_WORKER,
    dask_retries: int = DEFAULT_DASK_RETRIES,
) -> Any:
    """Run the cells not yet in `out`, appending each row at once; return all their rows.

    The returned pandas DataFrame holds exactly the CSV's columns and the rows of `cells`
    (those run now and those found already done in `out`), read back through the same CSV text.

    Where the cells run: `scheduler` (a Dask address such as tcp://host:8786) sends them to a
    Dask cluster; otherwise `workers` local processes (see rnnbench.executors), except that
    workers=1 without a `cell_timeout` runs them in this process. Rows already in `out` are not
    run again, whatever their status, unless `retry_failed`: then the rows of these cells whose
    status is not "ok" are removed and the cells run again, so `out` keeps one row per cell.
    """
    import pandas as pd

    log = ResultsCSV(out) if out is not None else None
    wanted = {config_key(result_row(c, CellResult())): c for c in cells}
    done_rows: dict[tuple[str, ...], dict[str, Any]] = {}
    if log is not None:
        log.prepare()
        done_rows = {config_key(r): r for r in log.rows()}
        if retry_failed:
            failed = [k for k in wanted if k in done_rows and done_rows[k].get("status") != "ok"]
            log.drop(failed)
            for k in failed:
                del done_rows[k]
    todo = [c for key, c in wanted.items() if key not in done_rows]

    new_rows: dict[tuple[str, ...], dict[str, Any]] = {}

    def on_result(cell: SweepCell, result: CellResult) -> None:
        row = result_row(cell, result)
        if log is not None:
            log.append(row)
        new_rows[config_key(row)] = row
        if progress is not None:
            progress(len(new_rows), len(todo), cell, result)

    if not todo:
        pass
    elif scheduler is not None:
        if cell_timeout is not None:
            raise ValueError(
                "a cell timeout works with local workers only, not with a Dask scheduler"
            )
        executors.run_dask(todo, on_result, scheduler, retries=dask_retries)
    elif workers == 1 and cell_timeout is None:
        executors.run_serial(todo, on_result)
    else:
        executors.run_local(
            todo, on_result, workers, cell_timeout=cell_timeout, cells_per_worker=cells_per_worker
        )

    rows = [new_rows.get(k) or done_rows[k] for k in wanted if k in new_rows or k in done_rows]
    return pd.read_csv(io.StringIO(rows_to_csv_text(rows)))
