"""Where cells run: this process or local worker processes (local), a Dask cluster (dask), and
what a worker does around each cell (hygiene). The runner picks one; every executor calls
`on_result(cell, result)` once per cell, from the calling thread."""

from rnnbench.executors.dask import (
    DEFAULT_DASK_RETRIES,
    SchedulerError,
    check_scheduler_address,
    check_scheduler_reachable,
    run_dask,
)
from rnnbench.executors.hygiene import default_workers, limit_threads, run_cell_in_worker
from rnnbench.executors.local import DEFAULT_CELLS_PER_WORKER, OnResult, run_local, run_serial

__all__ = [
    "DEFAULT_CELLS_PER_WORKER",
    "DEFAULT_DASK_RETRIES",
    "OnResult",
    "SchedulerError",
    "check_scheduler_address",
    "check_scheduler_reachable",
    "default_workers",
    "limit_threads",
    "run_cell_in_worker",
    "run_dask",
    "run_local",
    "run_serial",
]
