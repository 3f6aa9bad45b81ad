"""Copy memory in the form of Arjovsky, Shah & Bengio (2016), Sec. 5.1: recall ten symbols.

The field's canonical long-memory task since. Other copy tasks differ (Bai et al. 2018's TCN
paper feeds one scalar channel and marks the last 11 entries with 9s; expRNN's code has 9 output
classes and a marker then K-1 zeros): a variant gets a name of its own, not this one.
"""

from __future__ import annotations

import math

import numpy as np

from rnnbench.tasks.base import Task, register_task

NUM_SYMBOLS = 8  # the symbols to copy are drawn from a_1..a_8
RECALL = 10  # how many symbols are shown, then recalled
BLANK, DELIMITER = 0, NUM_SYMBOLS + 1  # input categories: 0 blank, 1..8 symbols, 9 delimiter
SOURCE = "Arjovsky, Shah & Bengio (2016), Sec. 5.1"


def memoryless_loss(length: int) -> float:
    """Cross-entropy per step of the best predictor that remembers nothing: 10 ln 8 / (T + 20).

    It outputs the blank with certainty for the first T + 10 steps (loss 0) and 1/8 for each
    symbol on the last ten (loss ln 8 each), averaged over the T + 20 steps.
    """
    return RECALL * math.log(NUM_SYMBOLS) / (length + 2 * RECALL)


@register_task("copy-memory")
class CopyMemory(Task):
    """Copy memory (Arjovsky, Shah & Bengio 2016, Sec. 5.1): ten symbols, T steps, recall them.

    Input (n, T + 20, 10), one-hot over 10 categories (0 blank, 1..8 the symbols, 9 the
    delimiter): ten symbols drawn uniformly from 1..8, then T - 1 blanks, the delimiter, and ten
    more blanks. Target (n, T + 20, 9), one-hot over 9 output classes (0 blank, 1..8): blank for
    the first T + 10 steps, then the ten symbols in order. Every step is scored (cross-entropy
    over all T + 20 steps, as the paper trains and reports it); accuracy is the share of the ten
    recalled symbols predicted right (argmax), and a sequence is `correct` when all ten are.
    Dependency length = T, the paper's: the delimiter comes T steps after the last symbol, and
    each symbol is recalled T + 10 steps after it was shown.

    Chance: the memoryless predictor (blank with certainty, then 1/8 each on the last ten steps)
    has loss 10 ln 8 / (T + 20) per step (`chance_loss`; 0.1733 at T = 100) and recall accuracy
    1/8 (`chance_accuracy`). Arjovsky et al.'s Fig. 1: the LSTM beats it at T = 100 and sits on
    it from T = 200.

    Worked example, T = 3 (23 steps), symbols 3 1 4 1 5 2 6 5 3 5:
        input   3 1 4 1 5 2 6 5 3 5  0 0  9  0 0 0 0 0 0 0 0 0 0
        target  0 0 0 0 0 0 0 0 0 0  0 0  0  3 1 4 1 5 2 6 5 3 5
    (the categories at each step: the one-hot channel that holds the 1).
    """

    kind = "classification"
    steps_scored = "every"
    input_dim = NUM_SYMBOLS + 2
    output_dim = NUM_SYMBOLS + 1
    min_length = 1
    in_default_study = False  # a long-memory benchmark with its own study: run when named
    description = (
        f"copy memory as Arjovsky et al. 2016 pose it (Sec. 5.1): recall {RECALL} symbols of "
        f"{NUM_SYMBOLS} after T steps; loss at every step, chance loss 10 ln 8/(T+20), recall "
        "accuracy 1/8"
    )

    def generate(self, n: int, length: int, rng: np.random.Generator):
        self.check_length(length)
        T = int(length)
        steps = T + 2 * RECALL
        symbols = rng.integers(1, NUM_SYMBOLS + 1, size=(n, RECALL))  # (n, 10) from 1..8
        x_cat = np.full((n, steps), BLANK, np.int64)  # (n, T+20) input categories
        x_cat[:, :RECALL] = symbols
        x_cat[:, RECALL + T - 1] = DELIMITER  # after T - 1 blanks
        y_cat = np.full((n, steps), BLANK, np.int64)  # (n, T+20) output classes
        y_cat[:, -RECALL:] = symbols
        eye_in = np.eye(self.input_dim, dtype=np.float32)
        eye_out = np.eye(self.output_dim, dtype=np.float32)
        return eye_in[x_cat], eye_out[y_cat]  # (n, T+20, 10), (n, T+20, 9)

    def recalled(self, y_true: np.ndarray, y_prob: np.ndarray) -> np.ndarray:
        """bool (n, 10): which of the ten recalled symbols the outputs' argmax gets right."""
        guess = np.argmax(np.asarray(y_prob)[:, -RECALL:], axis=2)  # (n, 10)
        return np.equal(guess, np.argmax(np.asarray(y_true)[:, -RECALL:], axis=2))

    def correct(
        self, y_true: np.ndarray, y_prob: np.ndarray, mask: np.ndarray | None = None
    ) -> np.ndarray:
        """bool (n,): all ten symbols recalled right (the blanks before are not judged)."""
        return np.all(self.recalled(y_true, y_prob), axis=1)

    def accuracy(
        self, y_true: np.ndarray, y_prob: np.ndarray, mask: np.ndarray | None = None
    ) -> float:
        """The share of recalled symbols right, over the ten recall steps of every sequence."""
        return float(np.mean(self.recalled(y_true, y_prob)))

    def chance_accuracy(self, length: int) -> float:
        return 1.0 / NUM_SYMBOLS  # a memoryless guess of each recalled symbol

    def chance_loss(self, length: int) -> float:
        return memoryless_loss(length)
