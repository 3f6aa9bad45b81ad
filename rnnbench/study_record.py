"""Which study a results CSV holds, as the sweep named it, and the order of its tasks.

The CSV's rows carry every cell's config but not the study's name or the order its spec lists
the tasks in (the lesson's: the main figure first). A sweep records both in a small JSON file
beside the CSV, `.NAME.study.json` (hidden, like the lock), so `rnnbench report` names the study
as the sweep did ("teaching", not "sweep" after results/sweep.csv) and keeps that order. Sweeps
that add rows to the same CSV add their tasks at the end; a CSV that holds more than one study's
rows is named after its file, as before. Missing or unreadable: the file name and sorted tasks.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path


def record_path(csv: str | Path) -> Path:
    path = Path(os.path.abspath(csv))
    return path.with_name(f".{path.name}.study.json")


def read(csv: str | Path) -> tuple[str | None, list[str]]:
    """(the study's name, or None when unknown or mixed; its tasks in the spec's order)."""
    try:
        data = json.loads(record_path(csv).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, []
    if not isinstance(data, dict):
        return None, []
    names = [n for n in data.get("studies", []) if isinstance(n, str)]
    tasks = [t for t in data.get("tasks", []) if isinstance(t, str)]
    return (names[0] if len(set(names)) == 1 else None), tasks


def write(csv: str | Path, study: str, tasks: Sequence[str], fresh: bool = False) -> None:
    """Record that `study` (its tasks in order) writes rows to `csv`; added to what an earlier
    sweep recorded unless `fresh` (or the CSV has no rows yet). Best effort: a record that
    cannot be written costs the page its name and order, never the sweep."""
    csv = Path(os.path.abspath(csv))
    names: list[str] = []
    order: list[str] = []
    has_rows = csv.exists() and csv.stat().st_size > 0
    if has_rows and not fresh:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            data = json.loads(record_path(csv).read_text(encoding="utf-8"))
            names = [n for n in data.get("studies", []) if isinstance(n, str)]
            order = [t for t in data.get("tasks", []) if isinstance(t, str)]
    names = list(dict.fromkeys([*names, study]))
    order = list(dict.fromkeys([*order, *tasks]))
    with contextlib.suppress(OSError):
        record_path(csv).write_text(json.dumps({"studies": names, "tasks": order}) + "\n",
                                    encoding="utf-8")
