"""Executors: run cells in this process, in local worker processes, or on a Dask cluster.

Every executor takes the cells and a callback `on_result(cell, result)` and calls it once per cell,
in the order cells finish, from the calling thread; the caller writes the CSV row. A cell always
ends with a result: a worker that dies fails only its cell (status "crashed", with the exit code or
signal), a cell that runs past its time limit is killed with its worker (status "timeout"), and the
sweep goes on with a new worker.

Local workers are processes started with the spawn method (TensorFlow is not fork-safe). Each one
caps its BLAS, TensorFlow and PyTorch thread pools (so N workers do not oversubscribe the cores),
clears the Keras session after each cell and drops the custom gradients TensorFlow registered for
the cell's train steps (they held every traced graph: 9.5 MB a cell; see
`_forget_custom_gradients`), so its memory stays flat (benchmarks/memory.py). It is still replaced
by a fresh process after `cells_per_worker` cells, as a backstop against whatever else a plugin's
model may leave behind.

A plugin registered by an importable module (not only through an entry point) works in the
workers too: each worker imports the modules that registered the cells' tasks and models.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from rnnbench.harness import CellResult, SweepCell, error_text, run_cell

OnResult = Callable[[SweepCell, CellResult], None]

DEFAULT_CELLS_PER_WORKER = 25  # a worker process is replaced after this many cells
DEFAULT_DASK_RETRIES = 2  # reruns Dask allows a cell task that raised (see run_dask)
STARTUP_ALLOWANCE = 120.0  # seconds a new worker may take to start, on top of --cell-timeout
THREADS_PER_WORKER = 1
_THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",  # read by TensorFlow when it starts, so set before it is imported
    "TF_NUM_INTEROP_THREADS",
)


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


# -- inside a worker ------------------------------------------------------------------------------

_limited = False


def limit_threads(threads: int = THREADS_PER_WORKER) -> None:
    """Cap this process's BLAS, TensorFlow and PyTorch thread pools; call in a worker, before any
    cell.

    Neither framework is imported here: the environment variables they read at start-up do the
    job (OMP_NUM_THREADS sets PyTorch's intra-op pool), and one already loaded has its settings
    changed while that is still allowed.
    """
    global _limited
    if _limited:
        return
    _limited = True
    for name in _THREAD_ENV:
        os.environ[name] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)  # kept for the life of the process
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # TensorFlow already ran something; its pools are fixed now
            pass
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
        # RuntimeError: PyTorch already ran parallel work, so its inter-op pool is fixed now
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(threads)


def import_plugin_modules(modules: Iterable[str]) -> None:
    """Import the modules that registered the cells' tasks and models, unless already loaded."""
    from rnnbench.registry import load_plugins

    load_plugins()  # built-ins and entry points first, so nothing is registered twice
    for name in modules:
        if name not in sys.modules:
            importlib.import_module(name)


def run_cell_in_worker(cell: SweepCell) -> CellResult:
    """Run one cell and then free what Keras and TensorFlow hold of the models it built."""
    custom_gradients_before = _custom_gradient_names()
    try:
        return run_cell(cell)
    finally:
        keras = sys.modules.get("keras")
        if keras is not None:
            keras.backend.clear_session()
        _forget_custom_gradients(custom_gradients_before)


def _custom_gradient_names() -> set[str]:
    registry = _tensorflow_gradient_registry()
    return {name for name in registry if name.startswith("CustomGradient-")}


def _forget_custom_gradients(keep: set[str]) -> None:
    """Drop the gradient functions TensorFlow registered while a cell ran, except `keep`.

    Tracing a Keras train step under TensorFlow's default distribution strategy registers a
    `tf.custom_gradient` (its all-reduce of the gradients) in a process-wide registry that is
    never emptied, and each entry holds the whole traced graph of its train step: about 9.5 MB a
    cell, 1,068 -> 2,786 MB from cell 20 to 200 (benchmarks/memory.py). The cell's graphs are
    gone after `clear_session`, so nothing can ask for these gradients again.
    """
    registry = _tensorflow_gradient_registry()
    for name in _custom_gradient_names() - keep:
        del registry[name]


def _tensorflow_gradient_registry() -> dict:
    """TensorFlow's op-name -> gradient-function registry, if TensorFlow is loaded (private)."""
    ops = sys.modules.get("tensorflow.python.framework.ops")
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else {}


def _worker_main(conn: Any, modules: list[str], threads: int) -> None:
    """A local worker: send ("ready", names it knows); for each (index, cell) received, send
    ("start", index) then ("done", result). None means stop; so does a parent that went away
    (EOF), e.g. killed by SIGKILL.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    limit_threads(threads)
    try:
        import_plugin_modules(modules)
    except Exception as exc:  # noqa: BLE001 - the names it registers are reported missing
        print(f"rnnbench worker: cannot import plugin module: {exc}", file=sys.stderr)
    from rnnbench.registry import models, tasks

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
            conn.send(("done", run_cell_in_worker(cell)))
        except OSError:  # the parent is gone
            return


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


def plugin_modules(cells: Sequence[SweepCell]) -> list[str]:
    """Modules (other than rnnbench's own) that registered the tasks and models of `cells`."""
    from rnnbench.registry import models, tasks

    found: set[str] = set()
    for cell in cells:
        for obj in (tasks.get(cell.task), models.get(cell.model)):
            module = getattr(obj, "__module__", None) or ""
            if module and module.split(".")[0] != "rnnbench" and module != "__main__":
                found.add(module)
    return sorted(found)


def check_worker_names(cells: Sequence[SweepCell], known: tuple[list[str], list[str]]) -> None:
    """Raise ValueError if a worker does not know a task or model that the cells name."""
    for kind, names, have in (
        ("task", {c.task for c in cells}, set(known[0])),
        ("model", {c.model for c in cells}, set(known[1])),
    ):
        missing = sorted(names - have)
        if missing:
            raise ValueError(
                f"{kind} {missing[0]!r} is registered in this process only (inside a function "
                "or a notebook?), so worker processes do not know it; run this sweep with "
                "--workers 1 (workers=1), or register it in a module the workers can import"
            )


# -- serial ---------------------------------------------------------------------------------------


def run_serial(cells: Sequence[SweepCell], on_result: OnResult) -> None:
    """Run the cells one after another in this process (easy to debug; no time limit)."""
    for cell in cells:
        on_result(cell, run_cell(cell))


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
    """Run the cells in `workers` spawned processes; see the module docstring for the guarantees.

    Each worker gets `threads_per_worker` BLAS and TensorFlow threads; by default the cores
    shared out, at least one: 1 with one worker per core, 2 for `--workers 1` on 2 cores.

    On KeyboardInterrupt the workers are killed at once and the interrupt is re-raised; the
    results already passed to `on_result` stay.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    if workers < 1:
        raise ValueError(f"workers = {workers!r}; expected 1 or more")
    if cell_timeout is not None and not cell_timeout > 0:
        raise ValueError(f"cell timeout = {cell_timeout!r}; expected a positive number of seconds")
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
            args=(child_conn, modules, threads_per_worker),
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

    def finish(worker: _Worker, result: CellResult) -> None:
        cell, worker.cell, worker.started_at = worker.cell, None, None
        if cell is None:
            raise RuntimeError("internal error: a result from a worker that had no cell")
        worker.cells_done += 1
        on_result(cell, result)

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
                        finish(worker, payload)
                        if worker.cells_done >= cells_per_worker:
                            retire(worker, kill=False)  # a fresh process for the next cell
                        continue
                if worker.process.sentinel in ready or not worker.process.is_alive():
                    worker.process.join()
                    cause = _death_cause(worker.process.exitcode)
                    retire(worker, kill=True)
                    finish(worker, CellResult(status="crashed", error=cause))
                elif cell_timeout is not None and now >= worker.deadline(cell_timeout):
                    if worker.started_at is not None:
                        elapsed = now - worker.started_at
                        why = f"still running after {cell_timeout:g}s (--cell-timeout)"
                    else:
                        elapsed = now - worker.sent_at
                        why = f"a new worker did not start the cell within {elapsed:.0f}s"
                    retire(worker, kill=True)
                    finish(
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


# -- Dask -----------------------------------------------------------------------------------------


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
                exc = outcome[1] if isinstance(outcome, tuple) else outcome
                result = CellResult(status="crashed", error=error_text(exc, prefix="dask: "))
            future.release()
            on_result(cell, result)
    finally:
        if futures:
            client.cancel(list(futures))
        client.close()
