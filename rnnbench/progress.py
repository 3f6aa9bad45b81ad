"""Sweep progress on stderr: a one-line bar on a terminal, one plain line per cell otherwise.

Both are callables `(done, total, cell, result)`, the `progress` argument of `run_sweep`.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import IO

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
    """`[3/40 00:12 eta 02:40] adding length=10 numpy-rnn seed=0: acc 0.91, ...` per cell."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.monotonic()

    def timing(self, done: int, total: int) -> str:
        elapsed = time.monotonic() - self.started
        eta = elapsed / done * (total - done) if done else 0.0
        return f"{_clock(elapsed)} eta {_clock(eta)}"

    def __call__(self, done: int, total: int, cell: SweepCell, result: CellResult) -> None:
        line = f"[{done}/{total} {self.timing(done, total)}] {describe(cell, result)}"
        print(line, file=self.stream, flush=True)

    def start(self, total: int) -> None:
        """Called once before the first cell runs; restarts the clock."""
        self.started = time.monotonic()

    def close(self) -> None:
        pass


class ProgressBar(LineLog):
    """`|#######-----| 12/40 00:31 eta 01:12 | last: adding length=10 ...`, redrawn with \\r.

    A cell that does not end "ok" also gets a line of its own above the bar, so it is not lost.
    """

    def __call__(self, done: int, total: int, cell: SweepCell, result: CellResult) -> None:
        width = shutil.get_terminal_size((100, 20)).columns
        if result.status != "ok":
            self._write(f"\r\x1b[K[{done}/{total}] {describe(cell, result)}\n")
        slots = 20
        filled = slots * done // total if total else slots
        head = f"|{'#' * filled}{'-' * (slots - filled)}| {done}/{total} {self.timing(done, total)}"
        line = f"{head} | last: {describe(cell, result)}"
        if len(line) > width - 1:
            line = line[: max(len(head), width - 2)] + "…"
        self._write(f"\r\x1b[K{line}")
        self.drawn = True

    def start(self, total: int) -> None:
        super().start(total)
        if total:
            self._write(f"\r\x1b[K|{'-' * 20}| 0/{total} 00:00 (first results come when cells end)")
            self.drawn = True

    def close(self) -> None:
        if getattr(self, "drawn", False):
            self._write("\n")
            self.drawn = False

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def progress_for(stream: IO[str] | None = None) -> LineLog:
    """A bar when `stream` (default stderr) is a terminal, else plain lines."""
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return ProgressBar(stream) if isatty is not None and isatty() else LineLog(stream)
