"""Statistics of sequences-to-solve that count the runs that did not solve.

A run that did not solve is right-censored: it would have solved later, or never; its count is
not missing. The caller says where each run is censored (rnnbench.verdict: at the run's budget,
since a run that stopped early unsolved, diverged or failed a paper's test, ended in failure).
So the statistics here take every seed:

- `kaplan_meier`: the fraction solved by each sequence count (1 - the Kaplan-Meier survival
  function), its median and a 95% confidence interval for the median, from SciPy
  (`scipy.stats.ecdf` on `scipy.stats.CensoredData`; pointwise log-log intervals of the
  survival function, Greenwood's variance; the median's bounds are where the lower and upper
  curves cross one half, as R's survfit reads them);
- `wilson`: the solved fraction k/n with its Wilson score interval (`scipy.stats.binomtest`);
- `expected_running_time`: every sequence spent by every seed over the number solved, as the
  COCO benchmark reports (Hansen et al. 2016, "COCO: performance assessment");
- `faster`: whether one model solves faster than another, by the log-rank test
  (`scipy.stats.logrank`), and only when each side has enough seeds to say so.

SciPy is imported inside the functions: it is a heavy import, and `rnnbench list` stays fast.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

CONFIDENCE = 0.95
ALPHA = 0.05  # the log-rank test's level
MIN_SEEDS = 5  # seeds a side below which no "faster" is claimed


@dataclass(frozen=True)
class Survival:
    """The Kaplan-Meier estimate of one group of runs.

    Attributes:
        counts: (m,) the distinct sequence counts at which a run solved or was censored, sorted.
        solved: (m,) the estimated fraction solved by each count, 1 - S(t).
        median: the first count at which the fraction solved reaches one half; inf if never.
        low, high: the median's 95% bounds; `high` is inf when the upper curve never reaches
            one half within the counts observed.
        n, k: runs, and runs that solved.
        last: the largest count observed (the budget, when every unsolved run used it all).
    """

    counts: tuple[float, ...]
    solved: tuple[float, ...]
    median: float
    low: float
    high: float
    n: int
    k: int
    last: float


def _censored(solved_at: list[float], censored_at: list[float]) -> Any:
    from scipy import stats

    return stats.CensoredData(uncensored=list(solved_at), right=list(censored_at))


def _first_at_or_below(counts: Any, curve: Any, level: float = 0.5) -> float:
    for t, s in zip(counts, curve, strict=True):
        if s <= level + 1e-12:
            return float(t)
    return math.inf


def kaplan_meier(solved_at: list[float], censored_at: list[float]) -> Survival:
    """The fraction solved against sequences, its median and the median's 95% interval.

    Args:
        solved_at: the sequence count at which each solved run solved.
        censored_at: the sequences each unsolved run spent before it stopped.
    """
    import numpy as np
    from scipy import stats

    n, k = len(solved_at) + len(censored_at), len(solved_at)
    last = max([*solved_at, *censored_at], default=math.nan)
    if n == 0:
        return Survival((), (), math.inf, math.inf, math.inf, 0, 0, math.nan)
    if k == 0:  # nothing to estimate: the curve stays at 0 up to the budget
        return Survival((float(last),), (0.0,), math.inf, math.inf, math.inf, n, 0, float(last))
    sf = stats.ecdf(_censored(solved_at, censored_at)).sf
    counts, survival = sf.quantiles, sf.probabilities
    with warnings.catch_warnings():  # log-log is undefined where S is 0 or 1: handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        band = sf.confidence_interval(CONFIDENCE, method="log-log")
    # where S is 0 (every run still at risk solved) or 1 the band is S itself
    low = np.where(np.isnan(band.low.probabilities), survival, band.low.probabilities)
    high = np.where(np.isnan(band.high.probabilities), survival, band.high.probabilities)
    return Survival(
        counts=tuple(float(t) for t in counts),
        solved=tuple(float(1 - s) for s in survival),
        median=_first_at_or_below(counts, survival),
        low=_first_at_or_below(counts, low),
        high=_first_at_or_below(counts, high),
        n=n, k=k, last=float(last),
    )


def wilson(k: int, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a solved fraction k/n; (nan, nan) when n is 0."""
    from scipy import stats

    if n == 0:
        return math.nan, math.nan
    ci = stats.binomtest(int(k), int(n)).proportion_ci(CONFIDENCE, method="wilson")
    return float(ci.low), float(ci.high)


def expected_running_time(spent: list[float], k: int) -> float:
    """Sequences spent by all seeds (solved or not) over the number solved; inf if none solved."""
    return sum(spent) / k if k else math.inf


@dataclass(frozen=True)
class Comparison:
    """Whether run group A solves faster than B; `verdict` is "faster", "slower" or "same"."""

    verdict: str
    pvalue: float
    n_a: int
    n_b: int


def faster(a: tuple[list[float], list[float]], b: tuple[list[float], list[float]]) -> Comparison:
    """The log-rank test of A against B, each (solved_at, censored_at).

    "faster" or "slower" only when the two-sided p-value is below ALPHA and each side has at
    least MIN_SEEDS runs; otherwise "same": indistinguishable at this many seeds. The direction
    is the one whose Kaplan-Meier curve is ahead by the median (or, both medians beyond the
    counts, by the solved fraction).
    """
    from scipy import stats

    n_a, n_b = len(a[0]) + len(a[1]), len(b[0]) + len(b[1])
    if not a[0] and not b[0]:
        return Comparison("same", 1.0, n_a, n_b)
    pvalue = float(stats.logrank(x=_censored(*a), y=_censored(*b)).pvalue)
    if n_a < MIN_SEEDS or n_b < MIN_SEEDS or not pvalue < ALPHA:
        return Comparison("same", pvalue, n_a, n_b)
    km_a, km_b = kaplan_meier(*a), kaplan_meier(*b)
    ahead = (km_a.median, -km_a.k / n_a) < (km_b.median, -km_b.k / n_b)
    return Comparison("faster" if ahead else "slower", pvalue, n_a, n_b)
