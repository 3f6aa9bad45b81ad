"""A paper's stopping rule as data and how it is applied.

Two kinds of rule: `OnlineRule`, judged on training sequences (the tracker `RuleTracker` applies
it), and `PeriodicTestRule`, judged on a fixed test set every so many training sequences (Exp. 3's
ST1 and ST2, `PeriodicTestRule.met`).

Hochreiter & Schmidhuber (1997) train online, one sequence per update, and stop when the most
recent training sequences were processed correctly, judged on each sequence's output before the
update that uses it (their ST3, Table 11: "average training error below beta and the 2000 most
recent sequences were processed correctly"). The harness feeds the tracker every training
sequence's error and verdict, in training order, and asks it where the rule was first met.

Pure NumPy; nothing here imports from the rest of rnnbench.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ERROR_MEASURES = ("absolute", "squared")
REPORTED_FROM = ("end", "start")


@dataclass(frozen=True)
class OnlineRule:
    """A paper's stopping rule, judged on training outputs before the update that uses them.

    Attributes:
        name: Which rule, citing the paper, e.g. "ST3(0.01) (Hochreiter & Schmidhuber 1997,
            Sec. 5.4)".
        window: The most recent training sequences judged, e.g. 2000.
        max_wrong: Solved only if at most this many of them are wrong (0 for ST3).
        mean_error_below: And the mean of `error_measure` over the same window is below this
            (ST3(0.01): 0.01), or None for no condition on the mean.
        error_measure: "absolute" or "squared": which per-sequence error that mean is of.
        error_level: The level recorded beside the rule: the first sequence count at which the
            running mean ABSOLUTE training error over `window` falls below it, or None.
        test_size: Fresh test sequences judged after stopping (2,560 for Exp. 4-6, 10,000 for
            Exp. 2).
        test_max_wrong: The paper's success criterion on that test set (at most this many
            wrong), if it has one.
        tag: The `ReferenceRow.rule` of the paper's figure this rule stands beside, when the
            paper reports several rules at one length (Exp. 5: "n_seq=13"); "" otherwise.
        reported_from: Which count the paper's "sequences until success" figure is: "end" (the
            count at which the rule is met, the default) or "start" (the count before the
            window of successive correct sequences began; Exp. 2 reports figures smaller than
            its 10,000-sequence window). `reported_count` converts.
    """

    name: str
    window: int
    max_wrong: int
    mean_error_below: float | None
    error_measure: str
    error_level: float | None
    test_size: int
    test_max_wrong: int | None
    reported_from: str = "end"
    tag: str = ""  # which of a paper's rows at one length this rule's figure is (ReferenceRow.rule)

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"rule {self.name!r}: window {self.window} must be >= 1")
        if not 0 <= self.max_wrong <= self.window:
            raise ValueError(
                f"rule {self.name!r}: max_wrong {self.max_wrong}; allowed: 0..{self.window}"
            )
        if self.error_measure not in ERROR_MEASURES:
            raise ValueError(
                f"rule {self.name!r}: error_measure {self.error_measure!r}; "
                f"allowed: {', '.join(ERROR_MEASURES)}"
            )
        if self.reported_from not in REPORTED_FROM:
            raise ValueError(
                f"rule {self.name!r}: reported_from {self.reported_from!r}; "
                f"allowed: {', '.join(REPORTED_FROM)}"
            )

    def reported_count(self, solved_at: int) -> int:
        """The figure to put beside the paper's "sequences until success" for a run.

        Args:
            solved_at: `RuleTracker.solved_at` of the run.

        Returns:
            `solved_at`, or `solved_at - window` when the paper counts to the window's start.
        """
        return solved_at - self.window if self.reported_from == "start" else solved_at


class RuleTracker:
    """Applies an `OnlineRule` to per-sequence training results fed in training order.

    Keeps ring buffers of the running sums of the last `window + 1` sequences, so `feed` costs
    O(k) for k sequences however many came before. Error sums are float64 running totals: a
    window's mean carries a rounding error of about 1e-16 times the run's total error, which
    decides only exact ties with the threshold.

    Attributes:
        rule: The rule applied.
        sequences: Sequences fed so far.
        solved_at: 1-based sequence count at which the rule was first met, or None.
        error_level_at: 1-based count at which the running mean absolute error over the window
            first fell below `rule.error_level`, or None (also None when the rule has no level).
        longest_correct_run: The longest run of successive sequences judged correct so far: how
            near a rule of successive correct sequences came (Exp. 2c: 10,000), recorded so an
            unsolved run says whether it was slow or never close.
    """

    def __init__(self, rule: OnlineRule) -> None:
        self.rule = rule
        self.sequences = 0
        self.solved_at: int | None = None
        self.error_level_at: int | None = None
        self.longest_correct_run = 0
        self._correct_run = 0  # correct sequences since the last wrong one
        size = rule.window + 1  # running sums at counts s - window .. s
        self._wrong = np.zeros(size, np.int64)  # slot c % size: wrong sequences among the first c
        self._abs = np.zeros(size, np.float64)  # sum of |error| over the first c
        self._sq = np.zeros(size, np.float64)  # sum of error^2 over the first c

    def _at(self, buffer: np.ndarray, counts: np.ndarray) -> np.ndarray:
        return buffer[counts % (self.rule.window + 1)]

    def feed(self, errors: np.ndarray, correct: np.ndarray) -> None:
        """Add the next training sequences' results.

        Args:
            errors: (k,) each sequence's absolute error (`Task.errors`), in training order.
            correct: (k,) bool, each sequence's verdict (`Task.correct`).
        """
        errors = np.abs(np.asarray(errors, dtype=np.float64).reshape(-1))
        correct = np.asarray(correct, dtype=bool).reshape(-1)
        if errors.shape != correct.shape:
            raise ValueError(
                f"errors {errors.shape} and correct {correct.shape} must have the same length"
            )
        k = len(errors)
        if k == 0:
            return
        w, s = self.rule.window, self.sequences
        counts = np.arange(s + 1, s + k + 1)  # (k,) the 1-based count after each new sequence
        wrong_cum = self._at(self._wrong, np.array(s)) + np.cumsum(~correct)  # (k,)
        abs_cum = self._at(self._abs, np.array(s)) + np.cumsum(errors)
        sq_cum = self._at(self._sq, np.array(s)) + np.cumsum(errors * errors)

        full = counts >= w  # the window must be full before the rule can fire
        if full.any():
            ends = counts[full]
            starts = ends - w  # running sums at the count before each window
            old = starts <= s  # that count is in the ring buffer, else among the new ones
            new_index = np.where(old, 0, starts - s - 1)

            def window_sum(buffer: np.ndarray, cum: np.ndarray) -> np.ndarray:
                before = np.where(old, self._at(buffer, np.where(old, starts, 0)), cum[new_index])
                return cum[full] - before

            wrong_in = window_sum(self._wrong, wrong_cum)
            abs_mean = window_sum(self._abs, abs_cum) / w
            ok = wrong_in <= self.rule.max_wrong
            if self.rule.mean_error_below is not None:
                measure = (
                    abs_mean
                    if self.rule.error_measure == "absolute"
                    else (window_sum(self._sq, sq_cum) / w)
                )
                ok &= measure < self.rule.mean_error_below
            if self.solved_at is None and ok.any():
                self.solved_at = int(ends[np.argmax(ok)])
            level = self.rule.error_level
            if self.error_level_at is None and level is not None:
                below = abs_mean < level
                if below.any():
                    self.error_level_at = int(ends[np.argmax(below)])

        self._count_runs(correct)
        keep = slice(max(0, k - (w + 1)), k)  # only the last window + 1 running sums are needed
        slots = counts[keep] % (w + 1)
        self._wrong[slots] = wrong_cum[keep]
        self._abs[slots] = abs_cum[keep]
        self._sq[slots] = sq_cum[keep]
        self.sequences = s + k

    def _count_runs(self, correct: np.ndarray) -> None:
        """Extend the longest run of correct sequences with `correct` (k,), in training order."""
        wrong = np.flatnonzero(~correct)  # (m,) positions of the wrong sequences
        if wrong.size == 0:
            self._correct_run += len(correct)
            self.longest_correct_run = max(self.longest_correct_run, self._correct_run)
            return
        between = np.diff(wrong) - 1  # (m - 1,) correct runs between successive wrong ones
        self.longest_correct_run = max(
            self.longest_correct_run,
            self._correct_run + int(wrong[0]),  # the run carried in, up to the first wrong one
            int(between.max()) if between.size else 0,
        )
        self._correct_run = len(correct) - int(wrong[-1]) - 1  # the run still going
        self.longest_correct_run = max(self.longest_correct_run, self._correct_run)

    def earliest_solve(self) -> int:
        """A lower bound on the sequence count at which the rule can first be met.

        Whatever the sequences not yet fed turn out to be (all correct, error 0), the rule cannot
        be met before this count; `solved_at` once it has been met. The harness sizes its next
        chunk with it, so it never trains past the solve point.

        Returns:
            The smallest count c > `sequences` (and >= window) whose window could hold at most
            `max_wrong` wrong sequences and a small enough mean error, given what was fed.
        """
        if self.solved_at is not None:
            return self.solved_at
        w, s = self.rule.window, self.sequences
        # A window ending at c > s starts after count r = c - w; r ranges over
        # max(0, s + 1 - w) .. s, and the fed part of that window is (r, s]. Both conditions get
        # easier as r grows, so the first r that meets them gives the earliest c.
        r = np.arange(max(0, s + 1 - w), s + 1)  # (<= w,)
        ok = self._at(self._wrong, np.array(s)) - self._at(self._wrong, r) <= self.rule.max_wrong
        if self.rule.mean_error_below is not None:
            buffer = self._abs if self.rule.error_measure == "absolute" else self._sq
            ok &= self._at(buffer, np.array(s)) - self._at(buffer, r) < (
                self.rule.mean_error_below * w
            )
        first = int(r[np.argmax(ok)]) if ok.any() else s
        return max(w, first + w)


@dataclass(frozen=True)
class PeriodicTestRule:
    """A paper's stopping rule judged on a fixed test set, not on training outputs.

    Hochreiter & Schmidhuber (1997, Sec. 5.3) stop Exp. 3 when "none of 256 sequences from a
    randomly chosen test set is misclassified" (ST1), and when, besides, the "mean absolute test
    set error is below 0.01" (ST2). The harness draws that test set once per cell, trains
    `check_every` sequences at a time, and after each such chunk asks `met` of the test outputs.

    Attributes:
        name: Which rule, citing the paper.
        test_size: The fixed stopping test set's size (256).
        check_every: Training sequences between two checks. The paper does not say how often it
            tested; every figure of its Tables 4-6 (means of 10 trials) is a multiple of 10, as
            means of counts that are multiples of 100 are, so rnnbench checks every 100.
        max_wrong: Met only if at most this many test sequences are wrong (0 for ST1 of 3a).
        mean_error_below: And the mean absolute test error is below this, or None.
        final_test_size: The fresh test set judged after stopping (2,560), or None: none (the
            embedded Reber grammar's success is judged on its fixed sets alone; the last
            check's count of wrong strings stands as the test result).
        milestone: A weaker rule met on the way (ST1 beside ST2), whose first count the harness
            records too (`sequences_to_milestone`), or None.
        tag: The `ReferenceRow.rule` of the paper's figure this rule stands beside ("ST2").
        test_max_wrong: The paper's bound on `final_test_size` errors, if it has one (Exp. 3
            reports only the fraction wrong: None).
        reported_from: Always "end": the count at which the rule is met.
    """

    name: str
    test_size: int
    check_every: int
    max_wrong: int
    mean_error_below: float | None
    final_test_size: int | None
    milestone: PeriodicTestRule | None = None
    tag: str = ""
    test_max_wrong: int | None = None
    reported_from: str = "end"

    def __post_init__(self) -> None:
        if min(self.test_size, self.check_every, self.final_test_size or 1) < 1:
            raise ValueError(
                f"rule {self.name!r}: test_size {self.test_size}, check_every "
                f"{self.check_every}, final_test_size {self.final_test_size}; each must be >= 1"
            )
        if not 0 <= self.max_wrong <= self.test_size:
            raise ValueError(
                f"rule {self.name!r}: max_wrong {self.max_wrong}; allowed: 0..{self.test_size}"
            )
        if self.reported_from != "end":
            raise ValueError(
                f"rule {self.name!r}: reported_from {self.reported_from!r}; allowed: end"
            )

    def met(self, errors: np.ndarray, correct: np.ndarray) -> bool:
        """Whether the rule holds for one check's test outputs.

        Args:
            errors: (test_size,) each test sequence's absolute error (`Task.errors`).
            correct: (test_size,) bool, each test sequence's verdict (`Task.correct`).
        """
        errors = np.abs(np.asarray(errors, dtype=np.float64).reshape(-1))
        wrong = int(np.count_nonzero(~np.asarray(correct, dtype=bool).reshape(-1)))
        if wrong > self.max_wrong:
            return False
        return self.mean_error_below is None or float(np.mean(errors)) < self.mean_error_below

    def reported_count(self, solved_at: int) -> int:
        """The count itself: the paper's figures count to the check that met the rule."""
        return solved_at
