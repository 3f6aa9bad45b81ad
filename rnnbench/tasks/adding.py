"""The adding problem as Arjovsky et al. (2016) pose it; not Hochreiter & Schmidhuber's 1997 task.

The 1997 task (Exp. 4) is `adding-1997` (rnnbench.tasks.hochreiter1997.marked_pairs): values
U[-1, 1], -1 markers on the first and last step, random length T..T+T/10, target
0.5 + (X1 + X2)/4 and the paper's stopping rule.
"""

from __future__ import annotations

import numpy as np

from rnnbench.tasks.base import Task, register_task


@register_task("adding")
class AddingProblem(Task):
    """Sum the two marked values of a sequence of U[0,1) numbers (Arjovsky et al. 2016's form).

    A variant of the adding problem of Hochreiter & Schmidhuber (1997), not that task: see
    `adding-1997` for it. Here the values are U[0,1), the target is the raw sum in [0, 2], one
    mark falls in each half (the second may be the last step), the length is fixed, and a
    sequence counts as right when |error| < 0.04 on that raw sum (4x stricter than the paper's
    0.04 on the sum scaled to [0, 1]).

    Input (n, length, 2): channel 0 holds values drawn from U[0,1); channel 1 marks exactly two
    steps with 1, one uniformly in the first half [0, length//2) and one in the second half.
    Target: the sum of the two marked values. Dependency length = sequence length.

    Worked example, length 4, marks at steps 1 and 2:
        values  0.50 0.25 0.75 0.10
        marks   0    1    1    0
        target  0.25 + 0.75 = 1.00
    """

    kind = "regression"
    input_dim = 2
    output_dim = 1
    min_length = 2  # one mark in each half
    description = (
        "sum the two marked values of a U[0,1) sequence (Arjovsky et al. 2016's form; not the "
        "1997 task, see adding-1997); |err|<0.04 on the raw sum"
    )

    def generate(self, n: int, length: int, rng: np.random.Generator):
        self.check_length(length)
        values = rng.random((n, length), dtype=np.float32)  # (n, T)
        half = length // 2
        first = rng.integers(0, half, size=n)  # (n,) one mark in [0, T/2)
        second = rng.integers(half, length, size=n)  # (n,) one mark in [T/2, T)
        rows = np.arange(n)
        x = np.zeros((n, length, 2), dtype=np.float32)
        x[:, :, 0] = values
        x[rows, first, 1] = 1.0
        x[rows, second, 1] = 1.0
        y = (values[rows, first] + values[rows, second]).astype(np.float32)  # (n,)
        return x, y

    def chance_accuracy(self, length: int) -> float:
        # The target is the sum of two U[0,1) draws: triangular on [0, 2] with peak density 1 at 1.
        # The best constant guess is 1, right when |S - 1| < d: probability 1 - (1 - d)^2.
        d = self.tolerance
        return 1.0 - (1.0 - d) ** 2
