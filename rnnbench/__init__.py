"""rnnbench: how does a recurrent model's accuracy fall as the dependency length grows, and why?

Public API: `Task`, `register_task`, `register_model`, `register_cell`, `sweep`.
Nothing here imports Keras or TensorFlow; the models import them when they are built.
"""

from __future__ import annotations

from typing import Any

from rnnbench.models.keras_models import register_cell
from rnnbench.registry import register_model
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
    """Run a study and return its rows as a pandas DataFrame with exactly the CSV's columns.

    Arguments mirror `rnnbench sweep`: tasks, models, lengths, seeds, and the other spec keys
    (max_sequences, units, forget_bias, ...) as keyword options. `spec` names a TOML study file
    that these override; without it they override the teaching study, as on the command line.
    With `out`, rows are appended to that CSV as each cell finishes and cells already there are
    not run again (`retry_failed=True` reruns those whose status is not ok). `workers` > 1 runs
    cells in that many spawned processes, `scheduler` ("tcp://host:port") on a Dask cluster;
    the default runs them in this process (`in_process=False`: in one worker process, so a
    model that ends its process costs a `crashed` row, not the caller). Errors the caller can fix
    raise `rnnbench.errors.UserError` (a ValueError) before anything runs: a bad spec, a study
    over `memory_limit` (default half this machine's memory; "8GB", "60%", "none"), an `out`
    another sweep is writing (`wait=True` waits for it).
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
