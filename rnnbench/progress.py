"""Sweep progress on stderr: a bar on a terminal or in a notebook, else one line per cell.

Both are callables `(done, total, cell, result)`, the `progress` argument of `run_sweep`.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Sequence
from typing import IO, Any

from rnnbench.cost import Eta
from rnnbench.schema import CellResult, SweepCell, model_label


def describe(cell: SweepCell, result: CellResult) -> str:
    """One line about a finished cell, for progress logs."""
    if result.status != "ok":
        outcome = f"{result.status}: {result.error}"
    elif result.sequences_to_solve is not None:
        outcome = f"acc {result.accuracy:.3f}, solved after {result.sequences_to_solve:,} sequences"
    else:
        outcome = f"acc {result.accuracy:.3f}, unsolved after {result.sequences_seen:,} sequences"
    return (
        f"{cell.task} length={cell.length} {model_label(cell.model, cell.forget_bias)} "
        f"seed={cell.seed}: {outcome} ({result.wall_seconds:.1f}s)"
    )


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class LineLog:
    """`[3/40 00:12 eta 02:40] adding length=10 numpy-rnn seed=0: acc 0.91, ...` per cell.

    The ETA comes from the predicted cost of the cells left (rnnbench.cost), once the runner has
    said which cells will run (`plan`); without a plan it assumes equal cells.
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.monotonic()
        self.eta: Eta | None = None

    def plan(self, cells: Sequence[SweepCell], workers: int | None = None) -> None:
        """The cells about to run, in order, and how many run side by side (None: unknown):
        the ETA follows their predicted cost."""
        self.eta = Eta(cells, workers=workers)

    def timing(self, done: int, total: int) -> str:
        elapsed = time.monotonic() - self.started
        if self.eta is not None:
            left = self.eta.seconds_left()
            return f"{_clock(elapsed)} eta {'--:--' if left is None else _clock(left)}"
        eta = elapsed / done * (total - done) if done else 0.0
        return f"{_clock(elapsed)} eta {_clock(eta)}"

    def record(self, cell: SweepCell, result: CellResult) -> None:
        if self.eta is not None:
            self.eta.finished(cell, result)

    def __call__(self, done: int, total: int, cell: SweepCell, result: CellResult) -> None:
        self.record(cell, result)
        line = f"[{done}/{total} {self.timing(done, total)}] {describe(cell, result)}"
        print(line, file=self.stream, flush=True)

    def start(self, total: int) -> None:
        """Called once before the first cell runs; restarts the clock."""
        self.started = time.monotonic()
        if self.eta is not None:
            self.eta.restart()

    def close(self) -> None:
        pass


class ProgressBar(LineLog):
    """`|#######-----| 12/40 00:31 eta 01:12 | last: adding length=10 ...`, drawn by tqdm.

    tqdm (rather than a hand-written bar): it is the progress library most Python users already
    have, redraws in place on a terminal, draws a widget in a Jupyter notebook (`tqdm.auto`),
    and writes other lines above the bar without breaking it. The bar fills by predicted cost,
    not by cell count. A cell that does not end "ok" also gets a line of its own above the bar.
    """

    def __init__(self, stream: IO[str] | None = None, notebook: bool = False) -> None:
        super().__init__(stream)
        self.notebook = notebook
        self.bar: Any = None

    def _tqdm(self) -> Any:
        if self.notebook:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
        return tqdm

    def start(self, total: int) -> None:
        super().start(total)
        self.close()
        if not total:
            return
        # The size from shutil, not tqdm's own probe: on a terminal that reports 0 x 0 (a new
        # pseudo-terminal) tqdm took it for -1 rows and drew nothing at all.
        size = {} if self.notebook else {"ncols": _columns(), "nrows": _size().lines or 20}
        self.bar = self._tqdm()(
            total=SLOTS, file=self.stream, bar_format="|{bar:20}| {desc}", ascii=" #",
            leave=True, smoothing=0, mininterval=0, miniters=0, **size,
        )
        self.bar.set_description_str(f"0/{total} 00:00 (first results come when cells end)")

    def __call__(self, done: int, total: int, cell: SweepCell, result: CellResult) -> None:
        self.record(cell, result)
        if self.bar is None:
            self.start(total)
            if self.bar is None:
                return
        if result.status != "ok":
            self.bar.write(f"[{done}/{total}] {describe(cell, result)}", file=self.stream)
        fraction = self.eta.fraction_done() if self.eta is not None else done / max(total, 1)
        if done >= total:
            fraction = 1.0
        text = f"{done}/{total} {self.timing(done, total)} | last: {describe(cell, result)}"
        width = _columns()
        room = max(20, width - 25)  # the bar and its frame take 23 columns
        if len(text) > room and not self.notebook:
            text = text[: room - 1] + "…"
        self.bar.n = round(SLOTS * fraction)
        if not self.notebook:
            self.bar.ncols = width
        self.bar.set_description_str(text, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


SLOTS = 1000  # the bar's resolution: it fills by predicted cost


def _size() -> os.terminal_size:
    return shutil.get_terminal_size((100, 20))


def _columns() -> int:
    """The terminal's width (COLUMNS, else the terminal's own), 100 if it says 0 or nothing."""
    return _size().columns or 100


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (where tqdm.auto draws a widget)."""
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    return get is not None and type(get()).__name__ == "ZMQInteractiveShell"


def progress_for(stream: IO[str] | None = None) -> LineLog:
    """A bar in a notebook or when `stream` (default stderr) is a terminal, else plain lines."""
    if stream is None and in_notebook():
        return ProgressBar(sys.stderr, notebook=True)
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return ProgressBar(stream) if isatty is not None and isatty() else LineLog(stream)
