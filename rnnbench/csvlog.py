"""The results CSV: one row per cell, appended the moment the cell finishes.

What it promises:
- One writer: a sweep holds an advisory lock (`filelock`, on `.NAME.lock` beside the CSV) for as
  long as it may write; a second sweep on the same file is refused with the holder's pid and host
  (LockedError, exit 2), or waits for it (`--wait`).
- Whole rows: each row is one line, written with `write` + fsync; if the write fails (disk full)
  or is interrupted, the file is cut back to where the row began, so a row is in the file wholly
  or not at all. A row cut short by SIGKILL mid-write is the last line without its line end:
  dropped on resume, skipped by `report`.
- Rows that do not parse (a wrong number of fields, a non-number where a number belongs, bytes
  that are not UTF-8, a cut-short last line) are never results: resume and `report` both skip them
  with a warning that counts them (`parse_rows`), and their cells run again on resume.
- Old results stay usable: a CSV written by an earlier rnnbench, before a column was added, has
  the new columns added at the end of its header in one atomic rewrite. In its earlier rows a
  result column reads as empty (the old row did not record it) and a setting column as the
  setting's default (docs/design.md: a new setting's default is what rnnbench did before it
  existed), so those cells are found done on resume. Rows are written in the file's own column
  order, and columns this rnnbench does not know are kept. Only a file without the identity
  columns (IDENTITY_COLUMNS) is refused as not a results CSV.
Cells are identified by their whole config (the SweepCell columns as written), not by position.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import numbers
import os
import re
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from rnnbench.errors import MachineError, UserError, is_machine_fault
from rnnbench.schema import CELL_COLUMNS, COLUMNS, CellResult, SweepCell


class OutputError(UserError):
    """The results file cannot be used; the message names the path and the reason."""


class LockedError(OutputError):
    """Another sweep holds the results file's lock; the message names its pid and host."""


def cell_text(value: Any) -> str:
    """How a value is written to the CSV: empty for missing, round-trip exact for floats."""
    if value is None:
        return ""
    if isinstance(value, float):  # also numpy floats, whose repr is "np.float64(...)"
        return "" if math.isnan(value) else repr(float(value))
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    return " ".join(str(value).splitlines())  # one row per line, always


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
    """A row's cell, as `runner.cell_key` gives a SweepCell's: a setting the row does not record
    (written before the setting existed, in a file not yet rewritten) at its default."""
    return tuple(cell_text(row[c] if c in row else _CELL_DEFAULTS.get(c)) for c in CELL_COLUMNS)


_CELL_DEFAULTS = {f.name: f.default for f in fields(SweepCell)}


# -- reading: rows that parse, and the lines that do not ---------------------------------------


def _column_kinds() -> dict[str, str]:
    """'int' (length, seed), 'int?' (may be empty: a column an older rnnbench did not write),
    'float' (may be empty: NaN) or 'str' for each known column."""
    kinds = {}
    for f in [*fields(SweepCell), *fields(CellResult)]:
        text = str(f.type).replace(" ", "")
        base = text.replace("|None", "").replace("None|", "").replace("Optional[", "")
        if base.startswith("int"):  # empty allowed but in the grid's own columns
            kinds[f.name] = "int" if f.name in ("length", "seed") else "int?"
        elif base.startswith("float"):
            kinds[f.name] = "float"
        else:
            kinds[f.name] = "str"
    return kinds


_INT = re.compile(r"[-+]?\d+")
_NUMPY_REPR = re.compile(r"np\.float(?:16|32|64)\((.*)\)")


def canonical_value(kind: str, value: str) -> str | None:
    """`value` as rnnbench writes it (cell_text), or None when it is not of `kind`.

    Numbers are numbers, whoever wrote them: a CSV re-saved by pandas or a spreadsheet holds
    `2048.0` in an integer column (pandas reads an integer column with an empty cell as floats)
    and `1e-05` or `0.0030` for floats; each reads as the number it is, written the one way
    rnnbench writes it, so resume matches its cell and `report` counts its row. An integer column
    refuses a fraction (`2048.5`): that is not a count of sequences, nor a seed.
    """
    if kind == "str":
        return value
    value = value.strip()
    if kind in ("int", "int?"):
        if value == "":
            return "" if kind == "int?" else None
        if _INT.fullmatch(value):
            return str(int(value))
        try:
            number = float(value)
        except ValueError:
            return None
        return str(int(number)) if math.isfinite(number) and number.is_integer() else None
    if value == "":
        return ""  # a float column's NaN
    legacy = _NUMPY_REPR.fullmatch(value)  # "np.float64(0.5)": an old rnnbench wrote these
    try:
        return cell_text(float(legacy.group(1) if legacy else value))
    except ValueError:
        return None


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass
class ParsedRows:
    header: list[str] | None  # None: an empty file
    rows: list[dict[str, str]] = field(default_factory=list)
    values: list[list[str]] = field(default_factory=list)  # the same rows as lists of fields
    bad: list[str] = field(default_factory=list)  # "line N: why", one per unparseable line
    bad_lines: list[bytes] = field(default_factory=list)  # those lines as they are in the file

    def warning(self, path: str | Path) -> str | None:
        """One line counting the rows skipped, with the first reasons; None when all parsed."""
        if not self.bad:
            return None
        shown = "; ".join(self.bad[:3]) + ("; ..." if len(self.bad) > 3 else "")
        rows = "row does not parse" if len(self.bad) == 1 else "rows do not parse"
        return (f"{len(self.bad)} {rows} in {str(path)!r}: skipped, not counted as results "
                f"({shown})")


def parse_rows(data: bytes) -> ParsedRows:
    """The header and the rows of a results CSV's bytes, one row per line, and what did not parse.

    A row parses when its line is UTF-8 without NUL bytes, has as many fields as the header, and
    every known column (the SweepCell and CellResult fields) holds a value of its type. The last
    line must end with a line end: one without was cut short mid-write.
    """
    if not data:
        return ParsedRows(header=None)
    lines = data.split(b"\n")
    torn = lines.pop()  # after the last line end: b"" unless the last row was cut short
    try:
        header_text = lines[0].rstrip(b"\r").decode("utf-8-sig") if lines else torn.decode()
        header = next(csv.reader([header_text]))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        raise OutputError("the first line is not a CSV header") from None
    if not lines:
        return ParsedRows(header=header, bad=["line 1: the header is cut short"])
    kinds = _column_kinds()
    typed = [(i, name, kinds[name]) for i, name in enumerate(header) if name in kinds]
    parsed = ParsedRows(header=header)
    for number, raw in enumerate(lines[1:], start=2):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        why = None
        try:
            text = raw.decode("utf-8")
            values = next(csv.reader([text])) if "\x00" not in text else None
        except (UnicodeDecodeError, csv.Error):
            values = None
        if values is None:
            why = "not UTF-8 CSV text"
        elif len(values) != len(header):
            why = f"{len(values)} fields, expected {len(header)}"
        else:
            for i, name, kind in typed:
                canonical = canonical_value(kind, values[i])
                if canonical is None:
                    what = "a whole number" if kind.startswith("int") and _is_float(values[i]) \
                        else "a number"
                    why = f"{name} = {values[i][:40]!r} is not {what}"
                    break
                values[i] = canonical
        if why is None and values is not None:
            parsed.rows.append(dict(zip(header, values, strict=True)))
            parsed.values.append(values)
        else:
            parsed.bad.append(f"line {number}: {why or 'not CSV'}")
            parsed.bad_lines.append(raw)
    if torn:
        parsed.bad.append(f"line {len(lines) + 1}: cut short (no line end)")
        parsed.bad_lines.append(torn)
    return parsed


# -- one writer: the lock ---------------------------------------------------------------------

_held: dict[str, list[Any]] = {}  # real path of a CSV -> [FileLock, depth, inode-locked fds]


def lock_path(path: str | Path) -> Path:
    real = Path(os.path.realpath(path))
    return real.with_name(f".{real.name}.lock")


def _holder_path(path: str | Path) -> Path:
    return lock_path(path).with_name(lock_path(path).name + ".holder")


def _holder(path: str | Path) -> str:
    try:
        text = _holder_path(path).read_text(encoding="utf-8").strip()
    except OSError:
        return "holder unknown"
    return " ".join(text.split())[:200] or "holder unknown"


def check_regular_file(path: str | Path, shown: str | None = None) -> None:
    """Refuse a results path that is a folder, a device, a pipe: a CSV must be a regular file."""
    shown = str(path) if shown is None else shown
    path = Path(path)
    if shown.strip() == "":
        raise OutputError("--out '': the results path is empty; give a file name such as "
                          "results/sweep.csv")
    if path.is_dir():
        raise OutputError(f"cannot write results to {shown!r}: it is a folder")
    if path.exists() and not path.is_file():
        raise OutputError(
            f"cannot write results to {shown!r}: not a regular file (a device or a pipe "
            "cannot hold a results CSV that a sweep resumes from); give a file path"
        )


def _open_to_lock(real: Path, shown: str, where: Path) -> int:
    """Open (creating) the CSV and its lock file, so that any reason they cannot be written is
    one OutputError now, not a lock that can never be taken (`/proc/version`: 'held', or with
    --wait a wait forever). Returns a descriptor of the CSV for its inode lock, or -1 when the
    CSV does not exist yet (no other name can point at it then)."""
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(where, os.O_RDWR | os.O_CREAT, 0o644))
    except OSError as exc:
        raise OutputError(
            f"cannot write results to {shown!r}: cannot create its lock file "
            f"{str(where)!r}: {exc.strerror or exc}"
        ) from None
    try:  # not created here: a refused sweep leaves no file (prepare creates it, then relock)
        fd = os.open(real, os.O_WRONLY | os.O_APPEND)
    except FileNotFoundError:
        return -1
    except OSError as exc:
        raise OutputError(f"cannot write results to {shown!r}: {exc.strerror or exc}") from None
    check_regular_file(real, shown)
    return fd


def _lock_inode(fd: int, block: bool) -> bool:
    """An flock on the CSV itself: every name of the file (a hard link, a symlink, a relative or
    absolute path) meets it, because the kernel keys it on the inode, and it goes when its
    process dies, so it is never stale. Chosen over a lock folder keyed by (st_dev, st_ino),
    which needs a folder every user can write and outlives its process. False: held elsewhere."""
    try:
        import fcntl
    except ImportError:  # not POSIX: the path lock alone
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    except OSError:  # a file system without flock: the path lock alone
        return True
    return True


def relock(path: str | Path) -> None:
    """After the CSV was replaced by a new file (--retry-failed rewrites it), lock the new inode
    too, when this process holds the CSV's lock."""
    entry = _held.get(os.path.realpath(path))
    if entry is None:
        return
    with contextlib.suppress(OSError):
        now = os.stat(os.path.realpath(path))
        for fd in entry[2]:  # two flocks of one process on one inode would refuse each other
            held = os.fstat(fd)
            if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
                return
        fd = os.open(os.path.realpath(path), os.O_WRONLY | os.O_APPEND)
        entry[2].append(fd)
        _lock_inode(fd, block=False)


def _close(fd: int) -> None:
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)


@contextlib.contextmanager
def locked(
    path: str | Path, wait: bool = False, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the lock of the results CSV at `path` (re-entrant within this process).

    Two locks, both taken before anything is written: the path lock (`filelock` on `.NAME.lock`
    beside the file's real path; its holder file names pid and host for the message) and an
    flock on the CSV's inode (`_lock_inode`), which a hard link under another name cannot pass.
    The paths are resolved once, here: a model that changes folder changes nothing.
    Another process holding either: LockedError naming the holder, or with `wait`,
    `on_wait(holder)` is called once and this blocks until both are free.
    """
    from filelock import FileLock, Timeout

    shown = str(path)
    check_regular_file(path, shown)
    key = os.path.realpath(path)
    if key in _held:
        _held[key][1] += 1
        try:
            yield
        finally:
            _held[key][1] -= 1
        return
    where = lock_path(key)
    holder_path = _holder_path(key)
    fd = _open_to_lock(Path(key), shown, where)
    lock = FileLock(str(where))
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            holder = _holder(key)
            if not wait:
                raise LockedError(
                    f"{shown!r} is being written by another rnnbench sweep ({holder}); "
                    "wait for it to finish, choose another --out, or add --wait to queue behind "
                    "it"
                ) from None
            if on_wait is not None:
                on_wait(holder)
            lock.acquire()
        if fd >= 0 and not _lock_inode(fd, block=False):
            if not wait:
                lock.release()
                raise LockedError(
                    f"{shown!r} is being written by another rnnbench sweep under another name "
                    "of the same file (a hard link); wait for it to finish, choose another "
                    "--out, or add --wait to queue behind it"
                )
            if on_wait is not None:
                on_wait("under another name of the same file, a hard link")
            _lock_inode(fd, block=True)
    except OSError as exc:
        _close(fd)
        raise OutputError(
            f"cannot write results to {shown!r}: cannot lock {str(where)!r}: "
            f"{exc.strerror or exc}"
        ) from None
    except BaseException:
        _close(fd)
        raise
    _held[key] = [lock, 1, [fd] if fd >= 0 else []]
    try:
        with contextlib.suppress(OSError):
            holder_path.write_text(
                f"pid {os.getpid()} on {socket.gethostname()}, since "
                f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n", encoding="utf-8")
        yield
    finally:
        fds = _held.pop(key)[2]
        with contextlib.suppress(OSError):
            holder_path.unlink()
        for held_fd in fds:
            with contextlib.suppress(OSError):
                os.close(held_fd)
        lock.release()


# -- the file ---------------------------------------------------------------------------------


def set_aside_path(path: Path) -> Path:
    """Where lines rnnbench takes out of a results CSV go: `NAME.set-aside.txt` beside it."""
    return path.with_name(f"{path.stem}.set-aside.txt")


def _set_aside(path: Path, lines: list[bytes]) -> Path:
    """Append `lines` to the CSV's side file (fsynced), before the CSV loses them: rnnbench never
    deletes a line a user has; a line it cannot use as a row is moved, and the message says where.
    """
    side = set_aside_path(path)
    with open(side, "ab") as f:
        for line in lines:
            f.write(line.rstrip(b"\r\n") + b"\n")
        f.flush()
        os.fsync(f.fileno())
    return side


def _write_fault(path: str, exc: OSError, kept: str) -> Exception:
    reason = exc.strerror or str(exc)
    if is_machine_fault(exc):
        return MachineError(
            f"cannot write to {str(path)!r}: {reason}; {kept}, so the file stays readable; "
            "free space and run the same command again to resume"
        )
    return OutputError(f"cannot write results to {str(path)!r}: {reason}; {kept}")


# The columns every results CSV any rnnbench wrote has had: without them a file is not one.
IDENTITY_COLUMNS = ("task", "model", "length", "seed", "status")


def padded_header(header: list[str]) -> list[str] | None:
    """The header of an older results CSV with this rnnbench's missing columns added at the end,
    or None if it is not a results CSV (an identity column missing, a column named twice)."""
    if len(set(header)) != len(header) or any(c not in header for c in IDENTITY_COLUMNS):
        return None
    return header + [c for c in COLUMNS if c not in header]


class ResultsCSV:
    def __init__(self, path: str | Path) -> None:
        # Resolved once: a model that changes the working folder (os.chdir) mid-sweep must not
        # send the rows elsewhere; messages name the path as the user gave it.
        self.path = Path(os.path.abspath(path))
        self.shown = str(path)
        self.unparsed: ParsedRows | None = None  # the last read, for its warning
        self.moved: tuple[Path, int] | None = None  # lines the last change set aside: where, count
        self.columns: list[str] = list(COLUMNS)  # the file's own order, once prepared
        self.added_columns: list[str] = []  # columns `prepare` added to an older file

    def prepare(self) -> None:
        """Create the folder, check the file can be appended to and has rnnbench's columns."""
        check_regular_file(self.path, self.shown)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise OutputError(f"cannot write results to {self.shown!r}: {reason}") from None
        check_regular_file(self.path, self.shown)
        header = self._header()
        if header is not None:
            columns = padded_header(header)
            if columns is None:
                missing = [c for c in IDENTITY_COLUMNS if c not in header]
                why = (f"no column {', '.join(missing)}" if missing
                       else "a column is named twice")
                raise OutputError(
                    f"{self.shown!r} is not a results CSV of this rnnbench ({why}); "
                    "choose another --out or start over with --fresh"
                )
            self._drop_torn_last_row()
            if columns != header:
                self._add_columns(header, columns)
            self.columns = columns
        relock(self.path)  # a file --fresh or an added column made anew, under this sweep's lock

    def _add_columns(self, header: list[str], columns: list[str]) -> None:
        """Rewrite an older results CSV with `columns` (its header and new ones at the end): each
        row that has the header's number of fields gets the new fields (a setting its default, a
        result empty); any other line is kept as it was. Written beside the file and swapped in
        with one rename (all or nothing)."""
        new = columns[len(header):]
        # a setting an old row did not record ran at its default; a result reads as empty
        defaults = {f.name: f.default for f in fields(SweepCell)}
        suffix = b"," + rows_to_csv_text([defaults], header=False, columns=new).rstrip(
            "\n").encode("utf-8")
        lines = self.path.read_bytes().split(b"\n")
        out = [rows_to_csv_text([], columns=columns).encode("utf-8").rstrip(b"\n")]
        for raw in lines[1:]:
            line = raw.rstrip(b"\r")
            try:
                fields_ = next(csv.reader([line.decode("utf-8")]), None)
            except (UnicodeDecodeError, csv.Error):
                fields_ = None
            fits = fields_ is not None and len(fields_) == len(header) and line.strip()
            out.append(line + suffix if fits else raw)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(b"\n".join(out))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise _write_fault(self.shown, exc, "the file was left as it was") from None
        self.added_columns = new

    def _header(self) -> list[str] | None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return None
        with open(self.path, "rb") as f:
            first = f.readline()
        try:
            return next(csv.reader([first.rstrip(b"\r\n").decode("utf-8-sig")]), None)
        except (UnicodeDecodeError, csv.Error):
            raise OutputError(
                f"{self.shown!r} is not a results CSV (its first line is not CSV text); "
                "choose another --out or start over with --fresh"
            ) from None

    def _drop_torn_last_row(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):  # a row cut short by a kill mid-write, or a user's edit
            start = data.rfind(b"\n") + 1
            try:
                side = _set_aside(self.path, [data[start:]])
                with open(self.path, "r+b") as f:
                    f.truncate(start)
            except OSError as exc:
                raise _write_fault(self.shown, exc, "nothing was changed") from None
            self.moved = (side, 1)

    def parsed(self) -> ParsedRows:
        """The file's rows that parse, and the lines that do not (see `parse_rows`)."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            self.unparsed = ParsedRows(header=None)
        else:
            try:
                self.unparsed = parse_rows(self.path.read_bytes())
            except OutputError as exc:
                raise OutputError(f"{self.shown!r}: {exc}") from None
        return self.unparsed

    def rows(self) -> list[dict[str, str]]:
        return self.parsed().rows

    def warning(self) -> str | None:
        """The warning of the last read: how many rows did not parse, or None."""
        return self.unparsed.warning(self.shown) if self.unparsed is not None else None

    def done(self, statuses: Iterable[str] | None = None) -> set[tuple[str, ...]]:
        """Config keys of the rows already written (optionally only rows with these statuses)."""
        wanted = set(statuses) if statuses is not None else None
        return {
            config_key(r) for r in self.rows() if wanted is None or r.get("status") in wanted
        }

    def append(self, row: Mapping[str, Any]) -> None:
        """Add one row (and the header, to an empty file): wholly, or not at all.

        On a failed write (disk full, I/O error) or an interrupt mid-write the file is cut back
        to its length before, then MachineError (the machine failed: exit 1) or OutputError.
        """
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _write_fault(self.shown, exc, "no row was written") from None
        try:
            start = os.fstat(fd).st_size
            line = rows_to_csv_text([row], header=start == 0, columns=self.columns)
            view = memoryview(line.encode("utf-8"))
            try:
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except BaseException as exc:  # disk full, or a signal between two writes
                if isinstance(exc, OSError) or len(view):  # a row written whole stays
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, start)
                        os.fsync(fd)
                if isinstance(exc, OSError):
                    raise _write_fault(
                        self.shown, exc, "the row was taken back; the rows before it are kept"
                    ) from None
                raise
        finally:
            os.close(fd)

    def drop(self, keys: Iterable[tuple[str, ...]]) -> int:
        """Remove the rows of these cells (for --retry-failed); return how many went.

        The file is rewritten next to itself and swapped in with one rename, so a kill leaves
        either the old file or the new one, never a mix. Lines that do not parse cannot be
        rewritten as rows: they are appended to the side file (`set_aside_path`) first, and
        `self.moved` says where and how many, for the message.
        """
        unwanted = set(keys)
        parsed = self.parsed()
        rows = parsed.rows
        kept = [r for r in rows if config_key(r) not in unwanted]
        if len(kept) == len(rows):
            return 0
        if parsed.bad_lines:
            try:
                self.moved = (_set_aside(self.path, parsed.bad_lines), len(parsed.bad_lines))
            except OSError as exc:
                raise _write_fault(self.shown, exc, "the file was left as it was") from None
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.write(rows_to_csv_text(kept, columns=self.columns))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            relock(self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise _write_fault(self.shown, exc, "the file was left as it was") from None
        return len(rows) - len(kept)

    def move_aside(self) -> Path | None:
        """Rename the file to NAME.YYYYmmdd-HHMMSS.csv (for --fresh); never deletes anything.

        Returns the new path, or None when there was nothing to move.
        """
        if not self.path.exists() or self.path.stat().st_size == 0:
            return None  # nothing to keep: an empty file stays, to become the new CSV
        check_regular_file(self.path, self.shown)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.stem}.{stamp}{self.path.suffix}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.stem}.{stamp}-{n}{self.path.suffix}")
        try:
            os.rename(self.path, target)
        except OSError as exc:
            raise OutputError(
                f"--fresh: cannot move {self.shown!r} aside to {target.name!r}: "
                f"{exc.strerror or exc}"
            ) from None
        return target
