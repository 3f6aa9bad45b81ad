"""The accuracy table as a terminal shows it: one small table per task, within 100 columns.

    delayed-recall: held-out accuracy by dependency length
    model                  5         20        50        100
    keras-lstm (fb=1)   0.98 3/3  0.36 0/3  0.13 0/3  0.12 0/3
    ...
    cells: mean held-out accuracy over seeds, seeds solved/run (solved: >= 0.95); chance 0.12

A task's table has only that task's lengths, so there are no empty columns. A table with more
lengths than fit is split into blocks of columns. The full form (mean ± sd, every table) is what
`rnnbench report --out` writes.
"""

from __future__ import annotations

import textwrap
from typing import Any

from rnnbench.report import Report, build_report, format_notes

WIDTH = 100


def _cell(row: Any) -> str:
    n, solved = int(row["n"]), int(row["solved"])
    mean = row["mean"]
    shown = "n/a" if mean != mean else f"{mean:.2f}"
    return f"{shown} {solved}/{n}"


def _paper_rules(report: Report, task: str) -> list[str]:
    """The names of the rules (other than the held-out threshold) that judged the task's rows."""
    df = report.rows.df
    if "solve_rule" not in df.columns:
        return []
    names = df.loc[df["task"] == task, "solve_rule"].dropna().unique()  # a crashed row: none
    return [str(n) for n in names if str(n) and not str(n).startswith("held-out")]


def _caption(report: Report, task: str) -> str:
    summary = report.summary.xs(task, level="task")
    df = report.rows.df
    rules = _paper_rules(report, task)
    if rules:  # judged by a paper's rule: accuracy is on its test set, solved is the verdict
        return "; ".join([
            "cells: mean accuracy on the paper's test set under its criterion, seeds solved/run "
            f"(solved: met its rule, {'; '.join(rules)}, then kept its bound on test errors); "
            "`rnnbench report` sets them beside the paper",
            *(_chance(summary)),
        ])
    parts = ["cells: mean held-out accuracy over seeds, seeds solved/run"]
    if "solve_threshold" in df.columns:
        thresholds = df.loc[df["task"] == task, "solve_threshold"].dropna().unique()
        if len(thresholds) == 1:
            parts[0] += f" (solved: >= {thresholds[0]:g})"
    return "; ".join(parts + _chance(summary))


def _chance(summary: Any) -> list[str]:
    chance = summary["chance"].dropna()
    if not len(chance):
        return []
    low, high = chance.min(), chance.max()
    return [f"chance {low:.2f}" if abs(high - low) < 0.005 else f"chance {low:.2f}-{high:.2f}"]


def task_table(report: Report, task: str, width: int = WIDTH) -> str:
    """One task's accuracy table as text lines no wider than `width`."""
    summary = report.summary.xs(task, level="task")
    lengths = sorted({int(n) for n in summary.index.get_level_values("length")})
    labels = sorted({str(m) for m in summary.index.get_level_values("model")})
    cells = {(str(m), int(n)): _cell(r) for (m, n), r in summary.iterrows()}
    label_width = max([len("model"), *map(len, labels)])
    column = max([len(str(n)) for n in lengths] + [len(c) for c in cells.values()])
    per_block = max(1, (width - label_width) // (column + 2))
    judged = "accuracy" if _paper_rules(report, task) else "held-out accuracy"
    lines = [f"{task}: {judged} by dependency length"]
    for start in range(0, len(lengths), per_block):
        block = lengths[start:start + per_block]
        lines.append(f"{'model':<{label_width}}" + "".join(f"  {n:>{column}}" for n in block))
        for label in labels:
            lines.append(f"{label:<{label_width}}" + "".join(
                f"  {cells.get((label, n), '-'):>{column}}" for n in block))
    lines += textwrap.wrap(_caption(report, task), width)
    return "\n".join(lines)


def format_tables(df_or_report: Any, width: int = WIDTH) -> str:
    """Every task's table, then the report's notes: what `rnnbench sweep` prints at the end."""
    report = df_or_report if isinstance(df_or_report, Report) else build_report(df_or_report)
    if report.summary.empty:
        text = "(no measured cells)"
    else:
        tasks = sorted(report.summary.index.get_level_values("task").unique())
        text = "\n\n".join(task_table(report, t, width) for t in tasks)
    if report.notes:
        notes = format_notes(report.notes).splitlines()
        text += "\n\n" + "\n".join(textwrap.fill(n, width, subsequent_indent="  ") for n in notes)
    return text
