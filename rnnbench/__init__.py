"""rnnbench: how does a recurrent model's accuracy fall as the dependency length grows, and why?

Public API: `Task`, `register_task`, `register_model`, `register_cell`, `sweep`.
Nothing here imports Keras or TensorFlow; the models import them when they are built.
"""

from __future__ import annotations

from typing import Any

from rnnbench.models.base import register_model
from rnnbench.models.keras_models import register_cell
from rnnbench.tasks.base import Task, register_task

__version__ = "0.1.0"
__all__ = ["Task", "register_cell", "register_model", "register_task", "sweep", "__version__"]


def sweep(
    tasks: list[str] | str | None = None,
    models: list[str] | str | None = None,
    lengths: list[int] | dict[str, list[int]] | None = None,
    seeds: int | list[int] | None = None,
    out: str | None = None,
    spec: str | None = None,
    progress: bool = False,
    workers: int = 1,
    cell_timeout: float | None = None,
    scheduler: str | None = None,
    retry_failed: bool = False,
    in_process: bool = True,
    wait: bool = False,
    memory_limit: str | None = None,
    **options: Any,
) -> Any:
    """Run a study and return its rows, as `rnnbench sweep` does.

    Arguments left None come from the study file (`spec`), or without one from the teaching
    study, as on the command line.

    Args:
        tasks: task names (one name or a list).
        models: model names (one name or a list).
        lengths: dependency lengths for every task, or a dict of them per task name.
        seeds: how many seeds (0..n-1), or the list of seeds.
        out: a CSV path: each row is appended as its cell finishes, and cells already there are
            not run again.
        spec: a TOML study file, overridden by the other arguments.
        progress: print a line per finished cell to stderr.
        workers: > 1 runs cells in that many spawned processes; 1 runs them in this process.
        cell_timeout: seconds after which a cell's worker is stopped and the cell recorded as
            timed out (runs cells in worker processes).
        scheduler: a Dask scheduler address ("tcp://host:port") to run the cells on.
        retry_failed: with `out`, rerun the cells there whose status is not ok.
        in_process: with workers=1, run the cells in this process (the default); False runs
            them in one worker process, so a model that ends its process costs a `crashed` row.
        wait: with `out`, wait for another sweep writing it instead of raising LockedError.
        memory_limit: refuse a study whose largest cell (times the workers) is estimated above
            this: "8GB", "60%" (of this machine's memory), "none"; default half the memory.
        **options: the other study keys (max_sequences, units, forget_bias, ...).

    Returns:
        A pandas DataFrame with exactly the results CSV's columns, one row per cell.

    Raises:
        rnnbench.errors.UserError (a ValueError): before anything runs, an unknown name or a bad
            value (naming it and listing what is allowed), a study over `memory_limit`, or an
            `out` that another sweep is writing.
    """
    from rnnbench.progress import LineLog
    from rnnbench.runner import run_sweep
    from rnnbench.study import resolve_study

    study = resolve_study(spec or None, tasks=tasks, models=models, lengths=lengths, seeds=seeds,
                          **options)
    return run_sweep(
        study.cells(),
        out=out,
        progress=LineLog() if progress else None,
        workers=workers,
        cell_timeout=cell_timeout,
        scheduler=scheduler,
        retry_failed=retry_failed,
        in_process=in_process,
        wait=wait,
        memory_limit=memory_limit,
    )
