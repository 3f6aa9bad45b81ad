"""Where cells run: this process or local worker processes (local), a Dask cluster (dask), and
what a worker does around each cell (hygiene). Every kind implements the contract of
rnnbench.executors.base; the runner asks `choose(options)` for the kind and never which it got."""

from rnnbench.executors.base import (
    DEFAULT_CELLS_PER_WORKER,
    DEFAULT_DASK_RETRIES,
    Executor,
    ExecutorKind,
    ExecutorOptions,
)
from rnnbench.executors.dask import (
    DaskExecutor,
    SchedulerError,
    check_scheduler_address,
    check_scheduler_reachable,
    run_dask,
)
from rnnbench.executors.hygiene import default_workers, limit_threads, run_cell_in_worker
from rnnbench.executors.local import (
    InProcessExecutor,
    LocalExecutor,
    OnResult,
    run_local,
    run_serial,
)

# The executor kinds, asked in this order: the first that claims the options runs the sweep (a
# scheduler: Dask; else one worker without a time limit: this process; else local workers).
KINDS: tuple[type[ExecutorKind], ...] = (DaskExecutor, InProcessExecutor, LocalExecutor)


def choose(options: ExecutorOptions) -> type[ExecutorKind]:
    """The executor kind for these options, after it has checked them (UserError, one line)."""
    kind = next(k for k in KINDS if k.claims(options))  # LocalExecutor claims all local options
    kind.check(options)
    return kind


__all__ = [
    "DEFAULT_CELLS_PER_WORKER",
    "DEFAULT_DASK_RETRIES",
    "KINDS",
    "DaskExecutor",
    "Executor",
    "ExecutorKind",
    "ExecutorOptions",
    "InProcessExecutor",
    "LocalExecutor",
    "OnResult",
    "SchedulerError",
    "check_scheduler_address",
    "check_scheduler_reachable",
    "choose",
    "default_workers",
    "limit_threads",
    "run_cell_in_worker",
    "run_dask",
    "run_local",
    "run_serial",
]
