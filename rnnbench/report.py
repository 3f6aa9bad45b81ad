"""Pandas tables of a results CSV: accuracy against dependency length, and what it cost.

A results CSV has one row per cell (task, model, length, seed and the rest of its config, then what
it measured). `build_report` turns it into the tables people read:

- accuracy: rows (task, model), columns length, cells `mean ± sd (solved k/n)` over seeds;
- critical length: per (task, model), the longest length at which at least half the seeds solved;
- sample efficiency: sequences to solve with unsolved seeds counted as censored (rnnbench.survival):
  the solved fraction's Wilson interval, the Kaplan-Meier median and the expected running time;
- cost: parameter count, cells, median and total wall seconds per (task, model).

How rows count (the notes of a report say so whenever it matters):

- A status that is not `ok` (`error`, `crashed`, `diverged`, `timeout`, ...): the seed ran and did
  not solve; it counts in n as unsolved (censored at its budget), in every table, the figures and
  the paper table alike: failed seeds are counted, never dropped. The last held-out accuracy it
  recorded (if any) enters the mean; an error row recorded none. Whether a row solved, and at
  how many sequences, is rnnbench.verdict's one decision (the held-out threshold, or the task's
  rule and then its test bound), which every view reads.
- The same config twice (CSVs merged, a cell rerun): the last row is kept.
- A grid with holes (an interrupted sweep): the notes count the missing cells per (task, model),
  against every length and seed that appears for that task.
- Models with several settings in one CSV (e.g. two `units` from merged sweeps) get one row each:
  the setting is part of the model label, as the forget-gate bias always is.

Only the columns in REQUIRED_COLUMNS must be present; the others are used when they are there, and
unknown columns, tasks, models and statuses are carried along. Pandas is imported inside the
functions, so importing this module is instant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnbench import paper_table, survival, verdict
from rnnbench.csvlog import OutputError, parse_rows
from rnnbench.errors import UserError
from rnnbench.schema import CELL_COLUMNS, column_dtypes, model_label

REQUIRED_COLUMNS = ("task", "model", "length", "seed", "accuracy", "sequences_to_solve")
INDEX = ["task", "model"]

# Titles and one-line captions of the tables, in the order they are printed.
TABLES = {
    "accuracy": (
        "Accuracy against dependency length",
        "columns: dependency length; cells: held-out accuracy at the end of training, mean ± sd "
        "over seeds (under a paper's rule: on its test set), and solved k/n: seeds that solved by "
        "the rule that judged them (the held-out threshold, or the paper's rule then its test "
        "bound)",
    ),
    "gradient_signal": (
        "Gradient signal at initialisation",
        "columns: dependency length; cells: |dLoss/dh_1| / |dLoss/dh_T| of the untrained model, "
        "median over seeds: how much of the last step's error signal reaches the first step "
        "(rnnbench gradients shows every step); n/a: the model exposes no gradients",
    ),
    "loss_vs_chance": (
        "Loss against the memoryless baseline",
        "columns: dependency length; cells: the final training loss over the task's chance loss "
        "(the best memoryless predictor's, e.g. copy memory's 10 ln 8/(T+20)), median over "
        "seeds: below 1 the model uses what it remembers; for tasks that state a chance loss",
    ),
    "critical_length": (
        "Critical length",
        "the longest length at which at least half the seeds solved the task, with the seeds "
        "solved/run there; none: never",
    ),
    "sample_efficiency": (
        "Sample efficiency",
        "training sequences to solve, every unsolved seed counted as not solved within its budget: "
        "solved k/n with its 95% Wilson interval; the Kaplan-Meier median with its 95% "
        "interval (>N: not reached within the N sequences run); the expected running time "
        "(every sequence spent by every seed over the seeds solved, as COCO reports it). Under "
        "a paper's rule, solved means the rule met and its test bound kept, and sequences are "
        "counted as the paper counts them",
    ),
    "paper": (paper_table.TITLE, paper_table.CAPTION),
    "literature": (paper_table.LITERATURE_TITLE, paper_table.LITERATURE_CAPTION),
    "cost": (
        "Cost",
        "trainable parameters, cells run, median and total wall seconds per cell",
    ),
}


class ReportError(UserError):
    """The CSV cannot be reported on; the message names the file and the reason."""


def _seconds(s: float) -> str:
    return f"{s:.2f}" if s < 10 else f"{s:.1f}" if s < 100 else f"{s:,.0f}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# ---------------------------------------------------------------------------------------------
# Reading and cleaning rows


def read_text(path: str | Path) -> Any:
    """Read a results CSV as text columns; a one-line ReportError if it is not one.

    Rows that do not parse (csvlog.parse_rows: wrong number of fields, a non-number in a number
    column, not UTF-8, cut short) are skipped, never counted: `df.attrs["unparsed"]` holds the
    warning that counts them, which the report's notes repeat. Resume skips the same rows.
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise ReportError(f"{str(path)!r}: no such file")
    if not path.is_file():
        raise ReportError(f"{str(path)!r} is not a file (give the results CSV of a sweep)")
    try:
        parsed = parse_rows(path.read_bytes())
    except OSError as exc:
        raise ReportError(f"{str(path)!r} cannot be read: {exc.strerror or exc}") from None
    except OutputError as exc:
        raise ReportError(f"{str(path)!r} is not a readable CSV: {exc}") from None
    if parsed.header is None:
        raise ReportError(f"{str(path)!r} is empty: no header, no rows")
    columns: list[str] = []  # a repeated column name gets ".1", ".2" as pandas names them
    for name in parsed.header:
        n, unique = 0, name
        while unique in columns:
            n += 1
            unique = f"{name}.{n}"
        columns.append(unique)
    df = pd.DataFrame(parsed.values, columns=columns, dtype=str)
    check_columns(df, str(path))
    warning = parsed.warning(path)
    if warning:
        df.attrs["unparsed"] = warning
    return df


def check_columns(df: Any, source: str = "the results") -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ReportError(
            f"{source} is not an rnnbench results CSV: missing columns {', '.join(missing)} "
            f"(needs {', '.join(REQUIRED_COLUMNS)})"
        )


def _text(value: Any) -> str:
    """A cell as the text the CSV holds, so rows read back from a CSV and fresh ones compare."""
    if value is None or type(value).__name__ == "NAType" or (
        isinstance(value, float) and math.isnan(value)
    ):
        return ""  # NAType: pandas.NA, the missing value of nullable columns (Int64, string)
    return str(value).strip()


def _numbers(df: Any, column: str, whole: bool = False, required: bool = False) -> Any:
    """A column as numbers; text that is not a number is an error, empty is NaN."""
    import pandas as pd

    text = df[column].map(_text)
    values = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = text[(text != "") & values.isna()]
    if len(bad) or (required and values.isna().any()):
        example = bad.iloc[0] if len(bad) else "(empty)"
        raise ReportError(f"column {column!r} must hold numbers; found {example!r}")
    if whole:
        if (values.dropna() % 1 != 0).any():
            raise ReportError(f"column {column!r} must hold whole numbers")
        return values.astype("Int64") if values.isna().any() else values.astype("int64")
    return values.astype("float64")


@dataclass
class Rows:
    """Rows ready for the tables, with what was done to them said in `notes`."""

    df: Any  # one row per kept config: label, counted (every seed run), solved, numbers as numbers
    notes: list[str] = field(default_factory=list)


def _labels(df: Any, keys: Any) -> tuple[list[str], list[str]]:
    """Each row's model label, and the settings that went into labels.

    Settings other than the grid's own that vary between rows of one (task, model, length,
    seed) mark different model variants: they go into the label, so they are not pooled. `keys`
    holds the config columns as text (`_text`), `df` has task, model, length and seed.
    """
    config = list(keys.columns)
    grid = ["task", "model", "length", "seed"]
    settings = [c for c in config if c not in grid and c != "forget_bias"]
    by_cell = [keys[g] if g in keys.columns else df[g] for g in grid]
    varying = [c for c in settings if len(df) and (keys[c].groupby(by_cell).nunique() > 1).any()]
    forget_bias = df["forget_bias"] if "forget_bias" in df.columns else [None] * len(df)
    labels = [
        model_label(str(m), fb, {c: keys.iat[i, config.index(c)] for c in varying})
        for i, (m, fb) in enumerate(zip(df["model"], forget_bias, strict=True))
    ]
    return labels, varying


def read_results(path: str | Path) -> Any:
    """A results CSV as a DataFrame in the dtypes `rnnbench.sweep` returns, with a `label`.

    Counts are nullable integers (Int64: `sequences_to_solve` is <NA> where a cell never
    solved), text is `string`, measurements float64; columns rnnbench does not know stay text.
    `label` names a model configuration, e.g. "keras-lstm (fb=4)" (a model without a forget
    gate is its name alone), so `df.groupby(["task", "label", "length"])` keeps every model,
    where grouping on `forget_bias` would drop the rows whose bias is empty (NaN keys). Rows
    that do not parse are skipped, as the report skips them (`df.attrs["unparsed"]`); a value
    that is not a number in a number column the report does not need (an old CSV's
    "np.float64(0.1)") is read as empty and counted in `df.attrs["unreadable"]`.
    """
    import pandas as pd

    text = read_text(path)
    df = text.copy()
    unreadable = []
    for column, kind in column_dtypes().items():
        if column not in df.columns:
            continue
        values = df[column].map(_text)
        if kind == "string":
            df[column] = values.astype("string")
            continue
        if column in REQUIRED_COLUMNS:  # the report's own columns: a bad value is an error
            numbers = _numbers(df, column, whole=kind == "Int64")
        else:  # another column's stray text (an old CSV's "np.float64(0.1)") is left empty
            numbers = pd.to_numeric(values.where(values != ""), errors="coerce")
            bad = int(((values != "") & numbers.isna()).sum())
            if kind == "Int64" and (numbers.dropna() % 1 != 0).any():
                bad += int((numbers.dropna() % 1 != 0).sum())
                numbers = numbers.where(numbers % 1 == 0)
            if bad:
                unreadable.append(f"{column} ({bad})")
        df[column] = numbers.astype(kind)
    config = [c for c in CELL_COLUMNS if c in df.columns]
    df["label"] = pd.Series(_labels(df, text[config].map(_text))[0], index=df.index,
                            dtype="string")
    df.attrs = dict(text.attrs)
    if unreadable:
        df.attrs["unreadable"] = ("values that are not numbers were read as empty: "
                                  + ", ".join(unreadable))
    return df


def prepare(df: Any) -> Rows:
    """Deduplicate configs, label model variants, apply the status policy, find grid holes."""
    check_columns(df)
    notes: list[str] = [] if len(df) else ["no result rows yet (a sweep that has just started?)."]
    if df.attrs.get("unparsed"):
        notes.append(f"{df.attrs['unparsed']}.")
    df = df.reset_index(drop=True)
    config = [c for c in CELL_COLUMNS if c in df.columns]
    keys = df[config].map(_text) if len(df) else df[config]
    duplicated = keys.duplicated(keep="last")
    if duplicated.any():
        notes.append(
            f"{_count(int(duplicated.sum()), 'row')} repeated the config of a later row "
            "(merged CSVs or a rerun cell); the last row of each config is kept."
        )
        df, keys = df[~duplicated].reset_index(drop=True), keys[~duplicated].reset_index(drop=True)

    df = df.assign(
        task=df["task"].map(_text),
        model=df["model"].map(_text),
        length=_numbers(df, "length", whole=True, required=True),
        seed=_numbers(df, "seed", whole=True, required=True),
        accuracy=_numbers(df, "accuracy"),
        sequences_to_solve=_numbers(df, "sequences_to_solve"),
        status=df["status"].map(_text).replace("", "ok") if "status" in df.columns else "ok",
    )
    for column in ("num_params", "wall_seconds", "chance_accuracy", "solve_threshold",
                   "grad_ratio_init", "final_loss", "chance_loss"):
        if column in df.columns:
            df[column] = _numbers(df, column)

    df["label"], varying = _labels(df, keys)
    if varying:
        notes.append(
            f"rows of one model differ in {', '.join(varying)}; each setting is its own row "
            "in the tables."
        )

    # solved or not, and at how many sequences: one verdict that every view reads
    df = verdict.judge(df)
    statuses = df["status"].value_counts()
    errors = int(statuses.get("error", 0))
    if errors:
        notes.append(
            f"rows with status error ({errors}): seeds that ran and did not solve, counted in n "
            "and censored at their budget; they recorded no accuracy for the mean."
        )
    others = {s: int(n) for s, n in statuses.items() if s not in ("ok", "error")}
    if others:
        listed = ", ".join(f"{n} {s}" for s, n in sorted(others.items()))
        notes.append(
            f"rows that stopped early ({listed}): unsolved seeds; the last accuracy they "
            "recorded, if any, is in the mean."
        )
    notes.extend(_missing_cells(df))
    return Rows(df=df, notes=notes)


def _missing_cells(df: Any) -> list[str]:
    """Notes on (task, model)s whose cells do not cover their lengths x every seed of the task.

    Cells missing at a length the model has rows at are an incomplete grid. A length of the task
    at which the model has no row at all gets its own note: a study may run some models at
    lengths others skip (its regimes), or the sweep has not got there yet; the CSV cannot say.
    """
    notes = []
    for task, rows in df.groupby("task", sort=True):
        n_seeds = rows["seed"].nunique()
        task_lengths = set(rows["length"])
        for label, own in rows.groupby("label", sort=True):
            absent = sorted(task_lengths - set(own["length"]))
            if absent:
                notes.append(
                    f"{task} / {label}: no rows at length {', '.join(map(str, absent))} (not in "
                    "its study, or not run yet)."
                )
            n_lengths = own["length"].nunique()
            expected = n_lengths * n_seeds
            present = own[own["counted"]][["length", "seed"]].drop_duplicates()
            missing = expected - len(present)
            if missing > 0:
                because = ""
                notes.append(
                    f"incomplete grid: {task} / {label}: {missing} of {expected} cells missing "
                    f"({_count(n_lengths, 'length')} x {_count(n_seeds, 'seed')}{because})."
                )
    return notes


# ---------------------------------------------------------------------------------------------
# Tables


SUMMARY_COLUMNS = ["n", "solved", "failed_test", "solved_low", "solved_high", "mean", "sd", "min",
                   "max", "median_sequences_to_solve", "median_low", "median_high",
                   "expected_running_time", "budget", "observed", "chance",
                   "median_grad_ratio_init", "paper_rule", "median_loss_to_chance"]


def _survival_of(group: Any) -> dict[str, Any]:
    """The censored statistics of one (task, model, length): the verdict's solved_at and spent."""
    solved_at = [float(v) for v in group.loc[group["solved"], "solved_at"]]
    censored = [float(v) for v in group.loc[~group["solved"], "censored_at"] if v == v]
    km = survival.kaplan_meier(solved_at, censored)
    low, high = survival.wilson(len(solved_at), len(group))
    spent = [float(v) for v in group["spent"] if v == v]
    return {
        "solved_low": low, "solved_high": high,
        "median_sequences_to_solve": km.median, "median_low": km.low, "median_high": km.high,
        "expected_running_time": survival.expected_running_time(spent, len(solved_at)),
    }


def censored_runs(rows: Rows, task: str, label: str, length: int) -> tuple[list[float],
                                                                          list[float]]:
    """(solved_at of the solved seeds, spent of the unsolved ones) of one (task, model, length):
    the input of rnnbench.survival's statistics, from the verdict every view shares."""
    df = rows.df
    own = df[df["counted"] & (df["task"] == task) & (df["label"] == label)
             & (df["length"] == length)]
    solved = [float(v) for v in own.loc[own["solved"], "solved_at"]]
    censored = [float(v) for v in own.loc[~own["solved"], "censored_at"] if v == v]
    return solved, censored


def summary_table(rows: Rows) -> Any:
    """Numbers behind the tables, one row per (task, model, length).

    n counted seeds, `solved` and `failed_test` from the verdict (rnnbench.verdict), the solved
    fraction's Wilson interval, held-out (or test) accuracy statistics, and sequences to solve
    with every unsolved seed censored at its budget (rnnbench.survival, rnnbench.verdict): the
    Kaplan-Meier median with its 95% bounds (inf: not reached within the sequences run) and the
    expected running time (every sequence spent over the seeds solved).
    """
    import pandas as pd

    counted = rows.df[rows.df["counted"]]
    columns = SUMMARY_COLUMNS
    if counted.empty:
        index = pd.MultiIndex.from_arrays([[], [], []], names=["task", "model", "length"])
        return pd.DataFrame(columns=columns, index=index)
    counted = counted.assign(
        observed=counted[["spent", "censored_at"]].max(axis=1),
        chance=counted.get("chance_accuracy", math.nan),
        grad_ratio=counted.get("grad_ratio_init", math.nan),
        loss_to_chance=counted.get("final_loss", math.nan) / counted.get("chance_loss", math.nan),
    )
    grouped = counted.groupby(["task", "label", "length"], sort=True)
    summary = grouped.agg(
        n=("seed", "size"),
        solved=("solved", "sum"),
        failed_test=("failed_test", "sum"),
        mean=("accuracy", "mean"),
        sd=("accuracy", "std"),
        min=("accuracy", "min"),
        max=("accuracy", "max"),
        budget=("budget", "max"),
        observed=("observed", "max"),
        chance=("chance", "median"),
        median_grad_ratio_init=("grad_ratio", "median"),
        median_loss_to_chance=("loss_to_chance", "median"),
        paper_rule=("paper_rule", "all"),
    )
    censored = pd.DataFrame.from_records(
        [_survival_of(group) for _, group in grouped], index=summary.index)
    summary = summary.join(censored)
    summary.index = summary.index.rename(["task", "model", "length"])
    summary["solved"] = summary["solved"].astype(int)
    summary["failed_test"] = summary["failed_test"].astype(int)
    return summary[columns]


def _by_length(summary: Any, cell: Any, rows: Rows) -> Any:
    """Rows (task, model), columns length, cells `cell(summary row)`.

    A length of the task's grid where this model has rows but no measured cell (all errors)
    says 'missing', one where it has no row at all 'not run' (a study's regimes may skip it, or
    the sweep has not got there); a length the task never ran stays empty.
    """
    import pandas as pd

    if summary.empty:
        return pd.DataFrame(index=pd.MultiIndex.from_arrays([[], []], names=INDEX))
    text = summary.apply(cell, axis=1)
    table = text.unstack("length").reindex(columns=sorted(rows.df["length"].unique()))
    task_lengths = rows.df.groupby("task")["length"].unique()
    has_rows = set(zip(rows.df["task"], rows.df["label"], rows.df["length"], strict=True))
    for task, label in table.index:
        for n in task_lengths[task]:
            if table.at[(task, label), n] != table.at[(task, label), n]:  # NaN: no cell
                ran = (task, label, n) in has_rows
                table.at[(task, label), n] = "missing" if ran else "not run"
    table.columns = pd.Index([int(c) for c in table.columns], name="length")
    return table.fillna("")


def solved_text(r: Any) -> str:
    """`k/n` of a summary row, with the seeds that met a paper's rule but broke its test bound."""
    text = f"{int(r['solved'])}/{int(r['n'])}"
    failed = int(r.get("failed_test", 0) or 0)
    return text + (f", {failed} more met the rule, failed the test" if failed else "")


def _accuracy_cell(r: Any) -> str:
    solved = f"(solved {solved_text(r)})"
    if r["mean"] != r["mean"]:
        return f"n/a {solved}"
    if r["sd"] != r["sd"]:  # one accuracy: no spread to show
        return f"{r['mean']:.2f} {solved}"
    return f"{r['mean']:.2f} ± {r['sd']:.2f} {solved}"


def sequences_text(value: float, budget: float) -> str:
    """A count of sequences; inf (not reached within the sequences run) as >budget."""
    if value != value:
        return "n/a"
    if math.isinf(value):
        return f">{budget:,.0f}" if budget == budget else "not reached"
    return f"{value:,.0f}"


def _ratio_cell(r: Any) -> str:
    ratio = r["median_grad_ratio_init"]
    return "n/a" if ratio != ratio else f"{ratio:.2g}"


def _loss_cell(r: Any) -> str:
    ratio = r["median_loss_to_chance"]
    return "n/a" if ratio != ratio else f"{ratio:.2f}"


def sample_efficiency_table(summary: Any) -> Any:
    """Per (task, model, length): solved k/n with its Wilson interval, the Kaplan-Meier median of
    sequences to solve with its 95% interval, and the expected running time (COCO's ERT)."""
    import pandas as pd

    columns = ["solved", "solved 95% CI", "median to solve (KM)", "median 95% CI",
               "expected running time", "budget"]
    records = []
    for (task, label, length), r in summary.iterrows():
        budget = r["observed"]  # ">N": not reached within the most sequences a seed ran
        low, high = r["solved_low"], r["solved_high"]
        records.append({
            "task": task, "model": label, "length": int(length),
            "solved": solved_text(r),
            "solved 95% CI": "" if low != low else f"{low:.2f}-{high:.2f}",
            "median to solve (KM)": sequences_text(r["median_sequences_to_solve"], budget),
            "median 95% CI": (f"{sequences_text(r['median_low'], budget)} to "
                              f"{sequences_text(r['median_high'], budget)}"),
            "expected running time": sequences_text(r["expected_running_time"], budget),
            "budget": sequences_text(r["budget"], r["budget"]),
        })
    index = ["task", "model", "length"]
    if not records:
        return pd.DataFrame(columns=columns,
                            index=pd.MultiIndex.from_arrays([[], [], []], names=index))
    return pd.DataFrame.from_records(records).set_index(index)[columns]


def critical_lengths(summary: Any) -> dict[tuple[str, str], tuple[int, int, int] | None]:
    """(task, model) -> (critical length, seeds solved there, seeds run there), or None.

    The critical length is the largest length at which at least half the seeds (k >= n/2)
    solved, by the verdict every view shares.
    """
    found: dict[tuple[str, str], tuple[int, int, int] | None] = {}
    for (task, label), rows in summary.groupby(level=["task", "model"], sort=True):
        best = None
        for (_, _, n), r in rows.iterrows():
            if r["n"] and 2 * r["solved"] >= r["n"]:
                best = (int(n), int(r["solved"]), int(r["n"]))
        found[(str(task), str(label))] = best
    return found


def critical_length_table(summary: Any) -> Any:
    """Per (task, model): the longest length at which at least half the seeds (k >= n/2) solved,
    with the seeds behind it."""
    import pandas as pd

    records = []
    critical = critical_lengths(summary)
    for (task, label), rows in summary.groupby(level=["task", "model"], sort=True):
        lengths = rows.index.get_level_values("length")
        passed = [int(n) for n, ok in zip(lengths, 2 * rows["solved"] >= rows["n"], strict=True)
                  if ok]
        best = critical[(str(task), str(label))]
        records.append({
            "task": task,
            "model": label,
            "critical length": "none" if best is None else f"{best[0]} ({best[1]}/{best[2]} seeds)",
            "lengths solved by half the seeds": ", ".join(map(str, passed)) or "none",
            "lengths tested": ", ".join(str(int(n)) for n in lengths),
        })
    columns = ["critical length", "lengths solved by half the seeds", "lengths tested"]
    if not records:
        return pd.DataFrame(columns=columns, index=pd.MultiIndex.from_arrays([[], []], names=INDEX))
    return pd.DataFrame.from_records(records).set_index(INDEX)[columns]


def cost_table(rows: Rows) -> Any:
    """Per (task, model): parameter count, cells run, median and total wall seconds per cell."""
    import pandas as pd

    df = rows.df
    records = []
    for (task, label), own in df.groupby(["task", "label"], sort=True):
        record: dict[str, Any] = {"task": task, "model": label, "cells": len(own)}
        if "num_params" in df.columns:
            params = sorted({int(p) for p in own["num_params"].dropna()})
            record["parameters"] = (
                "n/a" if not params else f"{params[0]:,}" if len(params) == 1
                else f"{params[0]:,}-{params[-1]:,}"
            )
        if "wall_seconds" in df.columns:
            wall = own["wall_seconds"].dropna()
            record["median s/cell"] = _seconds(wall.median()) if len(wall) else "n/a"
            record["total s"] = _seconds(wall.sum()) if len(wall) else "n/a"
        records.append(record)
    columns = [c for c in ("parameters", "cells", "median s/cell", "total s")
               if c == "cells" or any(c in r for r in records)]
    if not records:
        return pd.DataFrame(columns=columns, index=pd.MultiIndex.from_arrays([[], []], names=INDEX))
    return pd.DataFrame.from_records(records).set_index(INDEX)[columns]


@dataclass
class Report:
    study: str
    rows: Rows
    summary: Any  # numbers, one row per (task, model, length)
    tables: dict[str, Any]  # name -> table of text, keys as in TABLES
    task_order: tuple[str, ...] = ()  # the study's order of its tasks, when the sweep recorded it

    @property
    def notes(self) -> list[str]:
        return self.rows.notes

    def tasks(self) -> list[str]:
        """The measured tasks: in the study's order where it is known, then the rest sorted."""
        if self.summary.empty:
            return []
        measured = set(self.summary.index.get_level_values("task").unique())
        first = [t for t in dict.fromkeys(self.task_order) if t in measured]
        return first + sorted(measured - set(first))


def build_report(df: Any, study: str = "results") -> Report:
    """All the tables of a results DataFrame (text columns as read, or numbers as a sweep has)."""
    rows = prepare(df)
    summary = summary_table(rows)
    tables = {"accuracy": _by_length(summary, _accuracy_cell, rows)}
    if summary["median_grad_ratio_init"].notna().any():  # CSVs before the column have none
        tables["gradient_signal"] = _by_length(summary, _ratio_cell, rows)
    with_chance_loss = summary["median_loss_to_chance"].notna().groupby(level="task").any()
    if with_chance_loss.any():  # only the tasks that state a chance loss (copy memory)
        tasks_with = list(with_chance_loss[with_chance_loss].index)
        own = Rows(rows.df[rows.df["task"].isin(tasks_with)])  # their rows and lengths alone
        tables["loss_vs_chance"] = _by_length(summary.loc[tasks_with], _loss_cell, own)
    tables |= {
        "critical_length": critical_length_table(summary),
        "sample_efficiency": sample_efficiency_table(summary),
        "cost": cost_table(rows),
    }
    paper = paper_table.paper_table(rows.df)
    if not paper.empty:
        tables["paper"] = paper
    literature = paper_table.literature_table(rows.df)
    if not literature.empty:
        tables["literature"] = literature
    return Report(study=study, rows=rows, summary=summary, tables=tables)


def accuracy_of(results: Any, numbers: bool = False) -> Any:
    """The accuracy table of a sweep's rows, as a pandas DataFrame (also `rnnbench.report(...)`).

    `results` is a results CSV's path or the DataFrame `rnnbench.sweep` returned. Rows are
    (task, model), columns dependency length, cells `mean ± sd (solved k/n)` over seeds, as
    `rnnbench report` prints. With `numbers=True`: the numbers behind it instead, one row per
    (task, model, length) with the columns of SUMMARY_COLUMNS: n, solved (the shared verdict),
    the solved fraction's Wilson interval, accuracy statistics, the Kaplan-Meier median sequences
    to solve with its interval, the expected running time, the budget, chance.
    """
    df = read_text(results) if isinstance(results, (str, Path)) else results
    built = build_report(df)
    return built.summary if numbers else built.tables["accuracy"]


# ---------------------------------------------------------------------------------------------
# Text: the terminal, Markdown, files


def _to_string(table: Any) -> str:
    import pandas as pd

    if table.empty:
        return "(no rows)"
    # At most TERMINAL_COLUMNS wide: a wider table goes on in blocks of columns below (pandas
    # repeats the row labels), so a terminal or a pasted text file never wraps a row mid-cell.
    with pd.option_context("display.width", TERMINAL_COLUMNS, "display.max_columns", 100,
                           "display.max_colwidth", 80):
        text = table.to_string(line_width=TERMINAL_COLUMNS)
    if max(len(line) for line in text.splitlines()) <= TERMINAL_COLUMNS:
        return text
    return _stacked(table)


def _stacked(table: Any) -> str:
    """A table whose one column is already too wide beside its row labels, as a list: each row's
    labels on a line, then one wrapped line per non-empty cell, `column: value`."""
    import textwrap

    flat = table.reset_index()
    labels = list(flat.columns[: table.index.nlevels])
    name = f"{table.columns.name} " if table.columns.name else ""
    lines = []
    for row in flat.itertuples(index=False):
        values = dict(zip(flat.columns, row, strict=True))
        lines.append("  ".join(str(values[c]) for c in labels))
        for column in flat.columns[len(labels):]:
            value = str(values[column]).strip()
            if value and value != "nan":
                lines.append(textwrap.fill(f"{name}{column}: {value}", TERMINAL_COLUMNS,
                                           initial_indent="    ", subsequent_indent="      "))
    return "\n".join(lines)


TERMINAL_COLUMNS = 100


def _wrapped(text: str) -> str:
    """Prose (a caption, a note) wrapped to TERMINAL_COLUMNS, lines kept where they break."""
    import textwrap

    return "\n".join(textwrap.fill(line, TERMINAL_COLUMNS, break_long_words=False,
                                    break_on_hyphens=False) if line.strip() else line
                      for line in text.splitlines())


def format_notes(notes: list[str]) -> str:
    return "\n".join(f"Note: {n}" for n in notes)


def format_table(df: Any) -> str:
    """The main table (accuracy against length) with its notes: what `rnnbench sweep` prints."""
    report = build_report(df)
    text = _to_string(report.tables["accuracy"])
    return f"{text}\n{format_notes(report.notes)}" if report.notes else text


def format_report(report: Report) -> str:
    """Every table with its title and caption, then the notes."""
    parts = [f"rnnbench report: {report.study} ({_count(len(report.rows.df), 'row')})"]
    for name, table in report.tables.items():
        title, caption = TABLES[name]
        parts.append(f"\n{_wrapped(title)}\n{_wrapped(f'({caption})')}\n{_to_string(table)}")
    if report.notes:
        parts.append("\n" + _wrapped(format_notes(report.notes)))
    return "\n".join(parts)


_MARKDOWN_SPECIAL = "\\`*_[]|#!"


def markdown_text(value: Any) -> str:
    """`value` as literal Markdown text on one line: HTML and Markdown syntax shown, not run.

    Names come from plugins and CSVs, so a model called `<script>` or `[x](javascript:...)` must
    print as those characters: &, < and > become entities, Markdown's punctuation is escaped.
    """
    import html

    text = html.escape(" ".join(str(value).split()), quote=False)
    return "".join(f"\\{c}" if c in _MARKDOWN_SPECIAL else c for c in text)


def to_markdown(table: Any) -> str:
    """A GitHub-flavoured Markdown table, index columns first (no `tabulate` needed)."""
    import pandas as pd

    flat = table.reset_index(drop=type(table.index) is pd.RangeIndex)
    header = [str(c) for c in flat.columns]

    cell = markdown_text
    header = [cell(c) for c in header]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in flat.itertuples(False)]
    return "\n".join(lines) + "\n"


def write_tables(report: Report, out_dir: str | Path) -> list[Path]:
    """Each table as `<study>_<table>.csv` and `.md`, and the numbers as `<study>_summary.csv`."""
    out_dir = Path(out_dir)
    written = []
    for name, table in report.tables.items():
        title, caption = TABLES[name]
        csv_path = out_dir / f"{report.study}_{name}.csv"
        table.to_csv(csv_path)
        md_path = out_dir / f"{report.study}_{name}.md"
        md_path.write_text(f"**{title}** ({markdown_text(report.study)}): {caption}\n\n"
                           f"{to_markdown(table)}",
                           encoding="utf-8")
        written += [csv_path, md_path]
    summary_path = out_dir / f"{report.study}_summary.csv"
    report.summary.to_csv(summary_path)
    written.append(summary_path)
    return written
