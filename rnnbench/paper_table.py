"""Paper vs rnnbench: each published figure beside ours, measured the same way.

For every task that carries a paper's reference (`Task.reference`, e.g. the 1997 tasks) and every
length of it in the results, one row per (paper row, model): the paper's sequences-to-solve with
its statistic and success rate, and ours under the same rule (the task's `solve_rule`):

- solved k/n (rnnbench.verdict, the decision every table shares): seeds whose run met the rule
  within its budget and then kept the paper's bound on test errors
  (`OnlineRule.test_max_wrong`), with its 95% Wilson interval; every failed seed counts (an error
  or crashed row is a seed run and not solved);
- sequences to solve with every unsolved seed censored at its budget (rnnbench.survival): the
  Kaplan-Meier median with its 95% interval (">budget": not reached), the expected running
  time (every sequence spent over the seeds solved, COCO's ERT), and the median updates the
  same way (a mini-batch of 64 makes one update of 64 sequences; the
  paper's online net made one per sequence);
- the mean over the solved seeds beside them: the paper's own statistic (a mean over trials);
- the error level: when the running mean absolute training error over the rule's window first
  fell below the paper's level (e.g. 0.01 for adding), the median over all seeds (a seed that
  never reached it counted above the budget);
- mean / paper: our mean over the solved seeds over the paper's figure, a mean over its trials
  (below 1: fewer sequences than the paper), read beside solved k/n.
- longest correct run (unsolved): over the seeds that did not solve, the median and the largest
  of their longest runs of successive training sequences judged correct (`longest_correct_run`),
  so a rule of successive correct sequences left unmet (Exp. 2c: 10,000) reads as slow (runs of
  thousands) or never close (runs near zero).

Where a paper counts its figure to the start of the window of successive correct sequences (Exp.
2: 5,040 sequences before a 10,000-sequence success window), ours is converted the same way
(`OnlineRule.reported_count`). Where the paper reports a weaker rule met on the way beside the
stopping rule (Exp. 3's ST1 beside ST2, `PeriodicTestRule.milestone`), its row reads the count
recorded for it (`sequences_to_milestone`). A paper row at one learning rate (Exp. 1's Table 1)
stands beside the runs at that rate only.
"""

from __future__ import annotations

import math
from typing import Any

from rnnbench import survival
from rnnbench.registry import tasks
from rnnbench.settings import DEFAULT_OPTIMIZER

COLUMNS = ["experiment", "task", "length", "paper", "paper success", "model", "regime",
           "solved", "solved 95% CI", "median (KM)", "median 95% CI", "mean (solved)",
           "mean / paper", "expected running time", "median updates", "error level at",
           "longest correct run (unsolved)"]
TITLE = "Paper vs rnnbench"
CAPTION = (
    "training sequences to solve under the paper's own rule, criterion and test; solved k/n: "
    "seeds that met the rule, then kept the paper's bound on test errors, with its 95% Wilson "
    "interval; median (KM): the Kaplan-Meier median over all seeds, unsolved ones censored at "
    "their budget, with its 95% interval (>N: not reached within the N sequences run); mean over "
    "the solved seeds, the paper's statistic, and its ratio to the paper's figure (none by Nx: no "
    "seed solved within N times the paper's figure); expected running time: every sequence spent "
    "by every seed over the seeds solved (COCO's ERT); error level at: the median first sequence "
    "at which the running mean absolute training error over the rule's window fell below the "
    "paper's level; longest correct run (unsolved): over the seeds that did not solve, the median "
    "and the largest of their longest runs of successive training sequences judged correct (how "
    "near a rule of successive correct sequences came)"
)


def _number(value: float) -> str:
    return f"{value:,.0f}"


def median_over_all(values: list[float], budget: float) -> str:
    """The median over every seed, an unsolved seed (NaN) counted as above `budget`."""
    if not values:
        return ""
    ranked = sorted(math.inf if v != v else v for v in values)
    n = len(ranked)
    middle = ranked[(n - 1) // 2 : n // 2 + 1]
    if any(math.isinf(v) for v in middle):
        return f">{_number(budget)}"
    return _number(sum(middle) / len(middle))


def regime_text(row: Any) -> str:
    """How a model was trained, e.g. "sgd online, lr 0.5" or "adam, batch 64"."""
    optimizer = str(row.get("optimizer", "") or DEFAULT_OPTIMIZER)  # rows from before it
    try:
        batch = int(float(row.get("batch_size", "")))
    except (TypeError, ValueError):
        batch = 0
    try:
        lr = f"lr {float(row.get('learning_rate', '')):g}"
    except (TypeError, ValueError):
        lr = ""
    size = "online" if batch == 1 else f"batch {batch}" if batch else ""
    return ", ".join(p for p in (f"{optimizer} {size}".strip(), lr) if p)


def paper_table(df: Any) -> Any:
    """The paper-vs-rnnbench table of prepared rows (rnnbench.report.prepare's `df`).

    Args:
        df: one row per counted or uncounted cell, with task, label, length, seed, solved,
            counted, sequences_to_solve and (when the CSV has them) max_sequences, updates_to_solve,
            sequences_to_error_level, optimizer, batch_size, learning_rate.

    Returns:
        A DataFrame with COLUMNS (empty when no task in the rows carries a paper reference).
    """
    import pandas as pd

    records = []
    for task_name in sorted(df["task"].unique()) if len(df) else []:
        if task_name not in tasks:
            continue
        task = tasks.get(task_name)()
        reference = getattr(task, "reference", None)
        if reference is None:
            continue
        mine = df[df["task"] == task_name]
        for length in sorted(mine["length"].unique()):
            rule = task.solve_rule(int(length))
            # every seed run counts, error rows too (not solved), as in every other table
            at_length = mine[(mine["length"] == length) & mine["counted"]]
            if rule is not None:
                # only rows judged by the paper's rule stand beside the paper's figure (the
                # verdict's paper_rule: a crashed row by the rule its config asked for)
                at_length = at_length[at_length["paper_rule"].astype(bool)]
            tag = rule.tag if rule is not None else ""
            # a weaker rule met on the way (Exp. 3's ST1 beside ST2) has its own count column
            milestone = getattr(rule, "milestone", None)
            columns = {"": "sequences_to_solve", tag: "sequences_to_solve"}
            if milestone is not None:
                columns[milestone.tag] = "sequences_to_milestone"
            paper_rows = [r for r in reference.rows_at(int(length)) if r.rule in columns]
            for paper_row in paper_rows or (None,):
                column = columns[paper_row.rule] if paper_row is not None else columns[""]
                for label, runs in at_length.groupby("label", sort=True):
                    runs = _at_papers_rate(runs, paper_row)
                    if len(runs):
                        records.append(_record(reference, paper_row, task_name, int(length),
                                               label, runs, rule, column))
    if not records:
        return pd.DataFrame(columns=COLUMNS)
    records.sort(key=lambda r: (r["experiment"], r["length"], r["model"]))  # Exp. 2a first
    return pd.DataFrame.from_records(records, columns=COLUMNS)


def _at_papers_rate(runs: Any, paper_row: Any) -> Any:
    """The runs trained at the paper row's learning rate, where the row names one (Table 1 of
    the 1997 paper reports the embedded Reber grammar at three rates); else all of them."""
    rate = dict(paper_row.settings).get("learning_rate") if paper_row is not None else None
    if rate is None:
        return runs
    return runs[[v == v and abs(v - rate) < 1e-12 for v in _numbers(runs, "learning_rate")]]


def _numbers(runs: Any, column: str) -> list[float]:
    """A column as floats, NaN where empty (text from a CSV, or a sweep's nullable <NA>)."""
    import pandas as pd

    if column not in runs.columns:
        return [math.nan] * len(runs)
    return [float(v) for v in pd.to_numeric(runs[column], errors="coerce").astype("float64")]


def _batch(runs: Any) -> float:
    sizes = [v for v in _numbers(runs, "batch_size") if v == v and v >= 1]
    return max(sizes) if sizes else 1.0


def _record(reference: Any, paper_row: Any, task_name: str, length: int, label: str, runs: Any,
            rule: Any, column: str = "sequences_to_solve") -> dict[str, Any]:
    # solved, solved_at and spent are rnnbench.verdict's: the rule met and then the paper's test
    # bound kept, counted as the paper counts (e.g. to the start of Exp. 2's success window)
    spent = [float(v) for v in runs["spent"]]
    if column == "sequences_to_solve":
        solved_mask = [bool(v) for v in runs["solved"]]
        failed_test = int(sum(bool(v) for v in runs["failed_test"]))
        at = [float(v) for v in runs["solved_at"]]
        censored_at = [float(v) for v in runs["censored_at"]]
    else:  # a milestone met on the way (Exp. 3's ST1): met when its count is there; the test
        # bound belongs to the final rule, and a seed that missed it ran its whole budget
        at = _numbers(runs, column)
        if rule is not None:
            at = [rule.reported_count(int(v)) if v == v else v for v in at]
        solved_mask = [v == v for v in at]
        failed_test = 0
        censored_at = [math.nan if ok else s for ok, s in zip(solved_mask, spent, strict=True)]
    budget = max([v for v in [*spent, *censored_at] if v == v] or [math.nan])
    censored = [v for v, ok in zip(censored_at, solved_mask, strict=True) if not ok and v == v]
    solved = [v for v in at if v == v]
    km = survival.kaplan_meier(solved, censored)
    low, high = survival.wilson(len(solved), len(runs))
    batch = _batch(runs)
    updates = [v if ok else math.nan
               for v, ok in zip(_numbers(runs, "updates_to_solve"), solved_mask, strict=True)]
    if column != "sequences_to_solve" or (rule is not None and rule.reported_from == "start"):
        # updates up to the same point (a milestone's own updates are not recorded: online,
        # or in whole batches, they are its sequences over the batch size)
        updates = [math.ceil(s / batch) if s == s else s for s in at]
    km_updates = survival.kaplan_meier([v for v in updates if v == v],
                                       [math.ceil(v / batch) for v in censored])
    level = _numbers(runs, "sequences_to_error_level")
    runs_unsolved = sorted(v for v, ok in zip(_numbers(runs, "longest_correct_run"), solved_mask,
                                             strict=True) if not ok and v == v)
    paper = paper_row.sequences_to_solve if paper_row is not None else None
    ratio = ""  # the paper's figure is a mean over its trials: ours the same way, beside k/n
    if paper and solved:
        ratio = f"{sum(solved) / len(solved) / paper:.2g}"
    elif paper:
        ratio = f"none by {budget / paper:.2g}x"
    statistic = f" ({paper_row.statistic})" if paper_row is not None and paper_row.statistic else ""
    rate = paper_row.success_rate if paper_row is not None else None

    def count(v: float, limit: float = budget) -> str:
        return f">{_number(limit)}" if math.isinf(v) else _number(v)

    return {
        "experiment": reference.experiment + (f" [{paper_row.rule}]" if paper_row is not None
                                              and paper_row.rule else ""),
        "task": task_name,
        "length": length,
        "paper": (_number(paper) + statistic) if paper else "not reported",
        "paper success": "" if rate is None else f"{rate:.0%}",
        "model": label,
        "regime": regime_text(runs.iloc[0]),
        "solved": f"{len(solved)}/{len(runs)}" + (
            f" ({failed_test} more met the rule, failed the test)" if failed_test else ""),
        "solved 95% CI": "" if low != low else f"{low:.2f}-{high:.2f}",
        "median (KM)": count(km.median),
        "median 95% CI": f"{count(km.low)} to {count(km.high)}",
        "mean (solved)": _number(sum(solved) / len(solved)) if solved else "none",
        "mean / paper": ratio,
        "expected running time": count(survival.expected_running_time(
            [v for v in spent if v == v], len(solved))),
        "median updates": count(km_updates.median, budget / batch),
        "error level at": median_over_all(level, budget) if any(v == v for v in level) else "",
        "longest correct run (unsolved)": "" if not runs_unsolved else (
            f"{median_over_all(runs_unsolved, math.inf)} (max {_number(runs_unsolved[-1])})"),
    }


# ---------------------------------------------------------------------------------------------
# Published rows after 1997 (rnnbench.tasks.literature): a loss after a number of updates

LITERATURE_COLUMNS = ["source", "task, T", "model", "paper's setup", "paper", "paper reads",
                      "run here", "updates", "loss here", "held-out accuracy", "reads",
                      "agrees"]
LITERATURE_TITLE = "Published rows after 1997 vs rnnbench"
LITERATURE_CAPTION = (
    "each published loss (a printed table's, or read off a plot, with its reading tolerance) "
    "beside the loss here: the mean training loss over the last chunk of the cell's budget, "
    "each batch scored before the update that uses it (each seed's, in seed order). Both are "
    "read against the memoryless level of the task and length (1/6 MSE for adding, 10 ln 8/(T+20) "
    "for copy): near 0 (below a tenth of it), below it, or at or above it (0.9 of it or "
    "more); a cell that met the held-out criterion (95% of held-out sequences within 0.04 for "
    "adding, of recalled symbols right for copy) reads near 0 by it, since its last chunk's "
    "mean spans the updates before; agrees: the same reading; not within budget: a different "
    "reading after fewer updates than the paper's figure stands at (updates: run here / the "
    "paper's, and how many the loss here is the mean over)"
)


def loss_reading(loss: float, memoryless: float) -> str:
    """How a loss reads against the memoryless level: near 0, below it, or at it."""
    ratio = loss / memoryless
    if ratio < 0.1:
        return "near 0"
    if ratio >= 0.9:
        return "at or above memoryless"
    return "below memoryless"


def _setting_matches(runs: Any, key: str, value: Any) -> Any:
    import pandas as pd

    if key not in runs.columns:
        return pd.Series(False, index=runs.index)
    numbers = pd.to_numeric(runs[key], errors="coerce")
    return (numbers - float(value)).abs() <= 1e-9 * max(1.0, abs(float(value)))


def literature_table(df: Any) -> Any:
    """The published rows after 1997 beside the cells run with their setup (rnnbench.report's
    prepared rows `df`): one row per published figure whose task the results have.

    A row stands in the table when the results have its task at its length; its cells are those
    of its rnnbench model run with the settings the row names (`PublishedRow.run`), "not run"
    when none is; error rows are left out (the report's notes count them). Returns a DataFrame
    with LITERATURE_COLUMNS (empty when no published row's task and length are in df).
    """
    import pandas as pd

    from rnnbench.tasks.literature import PUBLISHED

    records = []
    present = set(zip(df["task"], df["length"], strict=True)) if len(df) else set()
    for row in PUBLISHED:
        if (row.task, row.length) not in present:
            continue
        runs = df[(df["task"] == row.task) & (df["length"] == row.length)
                  & (df["model"] == row.ours) & df["counted"]]
        for key, value in row.run:
            runs = runs[_setting_matches(runs, key, value)]
        records.append(_literature_record(row, runs))
    if not records:
        return pd.DataFrame(columns=LITERATURE_COLUMNS)
    return pd.DataFrame.from_records(records, columns=LITERATURE_COLUMNS)


def _median(values: list[float]) -> float:
    finite = sorted(v for v in values if v == v)
    if not finite:
        return math.nan
    n = len(finite)
    return (finite[(n - 1) // 2] + finite[n // 2]) / 2


def _literature_record(row: Any, runs: Any) -> dict[str, Any]:
    figure = row.figure
    paper_reads = loss_reading(figure.value, row.memoryless)
    record = {
        "source": row.source,
        "task, T": f"{row.task}, {row.length}",
        "model": f"{row.model} ({row.ours})",
        "paper's setup": f"{row.size}; {row.regime}",
        "paper": figure.text() + (f" after {figure.updates:,} updates" if figure.updates
                                  else ""),
        "paper reads": paper_reads,
    }
    if runs.empty:
        return {**record, "run here": "not run", "updates": "", "loss here": "",
                "held-out accuracy": "", "reads": "", "agrees": "not run"}
    first = runs.iloc[0]
    params = _median(_numbers(runs, "num_params"))
    fb = _numbers(runs, "forget_bias")[0]
    run_here = ", ".join(p for p in (
        f"{int(float(first['units']))} units",
        f"{params:,.0f} parameters" if params == params else "",
        regime_text(first),
        f"gate bias {fb:g}" if fb == fb else "",
        f"{len(runs)} seed" + ("s" if len(runs) > 1 else ""),
    ) if p)
    updates = _median(_numbers(runs, "updates_seen"))
    accuracy = _median(_numbers(runs, "accuracy"))
    solved = [v for v in _numbers(runs, "updates_to_solve") if v == v]
    # the last chunk's updates, which final_loss is the mean over
    batch = _median(_numbers(runs, "batch_size"))
    chunk = _median(_numbers(runs, "chunk_size"))
    last = min(updates, math.ceil(chunk / batch)) if chunk == chunk and batch == batch else None
    # each seed read on its own (a held-out criterion met reads near 0), in seed order
    runs = runs.sort_values("seed")
    losses = _numbers(runs, "final_loss")
    met = [v == v for v in _numbers(runs, "updates_to_solve")]
    readings = [("near 0 (held-out criterion met)" if ok else
                 loss_reading(v, row.memoryless) if v == v else "no loss")
                for v, ok in zip(losses, met, strict=True)]
    matching = sum(r.split(" (")[0] == paper_reads for r in readings)
    n = len(readings)
    counts = {r: readings.count(r) for r in dict.fromkeys(readings)}
    ours_reads = "; ".join(r if c == n else f"{r} in {c} of {n}" for r, c in counts.items())
    if matching == n:
        agrees = "yes"
    elif matching:
        agrees = f"in {matching} of {n} seeds"
    elif figure.updates and updates < figure.updates:
        agrees = "not within budget"
    else:
        agrees = "no"
    paper_updates = f"{figure.updates:,}" if figure.updates else "not stated"
    return {
        **record,
        "run here": run_here,
        "updates": f"{updates:,.0f} / {paper_updates}" + (
            f" (loss over the last {last:,.0f})" if last else ""),
        "loss here": ", ".join(f"{v:.3g}" for v in losses if v == v),
        "held-out accuracy": (f"{accuracy:.2f}" if accuracy == accuracy else "") + (
            f" (0.95 at {min(solved):,.0f} updates)" if solved else ""),
        "reads": ours_reads,
        "agrees": agrees,
    }
