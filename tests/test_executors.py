"""The executor contract: the runner drives any kind through submit / results / stop.

A third executor (here: cells on a thread, in this process) is one class named in KINDS; the
runner writes its rows as for the built-in kinds, and stops it whatever happens.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import pytest

from rnnbench import executors
from rnnbench.csvlog import parse_rows
from rnnbench.executors import ExecutorKind, ExecutorOptions
from rnnbench.harness import run_cell
from rnnbench.runner import run_sweep
from rnnbench.schema import CellResult, SweepCell

THREAD_WORKERS = 3  # the options that ask for the test's executor


class ThreadExecutor(ExecutorKind):
    """Cells on one background thread: what a third executor looks like."""

    made: list[ThreadExecutor] = []

    @classmethod
    def claims(cls, options: ExecutorOptions) -> bool:
        return options.scheduler is None and options.workers == THREAD_WORKERS

    @classmethod
    def check(cls, options: ExecutorOptions) -> None:
        if options.cell_timeout is not None:
            raise ValueError("the thread executor has no time limit")

    def __init__(self, options: ExecutorOptions) -> None:
        super().__init__(options)
        self.cells: list[SweepCell] = []
        self.stopped = 0
        self.threads: list[str] = []
        ThreadExecutor.made.append(self)

    def submit(self, cells: Sequence[SweepCell]) -> None:
        self.cells.extend(cells)

    def results(self) -> Iterator[tuple[SweepCell, CellResult]]:
        out: list[tuple[SweepCell, CellResult]] = []

        def work() -> None:
            self.threads.append(threading.current_thread().name)
            out.extend((c, run_cell(c)) for c in self.cells)

        thread = threading.Thread(target=work, name="thread-executor")
        thread.start()
        thread.join()
        yield from out

    def stop(self) -> None:
        self.stopped += 1


@pytest.fixture
def thread_kind(monkeypatch):
    ThreadExecutor.made.clear()
    monkeypatch.setattr(executors, "KINDS", (ThreadExecutor, *executors.KINDS))
    return ThreadExecutor


def cells(n: int) -> list[SweepCell]:
    return [SweepCell(task="adding", model="numpy-rnn", length=4, seed=s, max_sequences=64,
                      chunk_size=64, eval_size=16) for s in range(n)]


def test_a_new_executor_kind_runs_a_sweep_through_the_runner(thread_kind, tmp_path):
    out = tmp_path / "r.csv"
    df = run_sweep(cells(3), out=out, workers=THREAD_WORKERS)
    (executor,) = thread_kind.made
    assert executor.threads == ["thread-executor"] and executor.stopped == 1
    assert sorted(df["seed"]) == [0, 1, 2]
    assert sorted(r["seed"] for r in parse_rows(out.read_bytes()).rows) == ["0", "1", "2"]


def test_its_check_refuses_options_before_anything_runs(thread_kind, tmp_path):
    with pytest.raises(ValueError, match="no time limit"):
        run_sweep(cells(1), out=tmp_path / "r.csv", workers=THREAD_WORKERS, cell_timeout=5)
    assert not thread_kind.made and not (tmp_path / "r.csv").exists()


def test_the_executor_is_stopped_when_writing_a_row_fails(thread_kind, tmp_path):
    def progress(*_: object) -> None:
        raise RuntimeError("the terminal went away")

    with pytest.raises(RuntimeError, match="terminal"):
        run_sweep(cells(2), out=tmp_path / "r.csv", workers=THREAD_WORKERS, progress=progress)
    assert thread_kind.made[0].stopped == 1


@pytest.mark.parametrize("options, kind", [
    (ExecutorOptions(), executors.InProcessExecutor),
    (ExecutorOptions(in_process=False), executors.LocalExecutor),
    (ExecutorOptions(cell_timeout=5), executors.LocalExecutor),
    (ExecutorOptions(workers=2), executors.LocalExecutor),
    (ExecutorOptions(scheduler="tcp://127.0.0.1:8786"), executors.DaskExecutor),
])
def test_the_options_choose_the_kind(options, kind):
    assert executors.choose(options) is kind
    assert kind.at_once(options) == (None if options.scheduler else
                                     1 if kind is executors.InProcessExecutor else options.workers)


@pytest.mark.parametrize("options, message", [
    (ExecutorOptions(scheduler="tcp://127.0.0.1:8786", cell_timeout=5), "works with local"),
    (ExecutorOptions(scheduler="nowhere"), "not a Dask scheduler address"),
    (ExecutorOptions(cell_timeout=0), "cell timeout = 0"),
    (ExecutorOptions(workers=0), "workers = 0"),
])
def test_bad_options_are_refused_by_the_kind_that_claims_them(options, message):
    with pytest.raises(ValueError, match=message):
        executors.choose(options)


@pytest.mark.slow
def test_stopping_local_workers_mid_sweep_ends_them():
    """stop() after the first result: the worker processes are gone, the other cells not run."""
    import psutil

    def workers() -> list:
        return [p for p in psutil.Process().children() if p.is_running()
                and p.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(p.cmdline())]

    executor = executors.LocalExecutor(ExecutorOptions(workers=1, in_process=False))
    executor.submit(cells(3))
    results = executor.results()
    first_cell, first = next(results)
    assert first.status == "ok" and first_cell.seed == 0
    assert workers()  # the worker is alive, waiting for its next cell
    executor.stop()
    assert not workers()
    assert list(results) == []
