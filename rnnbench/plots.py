"""Figures of a report, one per task, showing what decided whether a seed solved.

A task judged by the held-out threshold: accuracy against dependency length, one line per model
(mean over seeds) with a band from the worst to the best seed, the task's chance level dashed,
the solve threshold dotted, and a log-scale length axis labelled at the lengths that ran.

A task judged by a paper's rule (no threshold applies): the fraction of seeds solved against
training sequences, one step line per model and length (the Kaplan-Meier estimate of
rnnbench.survival, from the verdict every view shares: the rule met, then its test bound kept;
unsolved seeds censored at their budget), with the paper's figure dotted.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no global backend
state), imported inside the functions.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from rnnbench import survival
from rnnbench.registry import tasks
from rnnbench.report import Report, ReportError, censored_runs


def _matplotlib() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ReportError(
            "figures need matplotlib: pip install 'rnnbench[plot]' (or matplotlib)"
        ) from None
    return Figure


# Sized for a phone as much as a projector: the page shows a figure at the screen's width, about
# 362 CSS px on a 390 px phone, so a font of f pt in a figure W inches wide shows at
# f * 362 / (72 * W) CSS px: 4.2 inches and MIN_FONT_PT 10 give 12 px (11 px is the floor the
# page promises; tests/test_webpage.py measures it in Chromium). The dpi sets sharpness only.
FIGURE_INCHES = (4.2, 4.4)
FIGURE_DPI = 150
MIN_FONT_PT = 10.0
def judged_by_paper(report: Report, task: str) -> bool:
    summary = report.summary.xs(task, level="task")
    return bool(len(summary)) and bool(summary["paper_rule"].all())


def _paper_figures(task: str, length: int) -> list[float]:
    """The paper's sequences-to-solve at this length (Task.reference), if the task has one."""
    if task not in tasks:
        return []
    reference = getattr(tasks.get(task)(), "reference", None)
    if reference is None:
        return []
    return [float(r.sequences_to_solve) for r in reference.rows_at(length)
            if r.sequences_to_solve]


def solved_curves(report: Report, task: str) -> dict[tuple[str, int], survival.Survival]:
    """(model, length) -> the Kaplan-Meier fraction solved against sequences, the figure's lines."""
    summary = report.summary.xs(task, level="task")
    curves = {}
    for label, length in sorted((str(m), int(n)) for m, n in summary.index):
        curves[(label, length)] = survival.kaplan_meier(
            *censored_runs(report.rows, task, label, length))
    return curves


def solved_figure_png(report: Report, task: str) -> bytes:
    """The PNG of `solved_figure`."""
    buffer = io.BytesIO()
    solved_figure(report, task).savefig(buffer, format="png")
    return buffer.getvalue()


def solved_figure(report: Report, task: str) -> Any:
    """Fraction of seeds solved against training sequences: what a paper's rule decided."""
    Figure = _matplotlib()
    from matplotlib.ticker import LogLocator, NullFormatter

    summary = report.summary.xs(task, level="task")
    fig = Figure(figsize=FIGURE_INCHES, dpi=FIGURE_DPI, layout="constrained")
    ax = fig.add_subplot()
    lengths = sorted({int(n) for n in summary.index.get_level_values("length")})
    styles = ["-", "--", "-.", ":"]
    colors: dict[str, Any] = {}
    curves = solved_curves(report, task)
    counts = [t for km in curves.values() for t in km.counts if t > 0]
    start = min(counts) / 2 if counts else 1.0  # log axis: curves start left of the first count
    for (label, length), km in curves.items():
        i = lengths.index(length)
        r = summary.loc[(label, length)]
        x = [start, *km.counts]  # (m + 1,) a step at each count a seed solved or stopped
        y = [0.0, *km.solved]
        name = f"{label}, T={length}" if len(lengths) > 1 else label
        (line,) = ax.step(x, y, where="post", linewidth=2, color=colors.get(label),
                          linestyle=styles[i % len(styles)],
                          label=f"{name}: {int(r['solved'])}/{int(r['n'])}")
        colors[label] = line.get_color()
    for i, length in enumerate(lengths):
        for paper in _paper_figures(task, length):
            tag = f", T={length}" if len(lengths) > 1 else ""
            ax.axvline(paper, color="0.35", linestyle=[":", (0, (1, 4))][i % 2], linewidth=1.4,
                       label=f"paper's figure{tag} ({paper:,.0f})")
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 1,000, 2,000, 5,000, ...
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:,.0f}")
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(left=start)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("training sequences (as the paper counts them)", fontsize=MIN_FONT_PT + 1)
    ax.set_ylabel("fraction of seeds solved", fontsize=MIN_FONT_PT + 1)
    ax.tick_params(labelsize=MIN_FONT_PT)
    ax.set_title(f"{report.study}: {task}\nseeds that met the paper's rule and kept\nits test "
                 "bound (Kaplan-Meier)", fontsize=MIN_FONT_PT + 1)
    ax.grid(True, alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=1,
               fontsize=MIN_FONT_PT, frameon=False)  # below the axes: see FIGURE_INCHES
    return fig


def figure_png(report: Report, task: str) -> bytes:
    """The PNG of one task's figure."""
    buffer = io.BytesIO()
    task_figure(report, task).savefig(buffer, format="png")
    return buffer.getvalue()


def task_figure(report: Report, task: str) -> Any:
    """One task's matplotlib Figure: seeds solved against sequences where a paper's rule judged
    it (`solved_figure`), else accuracy against length, a line and band per model."""
    from matplotlib.ticker import FixedLocator, NullLocator

    if judged_by_paper(report, task):
        return solved_figure(report, task)
    Figure = _matplotlib()
    summary = report.summary.xs(task, level="task")
    fig = Figure(figsize=FIGURE_INCHES, dpi=FIGURE_DPI, layout="constrained")
    ax = fig.add_subplot()
    lengths = sorted({int(n) for n in summary.index.get_level_values("length")})

    for label, rows in summary.groupby(level="model", sort=True):
        x = [int(n) for n in rows.index.get_level_values("length")]
        (line,) = ax.plot(x, rows["mean"], marker="o", linewidth=2, label=label)
        ax.fill_between(x, rows["min"], rows["max"], color=line.get_color(), alpha=0.18,
                        linewidth=0)

    chance = summary.groupby(level="length")["chance"].median().dropna()
    if len(chance):
        if chance.nunique() == 1:
            ax.axhline(chance.iloc[0], color="0.35", linestyle="--", linewidth=1.2,
                       label=f"chance ({chance.iloc[0]:.2f})")
        else:
            ax.plot(chance.index, chance.to_numpy(), color="0.35", linestyle="--",
                    linewidth=1.2, label="chance")
    df = report.rows.df
    if "solve_threshold" in df.columns:
        thresholds = df.loc[df["task"] == task, "solve_threshold"].dropna().unique()
        if len(thresholds) == 1:
            ax.axhline(thresholds[0], color="0.35", linestyle=":", linewidth=1.2,
                       label=f"solve threshold ({thresholds[0]:g})")

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(lengths))
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}")
    ax.xaxis.set_minor_locator(NullLocator())
    if len(lengths) == 1:
        ax.set_xlim(lengths[0] / 1.5, lengths[0] * 1.5)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("dependency length (log scale)", fontsize=MIN_FONT_PT + 1)
    ax.set_ylabel("held-out accuracy", fontsize=MIN_FONT_PT + 1)
    ax.tick_params(labelsize=MIN_FONT_PT)
    ax.set_title(f"{report.study}: {task}\nline: mean over seeds; band: worst to best seed",
                 fontsize=MIN_FONT_PT + 1)
    ax.grid(True, alpha=0.3)
    # Below the axes, not on them: at this size a legend inside would hide the lines.
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2,
               fontsize=MIN_FONT_PT, frameon=False)
    return fig


def task_figures(report: Report) -> dict[str, bytes]:
    """Task name -> PNG bytes, for every task with at least one measured cell."""
    _matplotlib()
    return {task: figure_png(report, task) for task in report.tasks()}


def figure_name(study: str, task: str) -> str:
    return f"{study}_{re.sub(r'[^A-Za-z0-9_.-]+', '-', task)}.png"


def write_figures(report: Report, figures: dict[str, bytes], out_dir: str | Path) -> list[Path]:
    written = []
    for task, png in figures.items():
        path = Path(out_dir) / figure_name(report.study, task)
        path.write_bytes(png)
        written.append(path)
    return written
