"""Local executors: cells in this process (InProcessExecutor), or in spawned worker processes
(LocalExecutor); both implement the contract of rnnbench.executors.base.

Every executor yields each cell with its result once, in the order cells finish, in the calling
thread; the caller writes the CSV row (`run_serial` and `run_local` take a callback
`on_result(cell, result)` instead, for callers of the functions). A cell always
ends with a result: a worker that dies fails only its cell (status "crashed", with the exit code or
signal), a cell that runs past its time limit is killed with its worker (status "timeout"), and the
sweep goes on with a new worker.

Local workers are processes started with the spawn method (TensorFlow is not fork-safe); what each
does around a cell is in rnnbench.executors.hygiene. A worker is replaced by a fresh process after
`cells_per_worker` cells, as a backstop against whatever a plugin's model may leave behind.

A plugin registered by an importable module (not only through an entry point) works in the
workers too: each worker imports the modules that registered the cells' tasks and models.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from rnnbench.errors import UserError
from rnnbench.executors.base import DEFAULT_CELLS_PER_WORKER, ExecutorKind, ExecutorOptions
from rnnbench.executors.hygiene import (
    THREADS_PER_WORKER,
    default_workers,
    import_plugin_modules,
    limit_threads,
    plugin_modules,
    run_cell_in_worker,
)
from rnnbench.harness import error_text, run_cell
from rnnbench.registry import models, tasks
from rnnbench.schema import CellResult, SweepCell

OnResult = Callable[[SweepCell, CellResult], None]

STARTUP_ALLOWANCE = 120.0  # seconds a new worker may take to start, on top of --cell-timeout


PARENT_POLL_SECONDS = 0.5  # how often a worker checks that its sweep is still alive


def _exit_with_parent(parent: int) -> None:
    """End this worker when the sweep that started it dies, even in the middle of a cell.

    Linux: the kernel sends SIGKILL when the parent dies (PR_SET_PDEATHSIG). Everywhere: a daemon
    thread polls the parent's pid, since a worker busy in a cell never reads its pipe's EOF.
    """
    with contextlib.suppress(Exception):  # not Linux, or no libc: the thread alone does it
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # died before prctl took hold
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="rnnbench-parent-watch", daemon=True).start()


def _worker_main(conn: Any, modules: list[str], threads: int, parent: int | None = None) -> None:
    """A local worker: send ("ready", names it knows); for each (index, cell) received, send
    ("start", index) then ("done", result). None means stop; so does a parent that went away
    (EOF, or its pid gone: see `_exit_with_parent`), e.g. killed by SIGKILL.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if parent is not None:
        _exit_with_parent(parent)
    limit_threads(threads)
    try:
        import_plugin_modules(modules)
    except Exception as exc:  # noqa: BLE001 - the names it registers are reported missing
        print(f"rnnbench worker: cannot import plugin module: {exc}", file=sys.stderr)
    try:
        conn.send(("ready", (tasks.names(), models.names())))
    except OSError:
        return
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        index, cell = message
        try:
            conn.send(("start", index))  # the time limit counts from here, not from spawning
            try:
                result = run_cell_in_worker(cell)
            except KeyboardInterrupt as exc:  # a worker ignores SIGINT: the model raised it
                result = _interrupted_by_the_cell(exc)
            conn.send(("done", result))
        except OSError:  # the parent is gone
            return


def _interrupted_by_the_cell(exc: KeyboardInterrupt) -> CellResult:
    """A KeyboardInterrupt inside a worker's cell: the cell's own doing (Ctrl-C is the parent's),
    so its row says so, `crashed`, with no traceback on the terminal; the worker goes on."""
    return CellResult(status="crashed", error=error_text(exc, prefix="the cell raised "))


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def check_worker_names(cells: Sequence[SweepCell], known: tuple[list[str], list[str]]) -> None:
    """Raise UserError if a worker does not know a task or model that the cells name."""
    for kind, names, have in (
        ("task", {c.task for c in cells}, set(known[0])),
        ("model", {c.model for c in cells}, set(known[1])),
    ):
        missing = sorted(names - have)
        if missing:
            raise UserError(
                f"{kind} {missing[0]!r} is registered in this process only (inside a function "
                "or a notebook?), so worker processes do not know it; run this sweep with "
                "--workers 1 (workers=1), or register it in a module the workers can import"
            )


# -- serial ---------------------------------------------------------------------------------------


class ProcessExitError(Exception):
    """A model or task called os._exit while its cell ran in the sweep's own process."""


def _refuse_exit(status: int) -> NoReturn:
    raise ProcessExitError(
        f"os._exit({status}) called during the cell; it ran in the sweep's own process, so the "
        "exit was refused and the cell recorded as an error"
    )


@contextlib.contextmanager
def _exit_refused() -> Iterator[None]:
    """While a cell runs in this process, os._exit raises instead of ending the sweep.

    (sys.exit's SystemExit is caught by run_cell itself. A signal or a crash in C code cannot be
    caught in-process: that is why the CLI runs even one worker in its own process.)
    """
    real = os._exit
    os._exit = _refuse_exit
    try:
        yield
    finally:
        os._exit = real


def serial_results(cells: Sequence[SweepCell]) -> Iterator[tuple[SweepCell, CellResult]]:
    """Run the cells one after another in this process (easy to debug; no time limit)."""
    for cell in cells:
        with _exit_refused():
            result = run_cell(cell)
        yield cell, result


def run_serial(cells: Sequence[SweepCell], on_result: OnResult) -> None:
    """`serial_results`, each result passed to `on_result(cell, result)`."""
    for cell, result in serial_results(cells):
        on_result(cell, result)


def check_cell_timeout(cell_timeout: Any) -> None:
    """Refuse a time limit that is not a positive, finite number of seconds."""
    if cell_timeout is not None and (
        isinstance(cell_timeout, bool) or not 0 < cell_timeout < math.inf
    ):
        raise UserError(
            f"cell timeout = {cell_timeout!r}; expected a positive, finite number of seconds"
        )


class _GeneratorExecutor(ExecutorKind):
    """An executor whose run is one generator: `stop` closes it, which runs its clean-up."""

    def __init__(self, options: ExecutorOptions) -> None:
        super().__init__(options)
        self._cells: list[SweepCell] = []
        self._run: Generator[tuple[SweepCell, CellResult], None, None] | None = None

    def submit(self, cells: Sequence[SweepCell]) -> None:
        self._cells.extend(cells)

    def _generate(self, cells: list[SweepCell]) -> Generator[tuple[SweepCell, CellResult], None,
                                                             None]:
        raise NotImplementedError

    def results(self) -> Iterator[tuple[SweepCell, CellResult]]:
        cells, self._cells = self._cells, []
        if cells:
            self._run = self._generate(cells)
            yield from self._run

    def stop(self) -> None:
        if self._run is not None:
            self._run.close()  # a worker pool's `finally` retires its workers
            self._run = None


class InProcessExecutor(_GeneratorExecutor):
    """Cells one after another in this process: one worker, no time limit, in_process allowed.

    A model that kills its process (os._exit is refused; SIGKILL or a segfault is not) would end
    the sweep, which is why the CLI runs even one worker in its own process unless --in-process.
    """

    @classmethod
    def claims(cls, options: ExecutorOptions) -> bool:
        return (options.scheduler is None and options.workers == 1
                and options.cell_timeout is None and options.in_process)

    def _generate(self, cells: list[SweepCell]) -> Generator[tuple[SweepCell, CellResult], None,
                                                             None]:
        yield from serial_results(cells)


class LocalExecutor(_GeneratorExecutor):
    """Cells in `workers` spawned worker processes on this machine (see `worker_results`)."""

    @classmethod
    def claims(cls, options: ExecutorOptions) -> bool:
        return options.scheduler is None

    @classmethod
    def check(cls, options: ExecutorOptions) -> None:
        if isinstance(options.workers, bool) or not (
            isinstance(options.workers, int) and options.workers >= 1
        ):
            raise UserError(f"workers = {options.workers!r}; expected 1 or more")
        check_cell_timeout(options.cell_timeout)

    @classmethod
    def at_once(cls, options: ExecutorOptions) -> int | None:
        return options.workers

    def _generate(self, cells: list[SweepCell]) -> Generator[tuple[SweepCell, CellResult], None,
                                                             None]:
        yield from worker_results(cells, self.options.workers, self.options.cell_timeout,
                                  self.options.cells_per_worker)


# -- local worker processes -----------------------------------------------------------------------


@dataclass
class _Worker:
    process: Any
    conn: Any
    cells_done: int = 0
    cell: SweepCell | None = None  # the cell it runs, while busy
    sent_at: float = 0.0  # when the cell was handed over
    started_at: float | None = None  # when the worker said it began the cell

    def deadline(self, cell_timeout: float) -> float:
        """When the cell counts as timed out; a worker still starting up gets extra time."""
        if self.started_at is not None:
            return self.started_at + cell_timeout
        return self.sent_at + cell_timeout + STARTUP_ALLOWANCE


def _death_cause(exitcode: int | None) -> str:
    if exitcode is None:
        return "worker process died"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (killed: out of memory, or by a user)" if name == "SIGKILL" else ""
        return f"worker process died with {name}{hint}"
    return f"worker process exited with code {exitcode}"


def run_local(
    cells: Sequence[SweepCell],
    on_result: OnResult,
    workers: int,
    cell_timeout: float | None = None,
    cells_per_worker: int = DEFAULT_CELLS_PER_WORKER,
    threads_per_worker: int | None = None,
) -> None:
    """`worker_results`, each result passed to `on_result(cell, result)`."""
    for cell, result in worker_results(cells, workers, cell_timeout, cells_per_worker,
                                       threads_per_worker):
        on_result(cell, result)


def worker_results(
    cells: Sequence[SweepCell],
    workers: int,
    cell_timeout: float | None = None,
    cells_per_worker: int = DEFAULT_CELLS_PER_WORKER,
    threads_per_worker: int | None = None,
) -> Generator[tuple[SweepCell, CellResult], None, None]:
    """Run the cells in `workers` spawned processes; see the module docstring for the guarantees.

    Each worker gets `threads_per_worker` BLAS and TensorFlow threads; by default the cores
    shared out, at least one: 1 with one worker per core, 2 for `--workers 1` on 2 cores.

    On KeyboardInterrupt the workers are killed at once and the interrupt is re-raised; the
    results already yielded stay. Closing the generator early (the executor's `stop`) retires
    the workers the same way.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    if workers < 1:
        raise UserError(f"workers = {workers!r}; expected 1 or more")
    check_cell_timeout(cell_timeout)
    ctx = multiprocessing.get_context("spawn")
    if threads_per_worker is None:
        threads_per_worker = max(THREADS_PER_WORKER, default_workers() // workers)
    modules = plugin_modules(cells)
    pending = list(enumerate(cells))[::-1]  # popped from the end: cells run in the given order
    pool: list[_Worker] = []

    def start() -> _Worker:
        parent_conn, child_conn = ctx.Pipe()
        process = ctx.Process(
            target=_worker_main,
            args=(child_conn, modules, threads_per_worker, os.getpid()),
            name="rnnbench-worker",
            daemon=True,
        )
        with _sigint_ignored():  # inherited through exec: Ctrl-C during start-up is ours too
            process.start()
        child_conn.close()
        return _Worker(process, parent_conn)

    checked: list[bool] = []  # the first worker's names were compared with the cells'
    retiring: list[_Worker] = []  # asked to stop; joined at the end, so nobody waits on them

    def retire(worker: _Worker, kill: bool) -> None:
        pool.remove(worker)
        if not kill:
            try:
                worker.conn.send(None)
                retiring.append(worker)
                return
            except OSError:
                pass
        worker.process.kill()
        worker.process.join()
        worker.conn.close()

    def finish(worker: _Worker, result: CellResult) -> tuple[SweepCell, CellResult]:
        cell, worker.cell, worker.started_at = worker.cell, None, None
        if cell is None:
            raise RuntimeError("internal error: a result from a worker that had no cell")
        worker.cells_done += 1
        return cell, result

    try:
        while pending or any(w.cell for w in pool):
            for worker in [w for w in retiring if not w.process.is_alive()]:  # reap
                worker.process.join()
                worker.conn.close()
                retiring.remove(worker)
            # Hand a cell to every idle worker, starting workers as needed.
            while pending and len([w for w in pool if w.cell]) < workers:
                idle = next((w for w in pool if w.cell is None), None)
                if idle is None:
                    idle = start()
                    pool.append(idle)
                index, idle.cell = pending.pop()
                idle.sent_at = time.monotonic()
                idle.conn.send((index, idle.cell))
            busy = [w for w in pool if w.cell]
            timeout = None
            if cell_timeout is not None:
                next_deadline = min(w.deadline(cell_timeout) for w in busy)
                timeout = max(0.0, next_deadline - time.monotonic())
            ready = wait(
                [w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=timeout
            )
            now = time.monotonic()
            for worker in busy:
                if worker.conn in ready:
                    try:
                        kind, payload = worker.conn.recv()
                    except (EOFError, OSError):  # the worker is dying: handled as a death below
                        worker.process.join(timeout=5)
                    else:
                        if kind == "ready":
                            if not checked:
                                check_worker_names(cells, payload)
                                checked.append(True)
                            continue
                        if kind == "start":
                            worker.started_at = time.monotonic()
                            continue
                        done = finish(worker, payload)
                        if worker.cells_done >= cells_per_worker:
                            retire(worker, kill=False)  # a fresh process for the next cell
                        yield done
                        continue
                if worker.process.sentinel in ready or not worker.process.is_alive():
                    worker.process.join()
                    cause = _death_cause(worker.process.exitcode)
                    retire(worker, kill=True)
                    yield finish(worker, CellResult(status="crashed", error=cause))
                elif cell_timeout is not None and now >= worker.deadline(cell_timeout):
                    if worker.started_at is not None:
                        elapsed = now - worker.started_at
                        why = f"still running after {cell_timeout:g}s (--cell-timeout)"
                    else:
                        elapsed = now - worker.sent_at
                        why = f"a new worker did not start the cell within {elapsed:.0f}s"
                    retire(worker, kill=True)
                    yield finish(
                        worker,
                        CellResult(
                            status="timeout",
                            error=f"{why}; the worker was killed",
                            wall_seconds=round(elapsed, 3),
                        ),
                    )
    finally:
        for worker in list(pool):
            retire(worker, kill=worker.cell is not None)
        for worker in retiring:
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
