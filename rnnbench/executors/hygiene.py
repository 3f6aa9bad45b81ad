"""Worker hygiene: what a process that runs cells does before and after each one.

A worker caps its BLAS, TensorFlow and PyTorch thread pools once (so N workers do not
oversubscribe the cores), imports the plugin modules that registered the cells' tasks and models,
enters around each cell the scopes models registered (`registry.register_cell_scope`: the Keras
models keep one traced model per architecture for the cells that follow, rather than tracing a
new one per cell), and after a cell drops the custom gradients TensorFlow registered for any new
train step (they held every traced graph: 9.5 MB a cell; see `_forget_custom_gradients`), so its
memory stays flat (benchmarks/memory.py). Local workers and Dask workers both go through here.
No model module is imported here (pyproject's import-linter contract forbids it).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterable, Sequence
from contextlib import ExitStack

from rnnbench.harness import run_cell
from rnnbench.registry import cell_scopes, load_plugins, models, tasks
from rnnbench.schema import CellResult, SweepCell

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
    load_plugins()  # built-ins and entry points first, so nothing is registered twice
    for name in modules:
        if name not in sys.modules:
            importlib.import_module(name)


def run_cell_in_worker(cell: SweepCell) -> CellResult:
    """Run one cell inside the scopes models registered; then free what the cell left.

    The built-ins and plugins are loaded first, so their scopes are registered (the Keras
    models': reuse this worker's traced models, and clear the session after a cell that compiled
    one outside that cache).
    """
    load_plugins()
    custom_gradients_before = _custom_gradient_names()
    try:
        with ExitStack() as scopes:
            for scope in cell_scopes():
                scopes.enter_context(scope())
            return run_cell(cell)
    finally:
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


def plugin_modules(cells: Sequence[SweepCell]) -> list[str]:
    """Modules (other than rnnbench's own) that registered the tasks and models of `cells`."""
    found: set[str] = set()
    for cell in cells:
        for obj in (tasks.get(cell.task), models.get(cell.model)):
            module = getattr(obj, "__module__", None) or ""
            if module and module.split(".")[0] != "rnnbench" and module != "__main__":
                found.add(module)
    return sorted(found)
