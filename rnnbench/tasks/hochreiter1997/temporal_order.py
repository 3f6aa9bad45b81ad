"""Exp. 6 of Hochreiter & Schmidhuber (1997), Sec. 5.6, Table 9: temporal order.

Classify a sequence by the order of two (6a) or three (6b) widely separated symbols, each X or
Y, among random distractors.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from rnnbench.tasks.base import register_task
from rnnbench.tasks.hochreiter1997._common import (
    GATED_NET,
    SOURCE,
    TEST_SIZE,
    AllOutputsWithinTolerance,
    one_hot,
    st3,
)
from rnnbench.tasks.reference import PaperReference, ReferenceRow
from rnnbench.tasks.rules import OnlineRule

# Channels of the 8 input units: distractors a, b, c, d; the relevant X, Y; start E, trigger B.
A, B_SMALL, C, D, X, Y, E, B = range(8)
SYMBOLS = "abcdXYEB"
MIN_LENGTH, MAX_LENGTH = 100, 110  # "The sequence length is randomly chosen between 100 and 110"


def _net(blocks: int, input_gate_bias: tuple[float, ...], rate: float, weights: int) -> dict:
    return {
        **GATED_NET,
        "blocks": blocks,
        "cells_per_block": 2,
        "input_gate_bias": input_gate_bias,
        "bias": "all",
        "learning_rate": rate,
        "weight_init": 0.1,
        "weights": weights,
        "notes": (
            "Sec. 5.6 Architecture, Table 10 rows 6a/6b: 8 input units, cell blocks of size 2, "
            "one output unit per class; all non-input units have bias weights; the output layer "
            "receives connections from memory cells only; memory cells and gate units receive "
            "the inputs and all memory cells and gate units. All weights U[-0.1, 0.1] except "
            "the input gate biases. Gates and outputs logistic [0,1], h in [-1,1], g in [-2,2]."
        ),
    }


class _TemporalOrder(AllOutputsWithinTolerance):
    """E, then random a/b/c/d except X or Y at one position per window, then the trigger B."""

    WINDOWS: ClassVar[tuple[tuple[int, int], ...]] = ()  # 1-based positions, inclusive
    input_dim = 8
    min_length = MIN_LENGTH
    allowed_lengths = (MIN_LENGTH,)
    variable_length = True
    tolerance = 0.3  # Sec. 5.6: "final absolute error of all output units is below 0.3"

    def generate(
        self, n: int, length: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """x float32 (n, max L, 8) zero-padded; y int64 (n,), the class of the X/Y order."""
        self.check_length(length)
        lengths = rng.integers(MIN_LENGTH, MAX_LENGTH + 1, size=n)  # (n,) L in 100..110
        steps = int(lengths.max())
        symbols = rng.integers(A, D + 1, size=(n, steps))  # (n, L_max) distractors a..d
        t = np.arange(steps)[None, :]
        symbols[:, 0] = E
        symbols = np.where(t == (lengths - 1)[:, None], B, symbols)
        symbols = np.where(t >= lengths[:, None], -1, symbols)  # padding
        rows = np.arange(n)
        label = np.zeros(n, np.int64)
        for low, high in self.WINDOWS:  # a few windows, each vectorised over n
            position = rng.integers(low, high + 1, size=n)  # (n,) 1-based
            is_y = rng.integers(0, 2, size=n)  # (n,) 0 = X, 1 = Y
            symbols[rows, position - 1] = X + is_y
            label = 2 * label + is_y  # X, X -> 0 (Q), X, Y -> 1 (R), ...: Y is the 1 bit
        return one_hot(symbols, 8), label

    def chance_accuracy(self, length: int) -> float:
        """1/K: without memory the classes are equally likely; the best output commits to one."""
        return 1.0 / self.output_dim

    def solve_rule(self, length: int) -> OnlineRule:
        return st3(0.1, "Sec. 5.6", test_max_wrong=3)


@register_task("temporal-order-1997")
class TemporalOrder1997(_TemporalOrder):
    """Exp. 6a of Hochreiter & Schmidhuber (1997), two relevant symbols (Sec. 5.6, Table 9).

    8 symbols one-hot: a, b, c, d, X, Y, E, B (channels 0..7). A sequence starts with E, ends
    with the trigger B, and is otherwise random symbols of {a, b, c, d}, except at positions
    t1 (uniform in 10..20) and t2 (50..60), which are X or Y. Its length is uniform in
    100..110. Positions count from 1 (E is position 1); Table 10's minimal lag 40 = 100 - 60
    confirms the length and the positions use one base. Four classes by the order:
    X,X -> Q (0); X,Y -> R (1); Y,X -> S (2); Y,Y -> U (3), one output unit each. Correct when
    the final absolute error of all output units is below 0.3. `length` is the minimal sequence
    length and must be 100 (the windows are fixed). Batches are right-padded with zero steps.

    Stopping rule ST3(0.1) (Sec. 5.6 "Training/Testing", Table 11): average training error
    below 0.1 and the 2000 most recent sequences classified correctly; then 2560 fresh test
    sequences, never more than 3 wrong in the paper.

    Worked example, `generate(1, 100, np.random.default_rng(1))`: L = 105, "Eddaaddabdbb...";
    E at position 1, Y at position 16, X at position 53, B at position 105, a-d elsewhere;
    target class 2 (S: Y, X).
    """

    WINDOWS = ((10, 20), (50, 60))
    output_dim = 4
    description = (
        "Exp. 6a of Hochreiter & Schmidhuber 1997 (Sec. 5.6): classify the order of X/Y at "
        "[10,20],[50,60] in 100-110 steps, 4 classes, all outputs |err|<0.3"
    )
    reference = PaperReference(
        source=SOURCE,
        experiment="Exp. 6a (temporal order, two relevant symbols)",
        section="Sec. 5.6",
        table="Table 9",
        rows=(
            ReferenceRow(
                length=100,
                sequences_to_solve=31_390,
                statistic="mean of 20 trials",
                success_rate=1.0,
                notes="'never more than 3 incorrectly classified sequences' of 2560",
                trials=20,
                test_wrong=1,
                test_size=TEST_SIZE,
                weights=156,
            ),
        ),
        net=_net(2, (-2.0, -4.0), 0.5, 156),
    )


@register_task("temporal-order-3-1997")
class TemporalOrder3_1997(_TemporalOrder):  # noqa: N801 - the task's number, 3, then its year
    """Exp. 6b of Hochreiter & Schmidhuber (1997), three relevant symbols (Sec. 5.6, Table 9).

    As Exp. 6a (`temporal-order-1997`: E first, trigger B last, a/b/c/d between, length
    100..110, positions from 1), with three relevant X/Y symbols at t1 in 10..20, t2 in 33..43
    and t3 in 66..76. Eight classes: X,X,X -> Q (0); X,X,Y -> R (1); X,Y,X -> S (2);
    X,Y,Y -> U (3); Y,X,X -> V (4); Y,X,Y -> A (5); Y,Y,X -> B (6); Y,Y,Y -> C (7). Correct when
    all 8 outputs are within 0.3; ST3(0.1) as 6a. `length` must be 100.

    Worked example, `generate(1, 100, np.random.default_rng(1))`: L = 105; E at position 1,
    Y at position 16, X at position 36, X at position 71, B at position 105; target class 4
    (V: Y, X, X).
    """

    WINDOWS = ((10, 20), (33, 43), (66, 76))
    output_dim = 8
    description = (
        "Exp. 6b of Hochreiter & Schmidhuber 1997 (Sec. 5.6): classify the order of X/Y at "
        "[10,20],[33,43],[66,76] in 100-110 steps, 8 classes, all outputs |err|<0.3"
    )
    reference = PaperReference(
        source=SOURCE,
        experiment="Exp. 6b (temporal order, three relevant symbols)",
        section="Sec. 5.6",
        table="Table 9",
        rows=(
            ReferenceRow(
                length=100,
                sequences_to_solve=571_100,
                statistic="mean of 10 trials",
                success_rate=1.0,
                notes="'never more than 3 incorrectly classified sequences' of 2560",
                trials=10,
                test_wrong=2,
                test_size=TEST_SIZE,
                weights=308,
            ),
        ),
        net=_net(3, (-2.0, -4.0, -6.0), 0.1, 308),
    )
