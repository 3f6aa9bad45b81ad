"""The results CSV: one row per cell, appended the moment the cell finishes.

Each row goes to disk in one `write` on a file opened for appending, then fsync, so a sweep killed
at any moment leaves a file pandas reads; a row cut short by a kill mid-write is dropped on resume.
Cells are identified by their whole config (the SweepCell columns as written), not by position.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rnnbench.errors import UserError
from rnnbench.schema import CELL_COLUMNS, COLUMNS


class OutputError(UserError):
    """The results file cannot be used; the message names the path and the reason."""


def cell_text(value: Any) -> str:
    """How a value is written to the CSV: empty for missing, round-trip exact for floats."""
    if value is None:
        return ""
    if isinstance(value, float):  # also numpy floats, whose repr is "np.float64(...)"
        return "" if math.isnan(value) else repr(float(value))
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    return str(value)


def rows_to_csv_text(
    rows: Iterable[Mapping[str, Any]], header: bool = True, columns: list[str] = COLUMNS
) -> str:
    """CSV text of `rows` in `columns` (the results columns unless told), values as cell_text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(columns)
    for row in rows:
        writer.writerow([cell_text(row.get(c)) for c in columns])
    return buffer.getvalue()


def config_key(row: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(cell_text(row.get(c)) for c in CELL_COLUMNS)


class ResultsCSV:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def prepare(self) -> None:
        """Create the folder, check the file can be appended to and has rnnbench's columns."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise OutputError(f"cannot write results to {str(self.path)!r}: {reason}") from None
        if self.path.is_dir():
            raise OutputError(f"cannot write results to {str(self.path)!r}: it is a folder")
        header = self._header()
        if header is not None and header != COLUMNS:
            missing = [c for c in COLUMNS if c not in header]
            shown = ", ".join(missing[:4])
            if len(missing) > 4:
                shown += f" and {len(missing) - 4} more"
            why = f"missing columns {shown}" if missing else "its columns are in another order"
            raise OutputError(
                f"{str(self.path)!r} is not a results CSV of this rnnbench ({why}); "
                "choose another --out or start over with --fresh"
            )
        self._drop_torn_last_row()

    def _header(self) -> list[str] | None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return None
        with open(self.path, encoding="utf-8", newline="") as f:
            return next(csv.reader(f), None)

    def _drop_torn_last_row(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):  # a row cut short by a kill mid-write
            with open(self.path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)

    def rows(self) -> list[dict[str, str]]:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return []
        with open(self.path, encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))

    def done(self, statuses: Iterable[str] | None = None) -> set[tuple[str, ...]]:
        """Config keys of the rows already written (optionally only rows with these statuses)."""
        wanted = set(statuses) if statuses is not None else None
        return {
            config_key(r) for r in self.rows() if wanted is None or r.get("status") in wanted
        }

    def append(self, row: Mapping[str, Any]) -> None:
        new_file = not self.path.exists() or self.path.stat().st_size == 0
        text = rows_to_csv_text([row], header=new_file).encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, text)  # one write: the row lands whole or (if killed) is dropped later
            os.fsync(fd)
        finally:
            os.close(fd)

    def drop(self, keys: Iterable[tuple[str, ...]]) -> int:
        """Remove the rows of these cells (for --retry-failed); return how many went.

        The file is rewritten next to itself and swapped in with one rename, so a kill leaves
        either the old file or the new one, never a mix.
        """
        unwanted = set(keys)
        rows = self.rows()
        kept = [r for r in rows if config_key(r) not in unwanted]
        if len(kept) == len(rows):
            return 0
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(rows_to_csv_text(kept))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        return len(rows) - len(kept)

    def move_aside(self) -> Path | None:
        """Rename the file to NAME.YYYYmmdd-HHMMSS.csv (for --fresh); never deletes anything.

        Returns the new path, or None when there was nothing to move.
        """
        if not self.path.exists():
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.stem}.{stamp}{self.path.suffix}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.stem}.{stamp}-{n}{self.path.suffix}")
        os.rename(self.path, target)
        return target
