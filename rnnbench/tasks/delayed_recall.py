"""Delayed recall: remember the first symbol across `lag` distractors (not a 1997 experiment)."""

from __future__ import annotations

import numpy as np

from rnnbench.tasks.base import Task, register_task

NUM_SYMBOLS = 8


@register_task("delayed-recall")
class DelayedRecall(Task):
    """Recall the symbol shown at step 0 after `lag` distractor symbols.

    A recall task of rnnbench's own, harder than Hochreiter & Schmidhuber's (1997) Exp. 2
    (`two-sequence-1997`, `noise-1997`, `long-lag-1997`) and not that experiment: 8 symbols,
    every one of which can be the one to recall, distractors drawn from the same 8 symbols, a
    separate recall cue, softmax read-out judged by argmax.

    Input (n, lag + 2, K + 1) with K = 8 symbols: step 0 shows a symbol one-hot in channels 0..K-1,
    steps 1..lag show distractors from the same alphabet, and the final step shows nothing but the
    recall cue in channel K. Target: the class of the first symbol. Dependency length = lag.

    Worked example, K = 8, lag 2, symbols 3, 5, 3 (channel index of the 1 at each step):
        step 0: channel 3   (the symbol to remember)
        step 1: channel 5   (distractor)
        step 2: channel 3   (distractor)
        step 3: channel 8   (recall cue)
        target: 3
    """

    kind = "classification"
    input_dim = NUM_SYMBOLS + 1
    output_dim = NUM_SYMBOLS
    min_length = 1
    description = (
        f"recall the first of {NUM_SYMBOLS} symbols after `lag` distractors from the same "
        "alphabet (rnnbench's own, not the 1997 Exp. 2); chance 1/8"
    )

    def generate(self, n: int, length: int, rng: np.random.Generator):
        self.check_length(length)
        lag = int(length)
        symbols = rng.integers(0, NUM_SYMBOLS, size=(n, lag + 1))  # (n, lag+1): target, distractors
        x = np.zeros((n, lag + 2, NUM_SYMBOLS + 1), dtype=np.float32)
        rows = np.arange(n)[:, None]
        steps = np.arange(lag + 1)[None, :]
        x[rows, steps, symbols] = 1.0
        x[:, -1, NUM_SYMBOLS] = 1.0  # the recall cue
        y = symbols[:, 0].astype(np.int64)  # (n,)
        return x, y
