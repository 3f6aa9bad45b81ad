"""One verdict per row: did the run solve, and at how many sequences, under the rule that judged it.

Every view of a result (the sweep's closing tables, the report's tables, its figures, the
sentences of the HTML page, the critical length and the paper table) reads these columns, so no
two views can disagree on whether a seed solved (docs/report.md):

- `counted`: the row is a seed that ran, so it counts in n: every row. Failed seeds are counted,
  never dropped: a seed whose cell ended in `error`, `crashed`, `diverged` or `timeout` ran and did
  not solve (the column stays so that callers need not know this, and one place decides it);
- `met_rule`: training met the row's rule (status ok and `sequences_to_solve` recorded): the
  held-out threshold, or the task's own rule (e.g. the 1997 paper's ST3) judged on training
  outputs;
- `failed_test`: under a paper's rule, the rule was met but the paper's bound on test errors
  (`OnlineRule.test_max_wrong`) was broken afterwards: not a success as the paper counts one;
- `solved`: met the rule and, where there is one, kept the test bound;
- `solved_at`: sequences to solve, counted as the rule's paper counts them
  (`OnlineRule.reported_count`: Exp. 2 to the start of its success window); NaN if unsolved;
- `spent`: the sequences the run consumed, in the same count: where it solved, or where it
  stopped unsolved (what the expected running time adds up);
- `censored_at`: an unsolved run's right-censoring point for rnnbench.survival: its budget. A
  run that stopped early unsolved (diverged, or met the rule and broke the test bound) ended in
  failure; censoring it where it stopped would let the estimate assume it might still solve, so
  it counts as not solved within the budget, like a run that used it all. A row that records no
  budget (an error row of an old CSV) is censored at the largest budget of its (task, model,
  length), so it still enters the Kaplan-Meier estimate;
- `budget`: the row's `max_sequences` in the same count (its `spent` where the CSV has none);
- `paper_rule`: the row was judged by its task's own rule (not the held-out threshold); a row
  that recorded no rule (a crashed cell) by the rule its config asked for.
"""

from __future__ import annotations

import math
from typing import Any

from rnnbench.registry import tasks


def _floats(df: Any, column: str) -> list[float]:
    import pandas as pd

    if column not in df.columns:
        return [math.nan] * len(df)
    return [float(v) for v in pd.to_numeric(df[column], errors="coerce").astype("float64")]


def _rule_of(task_name: str, length: int, cache: dict[tuple[str, int], Any]) -> Any:
    key = (task_name, length)
    if key not in cache:
        rule = None
        if task_name in tasks:
            try:
                rule = tasks.get(task_name)().solve_rule(length)
            except Exception:  # a plugin task that cannot be built here: judged as recorded
                rule = None
        cache[key] = rule
    return cache[key]


def _fill_budgets(df: Any, solved: list[bool], censored_at: list[float],
                  limit: list[float]) -> list[float]:
    """An unsolved row with no censoring point (no budget, no count recorded: an error row)
    censored at the largest one of its (task, model, length); left NaN only if none has one."""
    model = df["model"] if "model" in df.columns else [""] * len(df)
    keys = list(zip(df["task"], model, df["length"], strict=True))
    largest: dict[Any, float] = {}
    for key, at, budget in zip(keys, censored_at, limit, strict=True):
        for v in (at, budget):
            if v == v:
                largest[key] = max(v, largest.get(key, v))
    return [largest.get(key, at) if not ok and at != at else at
            for key, ok, at in zip(keys, solved, censored_at, strict=True)]


def judge(df: Any) -> Any:
    """`df` with the verdict columns added (task, length, status, sequences_to_solve needed).

    `status` may be absent (every row ok); `solve_rule`, `test_wrong`, `sequences_seen` and
    `max_sequences` are used when present.
    """
    import pandas as pd

    def texts(column: str, missing: str) -> list[str]:
        """A text column as str, `missing` where empty (NaN, None, or a sweep's pandas.NA)."""
        if column not in df.columns:
            return [missing] * len(df)
        return [missing if pd.isna(v) or not str(v).strip() else str(v).strip()
                for v in df[column]]

    status = texts("status", "ok")
    at = _floats(df, "sequences_to_solve")
    seen = _floats(df, "sequences_seen")
    budget = _floats(df, "max_sequences")
    wrong = _floats(df, "test_wrong")
    names = texts("solve_rule", "")
    asked = texts("rule", "task")  # the config's rule (rnnbench.settings: task or held-out)
    cache: dict[tuple[str, int], Any] = {}
    counted, met, failed, solved, solved_at, spent, paper, limit = [], [], [], [], [], [], [], []
    for i, (task_name, length) in enumerate(zip(df["task"], df["length"], strict=True)):
        rule = _rule_of(str(task_name), int(length), cache)
        # a crashed row recorded no rule: judged by the one its config asked for (`rule`)
        by_paper = rule is not None and (names[i] == rule.name or (
            names[i] == "" and asked[i] == "task"))
        ok = status[i] == "ok" and at[i] == at[i]
        bound = rule.test_max_wrong if by_paper else None
        broke = ok and bound is not None and wrong[i] == wrong[i] and wrong[i] > bound
        used = seen[i] if seen[i] == seen[i] and seen[i] > 0 else budget[i]
        if ok:  # training stops once the rule is met, test or no test
            used = at[i]
        count = rule.reported_count if by_paper else (lambda v: v)
        counted.append(True)  # an error row is a seed run and not solved, never a hole
        met.append(ok)
        failed.append(broke)
        solved.append(ok and not broke)
        solved_at.append(float(count(int(at[i]))) if ok and not broke else math.nan)
        spent.append(float(max(0, count(int(used)))) if used == used else math.nan)
        paper.append(by_paper)
        limit.append(float(max(0, count(int(budget[i])))) if budget[i] == budget[i] else spent[-1])
    censored_at = [math.nan if ok else max(b, u) if b == b else u
                   for ok, b, u in zip(solved, limit, spent, strict=True)]
    censored_at = _fill_budgets(df, solved, censored_at, limit)
    return df.assign(counted=counted, met_rule=met, failed_test=failed, solved=solved,
                     solved_at=solved_at, spent=spent, budget=limit, censored_at=censored_at,
                     paper_rule=paper)
