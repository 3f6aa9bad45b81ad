"""rnnbench: how does a recurrent model's accuracy fall as the dependency length grows, and why?

Public API: `Task`, `register_task`, `register_model`, `register_cell`, `sweep`, `report`,
`read_results`.
Nothing here imports Keras or TensorFlow; the models import them when they are built.
"""

from __future__ import annotations

import dataclasses
import textwrap
import types
from typing import Any

from rnnbench import report as _report_module
from rnnbench.models.base import ModelTraits, register_model
from rnnbench.models.keras_models import register_cell
from rnnbench.settings import SETTINGS, shown_default
from rnnbench.tasks.base import Task, register_task

__version__ = "0.1.0"
__all__ = ["ModelTraits", "Task", "read_results", "register_cell", "register_model",
           "register_task", "report", "sweep", "__version__"]


def sweep(
    tasks: list[str] | str | None = None,
    models: list[str] | str | None = None,
    lengths: list[int] | dict[str, list[int]] | None = None,
    seeds: int | list[int] | None = None,
    out: str | None = None,
    spec: str | None = None,
    progress: bool | None = None,
    workers: int | None = None,
    cell_timeout: float | None = None,
    scheduler: str | None = None,
    retry_failed: bool = False,
    verbose: bool = False,
    in_process: bool = True,
    wait: bool = False,
    memory_limit: str | None = None,
    dry_run: bool = False,
    **settings: Any,
) -> Any:
    """Run a study and return its rows, as `rnnbench sweep` does.

    Arguments left None come from the study file (`spec`), or without one from the teaching
    study, as on the command line; a setting given applies to every group of the study (its
    top level and each regime). As the command line does, it shows progress and runs the
    cells in one worker process per core.

    Args:
        tasks: which tasks run (one name or a list).
        models: which models run (one name or a list), each with the settings of the study's
            group that names it, or the top level's if none does.
        lengths: dependency lengths for every task each group runs, or a dict of them per task
            name.
        seeds: how many seeds (0..n-1), or the list of seeds.
        out: a CSV path: each row is appended as its cell finishes, and cells already there are
            not run again. TensorFlow's native start-up lines go to `<out>.log` beside it (else
            to a log in the temporary folder).
        spec: a TOML study file, whose settings the other arguments replace in every group.
        progress: None (the default) or True: a tqdm bar in a notebook or on a terminal, a line
            per finished cell on stderr otherwise; False: nothing.
        workers: cells run side by side in that many spawned processes; 1 runs them in this
            process (which a model registered in the notebook itself needs). Default: the
            RNNBENCH_WORKERS environment variable, else the number of cores, as the CLI.
        cell_timeout: seconds after which a cell's worker is stopped and the cell recorded as
            timed out (runs cells in worker processes).
        scheduler: a Dask scheduler address ("tcp://host:port") to run the cells on.
        retry_failed: with `out`, rerun the cells there whose status is not ok.
        verbose: leave TensorFlow's native start-up lines on stderr.
        in_process: with workers=1, run the cells in this process (the default); False runs
            them in one worker process, so a model that ends its process costs a `crashed` row.
        wait: with `out`, wait for another sweep writing it instead of raising LockedError.
        memory_limit: refuse a study whose largest cell (times the workers) is estimated above
            this: "8GB", "60%" (of this machine's memory), "none"; default half the memory.
        dry_run: train nothing; return the cells the call would run (their config columns).
        **settings: the other settings of a study, each applied to every group of it (the
            settings table, rnnbench.settings, lists them all; below, each with its default):
{settings}

    Returns:
        A pandas DataFrame with exactly the results CSV's columns, one row per cell, in dtypes
        that say what they hold: Int64 (nullable) for counts such as `sequences_to_solve`
        (missing where a cell never solved), string for text such as `error`, float for
        measurements. `rnnbench.report(df)` turns it into the accuracy table.

    Raises:
        rnnbench.errors.UserError (a ValueError): before anything runs, an unknown name or a bad
            value (naming it and listing what is allowed), a study over `memory_limit`, or an
            `out` that another sweep is writing. An argument of the wrong type (workers="2",
            out=123) is also a TypeError (rnnbench.arguments), naming the argument.
    """
    from pathlib import Path

    from rnnbench.arguments import check_sweep_arguments, workers_from_env
    from rnnbench.executors import default_workers
    from rnnbench.progress import LineLog, progress_for
    from rnnbench.quiet import native_log_path, quiet_native
    from rnnbench.runner import run_sweep
    from rnnbench.study import resolve_study

    check_sweep_arguments({  # each refused by name before the study is built or a cell runs
        "out": out, "spec": spec, "progress": progress, "workers": workers,
        "cell_timeout": cell_timeout, "scheduler": scheduler, "memory_limit": memory_limit,
        "retry_failed": retry_failed, "verbose": verbose, "in_process": in_process, "wait": wait,
    })
    study = resolve_study(spec or None, tasks=tasks, models=models, lengths=lengths, seeds=seeds,
                          **settings)
    if dry_run:
        import pandas as pd

        return pd.DataFrame([dataclasses.asdict(c) for c in study.cells()])
    if workers is None:
        workers = workers_from_env() or default_workers()
    quiet_native(Path(out).with_suffix(".log") if out else native_log_path(), verbose)
    bar: LineLog | None = progress_for() if progress or progress is None else None
    try:
        return run_sweep(
            study.cells(),
            out=out,
            progress=bar,
            on_start=(lambda total, to_run: bar.start(to_run)) if bar is not None else None,
            workers=workers,
            cell_timeout=cell_timeout,
            scheduler=scheduler,
            retry_failed=retry_failed,
            in_process=in_process,
            wait=wait,
            memory_limit=memory_limit,
        )
    finally:
        if bar is not None:
            bar.close()


def _settings_doc() -> str:
    """The `**settings` of `sweep`'s docstring, from the settings table."""
    named = {"tasks", "models", "lengths", "seeds"}  # sweep's own arguments
    lines = []
    for s in SETTINGS:
        if s.key not in named:
            text = f"{s.key}: {s.help} Default: {shown_default(s)}."
            lines += textwrap.wrap(text, 92, initial_indent=" " * 12, subsequent_indent=" " * 16)
    return "\n".join(lines)


sweep.__doc__ = (sweep.__doc__ or "").replace("{settings}\n", _settings_doc() + "\n")


class _CallableModule(types.ModuleType):
    """rnnbench.report is both the module of the report's tables and a function of it."""

    def __call__(self, results: Any, numbers: bool = False) -> Any:
        from rnnbench.arguments import check_flag, check_results_argument

        check_results_argument(results)
        check_flag("numbers", numbers)
        return self.accuracy_of(results, numbers=numbers)


# `rnnbench.report(df)` returns the accuracy table (rnnbench.report.accuracy_of); the name is
# also the submodule's, and importing a submodule rebinds its name on the package, so rather than
# a function that an import would replace, the module itself is made callable.
_report_module.__class__ = _CallableModule
report = _report_module
read_results = _report_module.read_results  # a results CSV in the API's dtypes, with `label`
