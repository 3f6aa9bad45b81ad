"""The two kinds of failure rnnbench tells a user about in one line (bottom layer: imports nothing).

- `UserError`: something the user can fix (a bad option, spec, name, output path, a locked CSV, a
  cell too big for the memory limit). The CLI prints its message and exits with code 2, before any
  training where the bad value is known up front. Every such error of rnnbench (SpecError,
  RegistryError, OutputError, BackendError, ReportError, ...) subclasses it.
- `MachineError`: the machine failed under a correct request (disk full, I/O error). The CLI prints
  its message and exits with code 1; what was already written stays readable.

Anything else that escapes is a bug: inside a cell it becomes an `error` row; outside a cell it is
a traceback, on purpose. `UserError` subclasses ValueError only so that code written against the
older per-module ValueErrors keeps working; the CLI never catches bare ValueError.
"""

from __future__ import annotations

import errno
import math
import os


class UserError(ValueError):
    """A request rnnbench refuses; the message names the bad value and what is allowed."""


class MachineError(RuntimeError):
    """The machine failed (disk full, I/O error); the message says what was kept."""


# OSError numbers that mean the machine, not the request, failed.
MACHINE_ERRNOS = frozenset(
    n for n in (getattr(errno, name, None) for name in ("ENOSPC", "EDQUOT", "EIO", "EFBIG"))
    if n is not None
)


def is_machine_fault(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or (
        isinstance(exc, OSError) and exc.errno in MACHINE_ERRNOS
    )


def one_line(text: object, limit: int = 500) -> str:
    """`text` with every run of whitespace (newlines included) as one space, capped."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def env_seconds(name: str, default: float) -> float:
    """A positive, finite number of seconds from the environment variable `name` (unset or
    empty: `default`); anything else is a UserError naming the variable and what it allows."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise UserError(f"{name}={text[:40]!r}: expected a positive number of seconds, e.g. "
                        f"{default:g}")
    return value
