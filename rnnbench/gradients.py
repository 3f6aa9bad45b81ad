"""`rnnbench gradients`: gradient norms per step of models at initialisation and after training.

`diagnose` builds each model as a harness cell, measures dLoss/dh_t for every step with
rnnbench.diagnostics (the maths, below the harness), trains it with the harness's loop and
measures again; `write_csv`, `summary_lines` and `plot_gradients` give the command's output.
matplotlib is imported inside `plot_gradients`, through rnnbench.plots's helper.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnbench.backends import check_backend_env, select_backend
from rnnbench.csvlog import OutputError, rows_to_csv_text
from rnnbench.diagnostics import (
    DEFAULT_GRADIENT_BATCH,
    get_weights,
    gradient_norms,
    set_weights,
    twin_pairs,
)
from rnnbench.errors import UserError
from rnnbench.harness import gradient_batch, make_model, make_task, scored_steps, train_model
from rnnbench.plots import _matplotlib as matplotlib_figure
from rnnbench.schema import CellResult, SweepCell, model_label
from rnnbench.settings import CELL_KEYS, SpecError
from rnnbench.study import StudySpec

COLUMNS = ["step", "steps_back", "norm", "model", "phase", "task", "length", "seed", "units",
           "forget_bias", "sequences_seen", "accuracy"]
PHASES = ("init", "trained")


# -- the diagnosis: models at initialisation and after training -------------------------------


def gradient_cells(task: str, models: Sequence[str], length: int, seed: int = 0,
                   **settings: Any) -> list[SweepCell]:
    """The harness cells `rnnbench gradients` measures: one per model (and forget-gate bias),
    each with the cell settings given (`settings`: any of the settings table's CELL_KEYS, None
    or () meaning not given) read and checked as a sweep's are, so a name, a length, a value or
    a model that cannot take a setting is refused in the same words, before anything is built.
    """
    unknown = sorted(set(settings) - set(CELL_KEYS))
    if unknown:
        raise SpecError(f"unknown setting {unknown[0]!r}; allowed: {', '.join(CELL_KEYS)}")
    models = list(dict.fromkeys(models))  # a model named twice is measured once
    if not models:
        raise UserError("give at least one model")
    study = StudySpec.from_mapping(
        {"name": "gradients", "tasks": [task], "models": models, "lengths": [length],
         "seeds": [seed]}, where="option").with_overrides(**settings)
    if study.backend:
        select_backend(study.backend)
    else:
        check_backend_env()
    return study.cells()


def diagnose(
    task: str,
    models: Sequence[str],
    length: int,
    seed: int = 0,
    batch: int = DEFAULT_GRADIENT_BATCH,
    same_weights: bool = False,
    **settings: Any,
) -> list[dict[str, Any]]:
    """Gradient norms per step of each model, at "init" and "trained"; rows with COLUMNS' keys.

    Every model is a harness SweepCell (same task, length, seed and cell settings: see
    `gradient_cells`) built by the harness and trained by its loop, so "trained" is what a sweep
    cell reaches. The norms are measured on the same `batch` sequences (the cell's gradient
    stream) in both phases. With `same_weights`, every model starts from the first model's
    initial weights (twins only).
    """
    return diagnose_cells(gradient_cells(task, models, length, seed, **settings), batch,
                          same_weights)


def diagnose_cells(cells: Sequence[SweepCell], batch: int = DEFAULT_GRADIENT_BATCH,
                   same_weights: bool = False) -> list[dict[str, Any]]:
    """`diagnose` of cells that differ only in model and forget-gate bias."""
    base = cells[0]
    if same_weights and len({c.model for c in cells}) < len(cells):
        raise UserError("same weights: several forget-gate biases of one model cannot all "
                        "start from the first model's weights (the bias is one of them); give "
                        "one --forget-bias")
    task_obj = make_task(base)
    x, y = gradient_batch(base, task_obj, batch)
    mask = scored_steps(task_obj, x, y)  # a per-step task's scored steps (None: the last)
    built = [make_model(cell, task_obj) for cell in cells]
    if same_weights:
        first = base.model
        weights = get_weights(built[0], first)
        for cell, model in zip(cells[1:], built[1:], strict=True):
            try:
                set_weights(model, weights, cell.model)
            except ValueError as exc:
                raise UserError(
                    f"same weights: cannot copy {first}'s weights into {cell.model} ({exc}); "
                    f"twins are {', '.join('/'.join(pair) for pair in twin_pairs())}"
                ) from None

    inits = [gradient_norms(m, x, y, c.model, mask=mask)
             for c, m in zip(cells, built, strict=True)]
    rows: list[dict[str, Any]] = []
    for cell, model, init in zip(cells, built, inits, strict=True):  # measured all before training
        result = CellResult()
        train_model(cell, task_obj, model, result)
        trained = gradient_norms(model, x, y, cell.model, mask=mask)
        for phase, norms, seen, acc in (
            ("init", init, 0, math.nan),
            ("trained", trained, result.sequences_seen, result.accuracy),
        ):
            T = len(norms)
            for t, norm in enumerate(norms, start=1):
                rows.append({
                    "step": t, "steps_back": T - t, "norm": float(norm), "model": cell.model,
                    "phase": phase, "task": cell.task, "length": cell.length, "seed": cell.seed,
                    "units": cell.units, "forget_bias": cell.forget_bias,
                    "sequences_seen": seen, "accuracy": acc,
                })
    return rows


def write_csv(rows: Sequence[dict[str, Any]], path: Any) -> None:
    """The rows as a CSV with COLUMNS (missing values empty), replacing any file at `path`."""
    path = Path(path)
    text = rows_to_csv_text(rows, columns=COLUMNS)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None


def summary_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    """One line per (model, phase): the norm at the last and first step, their ratio, and after
    training the held-out accuracy reached."""
    lines = []
    keys = dict.fromkeys((model_label(r["model"], r["forget_bias"]), r["phase"]) for r in rows)
    width = max(len(label) for label, _ in keys)
    for label, phase in keys:
        mine = [r for r in rows
                if model_label(r["model"], r["forget_bias"]) == label and r["phase"] == phase]
        first, last = mine[0]["norm"], mine[-1]["norm"]
        ratio = first / last if last > 0 else math.nan
        line = (f"{label:<{width}}  {phase:<7}  |dL/dh_T| {last:.3g}  "
                f"|dL/dh_1| {first:.3g}  first/last {ratio:.3g}")
        if phase == "trained":
            line += f"  (accuracy {mine[0]['accuracy']:.2f} after {mine[0]['sequences_seen']:,} "
            line += "sequences)"
        lines.append(line)
    return lines


def plot_gradients(rows: Sequence[dict[str, Any]], path: Any, title: str = "") -> None:
    """Log-scale norm against steps back from the end: one colour per model, one style per phase."""
    # matplotlib's object API: no pyplot, no global backend switch, no display needed
    fig = matplotlib_figure()(figsize=(6, 3.6), dpi=80)
    ax = fig.subplots()
    labels = list(dict.fromkeys(model_label(r["model"], r["forget_bias"]) for r in rows))
    for i, model in enumerate(labels):
        for phase, style in zip(PHASES, ("--", "-"), strict=True):
            mine = [r for r in rows
                    if model_label(r["model"], r["forget_bias"]) == model and r["phase"] == phase]
            if mine:
                back, norm = zip(*sorted((r["steps_back"], r["norm"]) for r in mine), strict=True)
                label = f"{model} ({phase})"
                ax.plot(back, norm, style, color=f"C{i}", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("steps back from the last step")
    ax.set_ylabel("|dLoss/dh_t|, batch mean")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
