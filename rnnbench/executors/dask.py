"""The Dask executor: cells on a Dask cluster, results back as they finish (DaskExecutor, the
contract of rnnbench.executors.base; `run_dask` for callers of the function)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rnnbench.errors import UserError, env_seconds, one_line
from rnnbench.executors.base import DEFAULT_DASK_RETRIES, ExecutorKind, ExecutorOptions
from rnnbench.executors.hygiene import (
    import_plugin_modules,
    limit_threads,
    plugin_modules,
    run_cell_in_worker,
)
from rnnbench.harness import error_text
from rnnbench.schema import CellResult, SweepCell

OnResult = Callable[[SweepCell, CellResult], None]

# Seconds to reach the scheduler and hear it answer as one (RNNBENCH_DASK_CONNECT_TIMEOUT),
# read when a scheduler is used: a bad value refuses that use, not every command.
CONNECT_TIMEOUT_ENV = "RNNBENCH_DASK_CONNECT_TIMEOUT"
CONNECT_TIMEOUT = 10.0

# scheme://host:port (or host:port): the addresses a Dask client connects to.
_ADDRESS = re.compile(r"(?:(?:tcp|tls|ws|wss|ucx)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):(\d{1,5})")


class SchedulerError(UserError):
    """A --scheduler that is malformed, unreachable, or not a Dask scheduler."""


def connect_timeout() -> float:
    """Seconds to reach a scheduler: RNNBENCH_DASK_CONNECT_TIMEOUT, else CONNECT_TIMEOUT; a value
    that is not a positive number is refused (UserError naming the variable)."""
    return env_seconds(CONNECT_TIMEOUT_ENV, CONNECT_TIMEOUT)


def check_scheduler_address(address: str) -> None:
    """Refuse, before anything runs, an address that no Dask scheduler can have, or a bad
    RNNBENCH_DASK_CONNECT_TIMEOUT to reach it with."""
    connect_timeout()
    match = _ADDRESS.fullmatch(address) if isinstance(address, str) else None
    if match is None or not 0 < int(match.group(2)) < 65536:
        raise SchedulerError(
            f"--scheduler {address!r} is not a Dask scheduler address; expected "
            "tcp://HOST:PORT (port 1-65535), e.g. tcp://127.0.0.1:8786"
        )


def connect(address: str, timeout: float | None = None) -> Any:
    """A Client of the scheduler at `address`, or a one-line SchedulerError within `timeout`.

    distributed's own `timeout` covers reaching the address but not a server that accepts the
    connection and never answers as a scheduler (an HTTP server, say): its Client then hangs, or
    fails on the garbage it reads. So the address is first asked who it is (Dask's "identity"
    message) in a helper thread bounded by `timeout`, and a Client is made only for a scheduler.
    """
    import asyncio

    if timeout is None:
        timeout = connect_timeout()
    check_scheduler_address(address)
    outcome: list[Any] = []

    async def identity() -> Any:
        from distributed.comm import connect as open_comm

        comm = await open_comm(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    def ask() -> None:
        try:
            outcome.append(asyncio.run(asyncio.wait_for(identity(), timeout)))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome.append(exc)

    thread = threading.Thread(target=ask, name="rnnbench-dask-identity", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    if not outcome or isinstance(outcome[0], (TimeoutError, asyncio.TimeoutError)):
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {address!r}: no answer within {timeout:g}s "
            "(is it running there?)"
        )
    answer = outcome[0]
    if isinstance(answer, BaseException):
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {address!r}: {one_line(answer, 300)}"
        ) from None
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        raise SchedulerError(
            f"{address!r} answers, but not as a Dask scheduler (is something else listening "
            "on that port?)"
        )
    from distributed import Client

    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {address!r}: {one_line(exc, 300)}"
        ) from None


def check_scheduler_reachable(address: str) -> None:
    """Refuse now (one line) a scheduler that cannot be reached or is not one, before anything
    is moved or written (--fresh moves the old CSV aside only after this)."""
    connect(address).close()


def run_cell_on_dask(cell: SweepCell, modules: list[str]) -> CellResult:
    """The task a Dask worker runs: cap threads once, load the plugins, run the cell."""
    limit_threads()
    import_plugin_modules(modules)
    return run_cell_in_worker(cell)


class DaskExecutor(ExecutorKind):
    """Cells on the Dask cluster at `options.scheduler`, as Dask tasks, results as they finish.

    A cell whose worker dies is rerun elsewhere by Dask's scheduler, up to its
    `distributed.scheduler.allowed-failures` deaths (3 by default), then fails with KilledWorker.
    `dask_retries` bounds the reruns of a task that raises (a cell never does; a plugin that
    cannot be imported on a worker does). A cell that still fails is recorded as "crashed" with
    the error.
    """

    @classmethod
    def claims(cls, options: ExecutorOptions) -> bool:
        return options.scheduler is not None

    @classmethod
    def check(cls, options: ExecutorOptions) -> None:
        if options.cell_timeout is not None:
            raise UserError(
                "a cell timeout (--cell-timeout) works with local workers only, "
                "not with a Dask scheduler (--scheduler)"
            )
        check_scheduler_address(str(options.scheduler))
        if options.dask_retries < 0:
            raise UserError(f"retries = {options.dask_retries!r}; expected 0 or more")

    @classmethod
    def at_once(cls, options: ExecutorOptions) -> int | None:
        return None  # on the cluster's machines, not this one

    def __init__(self, options: ExecutorOptions, connect_timeout: float | None = None) -> None:
        super().__init__(options)
        self.connect_timeout = connect_timeout
        self._client: Any = None
        self._futures: dict[Any, SweepCell] = {}

    def submit(self, cells: Sequence[SweepCell]) -> None:
        if not cells:
            return
        try:
            import distributed  # noqa: F401 - only to say what to install
        except ImportError:
            raise SchedulerError(
                "--scheduler needs dask.distributed; install it with: pip install 'rnnbench[dask]'"
            ) from None
        self.check(self.options)
        modules = plugin_modules(cells)
        if self._client is None:
            self._client = connect(str(self.options.scheduler), self.connect_timeout)
        for cell in cells:
            future = self._client.submit(run_cell_on_dask, cell, modules,
                                         retries=self.options.dask_retries, pure=False)
            self._futures[future] = cell

    def results(self) -> Iterator[tuple[SweepCell, CellResult]]:
        if not self._futures:
            return
        from distributed import as_completed

        # This client's own loop: another Client in the process (a user's) must not matter.
        finished = as_completed(
            list(self._futures), with_results=True, raise_errors=False, loop=self._client.loop
        )
        for future, outcome in finished:
            cell = self._futures.pop(future)
            if future.status == "finished":
                result = outcome
            else:
                failure = outcome[1] if isinstance(outcome, tuple) else outcome
                result = CellResult(status="crashed", error=error_text(failure, prefix="dask: "))
            future.release()
            yield cell, result

    def stop(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if self._futures:
            client.cancel(list(self._futures))
            self._futures.clear()
        client.close()


def run_dask(
    cells: Sequence[SweepCell],
    on_result: OnResult,
    scheduler: str,
    retries: int = DEFAULT_DASK_RETRIES,
    connect_timeout: float | None = None,
) -> None:
    """Send the cells to the Dask cluster at `scheduler` (see DaskExecutor); each result is
    passed to `on_result(cell, result)` as it finishes."""
    executor = DaskExecutor(ExecutorOptions(scheduler=scheduler, dask_retries=retries),
                            connect_timeout)
    try:
        executor.submit(cells)
        for cell, result in executor.results():
            on_result(cell, result)
    finally:
        executor.stop()
