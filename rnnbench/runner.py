"""Run a list of cells, append each row to the CSV as it arrives, and skip cells already done."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rnnbench import executors, memory
from rnnbench.cost import most_expensive_first
from rnnbench.csvlog import ResultsCSV, config_key, locked, rows_to_csv_text
from rnnbench.executors import (
    DEFAULT_CELLS_PER_WORKER,
    DEFAULT_DASK_RETRIES,
    ExecutorKind,
    ExecutorOptions,
)
from rnnbench.schema import CellResult, SweepCell, column_dtypes, result_row

ProgressFn = Callable[[int, int, SweepCell, CellResult], None]
StartFn = Callable[[int, int], None]


def cell_key(cell: SweepCell) -> tuple[str, ...]:
    """A cell's identity in the results CSV: its whole config, as written."""
    return config_key(result_row(cell, CellResult()))


def check_executor_options(scheduler: str | None, cell_timeout: float | None) -> None:
    """Refuse, before anything runs or moves, executor options that cannot work together."""
    executors.choose(ExecutorOptions(scheduler=scheduler, cell_timeout=cell_timeout))


def runs_in_process(
    workers: int, cell_timeout: float | None, scheduler: str | None, in_process: bool = True
) -> bool:
    """Whether `run_sweep` runs the cells in this process rather than in workers or on Dask.

    Only with one worker, no time limit and no scheduler, and when `in_process` allows it: the
    CLI passes False unless --in-process, so that a model that kills its process (os._exit,
    SIGKILL, a segfault) costs one `crashed` row, not the sweep. That worker costs 0.3 s a sweep
    for NumPy cells and 3 s for Keras ones (TensorFlow's import moves into it), measured on 2 cores.
    """
    options = ExecutorOptions(workers=workers, cell_timeout=cell_timeout, scheduler=scheduler,
                              in_process=in_process)
    return executors.InProcessExecutor.claims(options)


def run_sweep(
    cells: Sequence[SweepCell],
    out: str | Path | None = None,
    progress: ProgressFn | None = None,
    on_start: StartFn | None = None,
    workers: int = 1,
    cell_timeout: float | None = None,
    scheduler: str | None = None,
    retry_failed: bool = False,
    cells_per_worker: int = DEFAULT_CELLS_PER_WORKER,
    dask_retries: int = DEFAULT_DASK_RETRIES,
    in_process: bool = True,
    wait: bool = False,
    memory_limit: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> Any:
    """Run the cells not yet in `out`, appending each row at once; return all their rows.

    The returned pandas DataFrame holds exactly the CSV's columns and the rows of `cells`
    (those run now and those found already done in `out`), read back through the same CSV text.

    Where the cells run: `scheduler` (a Dask address such as tcp://host:8786) sends them to a
    Dask cluster; otherwise `workers` local processes (see rnnbench.executors), except that
    workers=1 without a `cell_timeout` runs them in this process. Rows already in `out` are not
    run again, whatever their status, unless `retry_failed`: then the rows of these cells whose
    status is not "ok" are removed and the cells run again, so `out` keeps one row per cell.
    `on_start(cells, to_run)` is called once, when it is known how many cells will run. The cells
    run the most expensive first (rnnbench.cost); a `progress` with a `plan(cells, workers)`
    method is told which, and how many run side by side, for its ETA. The order changes no row:
    rows are keyed by config.

    Before anything runs: the largest cell's estimated memory times the cells running at once
    must fit `memory_limit` (rnnbench.memory; None: half this machine's memory, "none": no
    limit), and `out` is locked for this sweep (another sweep on it: LockedError, or with `wait`
    wait for it). Rows of `out` that do not parse are skipped (their cells run again), and
    `warn` is told how many.
    """
    options = ExecutorOptions(workers=workers, cell_timeout=cell_timeout, scheduler=scheduler,
                              in_process=in_process, cells_per_worker=cells_per_worker,
                              dask_retries=dask_retries)
    kind = executors.choose(options)  # checks the options
    memory.check_cells(cells, memory.Limit.parse(memory_limit), kind.at_once(options) or 1)
    if out is None:
        return _run(cells, None, progress, on_start, kind, options, retry_failed, warn)
    with locked(out, wait=wait, on_wait=_waiting(out, warn)):
        return _run(cells, out, progress, on_start, kind, options, retry_failed, warn)


def _waiting(out: str | Path, warn: Callable[[str], None] | None) -> Callable[[str], None]:
    def say(holder: str) -> None:
        if warn is not None:
            warn(f"--wait: {str(out)!r} is being written by another sweep ({holder}); waiting")

    return say


def _run(
    cells: Sequence[SweepCell],
    out: str | Path | None,
    progress: ProgressFn | None,
    on_start: StartFn | None,
    kind: type[ExecutorKind],
    options: ExecutorOptions,
    retry_failed: bool,
    warn: Callable[[str], None] | None,
) -> Any:
    import pandas as pd

    log = ResultsCSV(out) if out is not None else None
    wanted = {cell_key(c): c for c in cells}
    done_rows: dict[tuple[str, ...], dict[str, Any]] = {}
    if log is not None:
        log.prepare()
        _say_moved(log, warn)
        if log.added_columns and warn is not None:
            added = ", ".join(log.added_columns)
            warn(f"{str(out)!r} was written by an earlier rnnbench: added its missing columns "
                 f"({added}), empty in its earlier rows")
        done_rows = {config_key(r): r for r in log.rows()}
        if log.warning() and warn is not None:
            warn(f"{log.warning()}; their cells run again")
        if retry_failed:
            failed = [k for k in wanted if k in done_rows and done_rows[k].get("status") != "ok"]
            log.drop(failed)
            _say_moved(log, warn)
            for k in failed:
                del done_rows[k]
    # The most expensive cells first, so the sweep does not end on one long cell (rnnbench.cost).
    todo = most_expensive_first(c for key, c in wanted.items() if key not in done_rows)
    plan = getattr(progress, "plan", None)
    if plan is not None:
        plan(todo, kind.at_once(options))
    if on_start is not None:
        on_start(len(wanted), len(todo))

    new_rows: dict[tuple[str, ...], dict[str, Any]] = {}

    def on_result(cell: SweepCell, result: CellResult) -> None:
        row = result_row(cell, result)
        if log is not None:
            log.append(row)
        new_rows[config_key(row)] = row
        if progress is not None:
            progress(len(new_rows), len(todo), cell, result)

    if todo:
        executor = kind(options)
        try:
            executor.submit(todo)
            for cell, result in executor.results():
                on_result(cell, result)
        finally:
            executor.stop()

    rows = [new_rows.get(k) or done_rows[k] for k in wanted if k in new_rows or k in done_rows]
    return pd.read_csv(io.StringIO(rows_to_csv_text(rows)), dtype=column_dtypes(),
                       keep_default_na=False, na_values=[""])


def _say_moved(log: ResultsCSV, warn: Callable[[str], None] | None) -> None:
    """Name the side file that lines taken out of the CSV went to, and how many (never deleted)."""
    if log.moved is not None and warn is not None:
        side, n = log.moved
        lines = "line" if n == 1 else "lines"
        warn(f"{n} {lines} of {log.shown!r} that cannot be read as rows (cut short or edited) "
             f"moved to {str(Path(log.shown).with_name(side.name))!r}, kept there as they were")
    log.moved = None
