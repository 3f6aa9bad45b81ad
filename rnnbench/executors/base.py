"""The executor contract: what every place that runs cells offers the runner.

An executor kind is a class with three class-level methods the runner asks before anything runs,
and an instance protocol for the run itself:

    Kind.claims(options) -> bool      these options ask for this kind (the first kind in
                                      rnnbench.executors.KINDS that claims them runs the sweep)
    Kind.check(options) -> None       refuse, with a one-line UserError, options it cannot honour
    Kind.at_once(options) -> int | None   cells running side by side on this machine (for the
                                      memory limit and the ETA); None: they run elsewhere
    executor = Kind(options)
    executor.submit(cells)            hand over the cells to run (most expensive first)
    executor.results()                yields (cell, result) once per cell, as cells finish, in the
                                      calling thread; a cell always ends with a result (a dead
                                      worker is a "crashed" row, a cell past its limit "timeout")
    executor.stop()                   release workers and connections; called once, in a
                                      `finally`, also after Ctrl-C or when the caller stops early

The runner writes each row as it comes out of `results()` and never asks which kind it has: adding
an executor is one module with such a class, named in `KINDS` (docs/design.md, "Adding an
executor"). No executor imports a model module: what a model needs done around each cell in a
worker it registers with `registry.register_cell_scope` (see rnnbench.executors.hygiene).
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rnnbench.schema import CellResult, SweepCell

DEFAULT_CELLS_PER_WORKER = 25  # a local worker process is replaced after this many cells
DEFAULT_DASK_RETRIES = 2  # reruns Dask allows a cell task that raised (see executors.dask)


@dataclass(frozen=True)
class ExecutorOptions:
    """Where and how a sweep's cells run: every executor kind reads the ones it uses."""

    workers: int = 1  # local worker processes (or 1: this process, see in_process)
    cell_timeout: float | None = None  # seconds a cell may run (local workers only)
    scheduler: str | None = None  # a Dask scheduler's address: run there
    in_process: bool = True  # one worker and no time limit may run in this process
    cells_per_worker: int = DEFAULT_CELLS_PER_WORKER
    dask_retries: int = DEFAULT_DASK_RETRIES


@runtime_checkable
class Executor(Protocol):
    """A running executor (see the module docstring)."""

    def submit(self, cells: Sequence[SweepCell]) -> None:
        """Hand over the cells to run."""
        ...

    def results(self) -> Iterator[tuple[SweepCell, CellResult]]:
        """Each submitted cell with its result, once, as it finishes, in the calling thread."""
        ...

    def stop(self) -> None:
        """Release what the executor holds (workers, connections); safe to call twice."""
        ...


class ExecutorKind(abc.ABC):
    """The base of every executor kind: the class answers about options, an instance runs."""

    def __init__(self, options: ExecutorOptions) -> None:
        self.options = options

    @classmethod
    @abc.abstractmethod
    def claims(cls, options: ExecutorOptions) -> bool:
        """Whether these options ask for this kind (KINDS are asked in order)."""

    @classmethod
    def check(cls, options: ExecutorOptions) -> None:
        """Refuse (UserError, one line) options this kind cannot honour; before anything runs."""
        return None  # nothing to refuse, unless a kind says otherwise

    @classmethod
    def at_once(cls, options: ExecutorOptions) -> int | None:
        """Cells running side by side on this machine; None when they run elsewhere."""
        return 1

    @abc.abstractmethod
    def submit(self, cells: Sequence[SweepCell]) -> None: ...

    @abc.abstractmethod
    def results(self) -> Iterator[tuple[SweepCell, CellResult]]: ...

    @abc.abstractmethod
    def stop(self) -> None: ...
