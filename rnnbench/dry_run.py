"""What a sweep would run, without running it: the cells grouped by their settings, and counted.

`rnnbench sweep --dry-run` prints this. It is read off the very cells the sweep would hand its
executor (not off the spec), so what it shows is what would train.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from rnnbench.schema import SweepCell, model_label
from rnnbench.settings import CELL_KEYS

WIDTH = 100
# Shown in the model's label (keras-lstm (fb=4)) rather than as a setting of the group.
IN_LABEL = ("forget_bias",)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _numbers(values: Sequence[int]) -> str:
    return ", ".join(str(v) for v in values)


def describe(cells: Sequence[SweepCell], study: str) -> str:
    """The cells as text: a header, then per group of equal settings each (task, model) with
    its lengths and seeds and how many cells, in the order the study lists them."""
    shown = [k for k in CELL_KEYS if k not in IN_LABEL]
    groups: dict[tuple[object, ...], list[SweepCell]] = {}
    for cell in cells:
        groups.setdefault(tuple(getattr(cell, k) for k in shown), []).append(cell)
    lines = [f"study {study!r}: {_plural(len(cells), 'cell')} in "
             f"{_plural(len(groups), 'group')} of settings (--dry-run: nothing trained)"]
    for settings, members in groups.items():
        text = " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in zip(shown, settings, strict=True))
        lines.append("")
        lines.extend(textwrap.wrap(f"{_plural(len(members), 'cell')}: {text}", WIDTH,
                                   subsequent_indent="    "))
        rows: dict[tuple[str, str], dict[int, list[int]]] = {}
        for cell in members:  # (task, model) -> length -> seeds
            label = model_label(cell.model, cell.forget_bias)
            rows.setdefault((cell.task, label), {}).setdefault(cell.length, []).append(cell.seed)
        for (task, label), by_length in rows.items():
            seed_sets = {tuple(s) for s in by_length.values()}
            n = sum(len(s) for s in by_length.values())
            if len(seed_sets) == 1:  # a full grid: lengths x seeds
                where = (f"lengths {_numbers(list(by_length))}  "
                         f"seeds {_numbers(next(iter(seed_sets)))}")
            else:
                where = "; ".join(f"length {length} seeds {_numbers(s)}"
                                  for length, s in by_length.items())
            lines.append(f"  {task}  {label}  {where}  ({_plural(n, 'cell')})")
    return "\n".join(lines)
