"""The Dask executor: cells on a Dask cluster, results back as they finish."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rnnbench.executors.hygiene import (
    import_plugin_modules,
    limit_threads,
    plugin_modules,
    run_cell_in_worker,
)
from rnnbench.harness import error_text
from rnnbench.schema import CellResult, SweepCell

OnResult = Callable[[SweepCell, CellResult], None]

DEFAULT_DASK_RETRIES = 2  # reruns Dask allows a cell task that raised (see run_dask)



def run_cell_on_dask(cell: SweepCell, modules: list[str]) -> CellResult:
    """The task a Dask worker runs: cap threads once, load the plugins, run the cell."""
    limit_threads()
    import_plugin_modules(modules)
    return run_cell_in_worker(cell)


def run_dask(
    cells: Sequence[SweepCell],
    on_result: OnResult,
    scheduler: str,
    retries: int = DEFAULT_DASK_RETRIES,
    connect_timeout: float = 10.0,
) -> None:
    """Send the cells to the Dask cluster at `scheduler`; results come back as they finish.

    A cell whose worker dies is rerun elsewhere by Dask's scheduler, up to its
    `distributed.scheduler.allowed-failures` deaths (3 by default), then fails with KilledWorker.
    `retries` bounds the reruns of a task that raises (a cell never does; a plugin that cannot be
    imported on a worker does). A cell that still fails is recorded as "crashed" with the error.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ValueError(
            "--scheduler needs dask.distributed; install it with: pip install 'rnnbench[dask]'"
        ) from None
    if retries < 0:
        raise ValueError(f"retries = {retries!r}; expected 0 or more")
    modules = plugin_modules(cells)
    try:
        client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from None
    futures: dict[Any, SweepCell] = {}
    try:
        for cell in cells:
            future = client.submit(run_cell_on_dask, cell, modules, retries=retries, pure=False)
            futures[future] = cell
        # This client's own loop: another Client in the process (a user's) must not matter.
        finished = as_completed(
            list(futures), with_results=True, raise_errors=False, loop=client.loop
        )
        for future, outcome in finished:
            cell = futures.pop(future)
            if future.status == "finished":
                result = outcome
            else:
                failure = outcome[1] if isinstance(outcome, tuple) else outcome
                result = CellResult(status="crashed", error=error_text(failure, prefix="dask: "))
            future.release()
            on_result(cell, result)
    finally:
        if futures:
            client.cancel(list(futures))
        client.close()
