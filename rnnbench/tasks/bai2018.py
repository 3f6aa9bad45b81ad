"""The adding problem and copy memory as Bai, Kolter & Koltun (2018) pose them (the TCN paper).

Their Table 1 compares the GRU, LSTM, tanh RNN and TCN on these forms, which differ from the ones
rnnbench's `adding` and `copy-memory` take from Arjovsky et al. (2016): the two marks of the
adding problem fall anywhere (two distinct steps drawn uniformly), and copy memory feeds the
sequence as one scalar channel (the symbols as the numbers 1..8, blanks 0, and the last 11
entries all 9: the marker and the ten recall steps) with 10 output classes. Each is checked
against this written definition in tests/test_bai2018.py. The definitions follow the paper's
Sec. 4 and its official code (locuslab/TCN, adding_problem/ and copy_memory/ `data_generator`).
"""

from __future__ import annotations

import numpy as np

from rnnbench.tasks.adding import AddingProblem
from rnnbench.tasks.base import register_task
from rnnbench.tasks.copy_memory import NUM_SYMBOLS, RECALL, CopyMemory

SOURCE = "Bai, Kolter & Koltun (2018)"
MARKER = NUM_SYMBOLS + 1  # 9: the value of the last RECALL + 1 inputs, and an (unused) class


@register_task("adding-bai2018")
class AddingBai2018(AddingProblem):
    """The adding problem with its two marks anywhere (Bai, Kolter & Koltun 2018, Sec. 4).

    Input (n, T, 2): channel 0 holds values drawn from U[0,1); channel 1 marks two distinct steps
    with 1, drawn uniformly from all T steps (no half each, unlike `adding`). Target: the sum of
    the two marked values. Scored as `adding` (|error| < 0.04 on the raw sum; the paper reports
    the test MSE, which the memoryless guess 1 holds at 1/6). Dependency length = T.

    Worked example, T = 4, the first mark drawn at step 3 and the second 1 step on from it
    (wrapping round: steps 1..T-1 on, so never the same step), at step 0:
        values  0.50 0.25 0.75 0.10
        marks   1    0    0    1
        target  0.50 + 0.10 = 0.60
    """

    in_default_study = False  # a paper's form with its own study: run when named
    description = (
        f"sum the two marked values of a U[0,1) sequence, marks anywhere ({SOURCE}'s form; "
        "adding has one mark per half); |err|<0.04 on the raw sum"
    )

    def generate(self, n: int, length: int, rng: np.random.Generator):
        self.check_length(length)
        values = rng.random((n, length), dtype=np.float32)  # (n, T)
        # two distinct steps per sequence, uniform over the T(T-1) ordered pairs
        first = rng.integers(0, length, size=n)  # (n,)
        second = (first + rng.integers(1, length, size=n)) % length  # (n,) any other step
        rows = np.arange(n)
        x = np.zeros((n, length, 2), dtype=np.float32)
        x[:, :, 0] = values
        x[rows, first, 1] = 1.0
        x[rows, second, 1] = 1.0
        y = (values[rows, first] + values[rows, second]).astype(np.float32)  # (n,)
        return x, y


@register_task("copy-memory-bai2018")
class CopyMemoryBai2018(CopyMemory):
    """Copy memory in Bai, Kolter & Koltun (2018)'s form: one scalar input, the last 11 entries 9.

    Input (n, T + 20, 1), the symbols as numbers: ten symbols drawn uniformly from 1..8, then
    T - 1 zeros, then eleven 9s (the marker, and the ten steps of recall). Target (n, T + 20, 10),
    one-hot over 10 classes (0..9; 9 is never a target, as in their 10-way output): 0 for the
    first T + 10 steps, then the ten symbols. Every step is scored by cross-entropy; the
    memoryless level is 10 ln 8 / (T + 20) as in `copy-memory` (0.0204 at T = 1000, the paper's
    LSTM figure), and accuracy is over the ten recalled symbols (chance 1/8).

    Worked example, T = 3 (23 steps), symbols 3 1 4 1 5 2 6 5 3 5:
        input   3 1 4 1 5 2 6 5 3 5  0 0  9  9 9 9 9 9 9 9 9 9 9
        target  0 0 0 0 0 0 0 0 0 0  0 0  0  3 1 4 1 5 2 6 5 3 5
    """

    input_dim = 1
    output_dim = NUM_SYMBOLS + 2  # classes 0..9
    description = (
        f"recall {RECALL} symbols of {NUM_SYMBOLS} after T steps ({SOURCE}'s copy: one scalar "
        "input, the last 11 entries 9, 10 classes); loss at every step, chance 10 ln 8/(T+20)"
    )

    def generate(self, n: int, length: int, rng: np.random.Generator):
        self.check_length(length)
        T = int(length)
        steps = T + 2 * RECALL
        symbols = rng.integers(1, NUM_SYMBOLS + 1, size=(n, RECALL))  # (n, 10) from 1..8
        x = np.zeros((n, steps, 1), np.float32)  # (n, T+20, 1)
        x[:, :RECALL, 0] = symbols
        x[:, RECALL + T - 1 :, 0] = MARKER  # the last RECALL + 1 entries
        y_cat = np.zeros((n, steps), np.int64)  # (n, T+20) classes
        y_cat[:, -RECALL:] = symbols
        return x, np.eye(self.output_dim, dtype=np.float32)[y_cat]  # (n, T+20, 10)
