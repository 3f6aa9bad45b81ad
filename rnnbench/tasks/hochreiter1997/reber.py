"""Exp. 1 of Hochreiter & Schmidhuber (1997), Sec. 5.1, Table 1: the embedded Reber grammar.

Next-symbol prediction at every step: the target of step t marks every symbol that may legally
follow the string read so far (several 1s where the grammar branches). A trial has a fixed set of
256 training strings and 256 disjoint test strings; it succeeds when, for every string of both
sets, at every step the outputs of the legal successors are the most active.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np

from rnnbench.tasks.base import Task, register_task
from rnnbench.tasks.hochreiter1997._common import SOURCE, one_hot
from rnnbench.tasks.reference import PaperReference, ReferenceRow
from rnnbench.tasks.rules import PeriodicTestRule

SYMBOLS = "BTPSXVE"  # one-hot channels 0..6
CODE = {s: i for i, s in enumerate(SYMBOLS)}
# The Reber grammar (the paper's Fig. 3; Fahlman 1991, Cleeremans et al. 1989) as an automaton:
# state -> ((symbol, next state), ...); each state's symbols differ, so a prefix fixes the state.
# 0 -B-> 1; 1 -T-> 2 | -P-> 3; 2 -S-> 2 | -X-> 4; 3 -T-> 3 | -V-> 5; 4 -X-> 3 | -S-> 6;
# 5 -P-> 4 | -V-> 6; 6 -E-> 7 (the end).
REBER: dict[int, tuple[tuple[str, int], ...]] = {
    0: (("B", 1),),
    1: (("T", 2), ("P", 3)),
    2: (("S", 2), ("X", 4)),
    3: (("T", 3), ("V", 5)),
    4: (("X", 3), ("S", 6)),
    5: (("P", 4), ("V", 6)),
    6: (("E", 7),),
}
REBER_END = 7
SET_SIZE = 256  # "Following Fahlman, we use 256 training strings and 256 separate test strings"
PAIRS = 3  # "We use 3 different, randomly generated pairs of training and test sets"
SETS_STREAM = 1997  # the seed of the streams the set pairs are drawn from (one per pair)
MIN_STRING = 9  # B, T|P, B T X S E (or B P V V E), T|P, E: "as few as 9 steps"
# The paper does not say how often it checked success. Table 1's range "between 3,800 and
# 24,100" is in hundreds, and its means of 30 trials are multiples of 10: checked every 100.
CHECK_EVERY = 100


def embedded_successors(prefix: str) -> str:
    """The symbols that may follow `prefix` in the embedded Reber grammar, in SYMBOLS order.

    The embedded grammar: B, then T or P, then a Reber string, then the same T or P, then E.
    "" for a complete string (nothing may follow).

    Raises:
        ValueError: `prefix` is not a prefix of any string of the grammar.
    """
    if prefix == "":
        return "B"
    if prefix == "B":
        return "TP"
    if prefix[0] != "B" or prefix[1] not in "TP":
        raise ValueError(f"{prefix!r} is not a prefix of an embedded Reber string")
    state, rest = 0, prefix[2:]
    for i, symbol in enumerate(rest):
        if state == REBER_END:  # after the inner string: the branch symbol, then E
            tail = rest[i:]
            if tail in (prefix[1], prefix[1] + "E"):
                return "E" if tail == prefix[1] else ""
            raise ValueError(f"{prefix!r} is not a prefix of an embedded Reber string")
        moves = dict(REBER[state])
        if symbol not in moves:
            raise ValueError(f"{prefix!r} is not a prefix of an embedded Reber string")
        state = moves[symbol]
    if state == REBER_END:
        return prefix[1]
    return "".join(sorted((s for s, _ in REBER[state]), key=SYMBOLS.index))


def draw_string(rng: np.random.Generator) -> str:
    """One embedded Reber string: follow the edges, each choice with probability 0.5."""
    branch = "TP"[int(rng.integers(0, 2))]
    inner, state = [], 0
    while state != REBER_END:
        options = REBER[state]
        symbol, state = options[int(rng.integers(0, len(options)))]
        inner.append(symbol)
    return "B" + branch + "".join(inner) + branch + "E"


def draw_sets(pair: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Set pair `pair`: 256 training strings, then 256 test strings none of which is a
    training string ("sequences already used in the training set are not used for testing").
    Strings repeat within a set as drawn. Drawn from their own stream, `[SETS_STREAM, pair]`."""
    rng = np.random.default_rng([SETS_STREAM, pair])
    train = tuple(draw_string(rng) for _ in range(SET_SIZE))
    seen, test = set(train), list[str]()
    while len(test) < SET_SIZE:
        string = draw_string(rng)
        if string not in seen:
            test.append(string)
    return train, tuple(test)


def encode(strings: tuple[str, ...] | list[str]) -> tuple[np.ndarray, np.ndarray]:
    """x float32 (n, max L - 1, 7): every symbol but the last, one-hot, zero-padded; y float32
    (n, max L - 1, 7): at step t the legal successors of the first t + 1 symbols (multi-hot);
    all-zero rows on padding."""
    n, steps = len(strings), max(len(s) for s in strings) - 1
    codes = np.full((n, steps), -1, np.int64)
    y = np.zeros((n, steps, len(SYMBOLS)), np.float32)
    for i, string in enumerate(strings):
        codes[i, : len(string) - 1] = [CODE[s] for s in string[:-1]]
        for t in range(len(string) - 1):
            y[i, t, [CODE[s] for s in embedded_successors(string[: t + 1])]] = 1.0
    return one_hot(codes, len(SYMBOLS)), y


def _net(blocks: int, cells: int, weights: int) -> dict:
    return {
        "blocks": blocks,
        "cells_per_block": cells,
        "hidden_units": 0,
        "input_gate_bias": None,
        "output_gate_bias": tuple(-float(b) for b in range(1, blocks + 1)),
        "output_gate": True,
        "connectivity": "F",
        "h": (-1.0, 1.0),
        "g": (-2.0, 2.0),
        "output_activation": "sigmoid",
        "bias": "gates",
        "learning_rate": 0.5,
        "weight_init": 0.2,
        "weights": weights,
        "notes": (
            f"Sec. 5.1 Architectures, Table 10 rows 1: 7 input and 7 output units, {blocks} "
            f"memory cell blocks of {cells}. The output layer's only incoming connections "
            "come from memory cells (no output bias); memory cells and gate units receive the "
            "inputs and all memory cells and gate units; the gate units are biased (cells are "
            "not). Gates and outputs logistic [0,1], h in [-1,1], g in [-2,2]. Weights "
            "U[-0.2, 0.2] except the output gate biases -1, -2, -3"
            + (" (the paper names three; the fourth block's -4 extends the series)"
               if blocks == 4 else "")
            + ". Learning rates 0.1, 0.2, 0.5 (Table 1), 0.5 here by default. Activations "
            "reset after each string. Weights: 12 hidden units x (7 inputs + 12 recurrent) + "
            f"{2 * blocks} gate biases + 7 outputs x {blocks * cells} cells = {weights}."
        ),
    }


# Table 1, LSTM rows: (blocks, cells per block, weights, learning rate, % successful, sequences).
TABLE_1 = (
    (4, 1, 264, 0.1, 1.00, 39_740),
    (3, 2, 276, 0.1, 1.00, 21_730),
    (3, 2, 276, 0.2, 0.97, 14_060),
    (4, 1, 264, 0.5, 0.97, 9_500),
    (3, 2, 276, 0.5, 1.00, 8_440),
)


def _reference(blocks: int, cells: int) -> PaperReference:
    weights = 276 if blocks == 3 else 264
    return PaperReference(
        source=SOURCE,
        experiment=f"Exp. 1 (embedded Reber grammar, {blocks} blocks of {cells})",
        section="Sec. 5.1",
        table="Table 1",
        rows=tuple(
            ReferenceRow(
                length=MIN_STRING,
                sequences_to_solve=seqs,
                statistic="mean of 30 trials",
                success_rate=rate,
                notes=(
                    f"LSTM, {b} blocks of size {c}, learning rate {lr}: sequence presentations "
                    "until success; 3 pairs of training and test sets, 10 weight "
                    "initialisations each"
                    + ("; in the bottom row 3,800 to 24,100" if (b, lr) == (3, 0.5) else "")
                ),
                trials=30,
                weights=w,
                settings=(("learning_rate", lr),),
            )
            for b, c, w, lr, rate, seqs in TABLE_1
            if (b, c) == (blocks, cells)
        ),
        net=_net(blocks, cells, weights),
    )


@register_task("embedded-reber-1997")
class EmbeddedReber1997(Task):
    """Exp. 1 of Hochreiter & Schmidhuber (1997), the embedded Reber grammar (Sec. 5.1, Table 1).

    Strings: B, then T or P, then a string of the Reber grammar (B ... E, `REBER`), then the same
    T or P, then E; each choice of an edge with probability 0.5. 7 symbols B, T, P, S, X, V, E,
    one-hot in channels 0..6. The net reads a string one symbol at a time and predicts the next
    at every step: `x` holds every symbol but the last, `y` at step t marks (1.0) every legal
    successor of the first t + 1 symbols (two where the grammar branches, one elsewhere; zero
    rows on padding). To predict the symbol before last, the net must remember the second.

    Trials (Sec. 5.1 Training/Testing): a fixed set of 256 training strings and 256 test
    strings, none of them a training string; training exemplars are drawn at random from the
    training set (`generate`). The paper used 3 set pairs with 10 weight initialisations each:
    rnnbench draws pair `seed % 3` (`start_trial`), from a stream of its own, so trials with
    seeds 0, 3, 6, ... share sets and differ in their weights. Success: every symbol of every
    string of both sets predicted, "the output unit(s) corresponding to the possible next
    symbol(s) is(are) always the most active ones" (`correct`, per string), checked on the 512
    strings every 100 training strings (`solve_rule`).

    `length` is the dependency-length knob, which the paper's grammar does not have: it must be
    9, the length of the shortest strings (the paper: "time lags (of as few as 9 steps)"); the
    string lengths, and so the lag from the second symbol to the symbol before last (at least
    6 steps), are the grammar's. Batches are right-padded with all-zero steps.

    The paper's net (`reference.net`): 3 blocks of 2 cells, 276 weights (`embedded-reber-4x1-1997`
    is the same task with the 4-blocks-of-1 net, 264 weights).

    Worked example: "BTBTXSETE" gives x = B, T, B, T, X, S, E, T and targets {T, P}, {B}, {T, P},
    {S, X}, {S, X}, {E}, {T}, {E}: the 7th, T, is the symbol that needs the memory of the 2nd.
    """

    kind = "classification"
    steps_scored: ClassVar[Literal["last", "every"]] = "every"
    input_dim = len(SYMBOLS)
    output_dim = len(SYMBOLS)
    min_length = MIN_STRING
    allowed_lengths = (MIN_STRING,)
    variable_length = True
    in_default_study = False
    description = (
        "Exp. 1 of Hochreiter & Schmidhuber 1997 (Sec. 5.1): embedded Reber grammar, predict "
        "every legal next symbol of 7, 256 train/256 test strings, all predicted, 3x2 net"
    )
    reference = _reference(3, 2)

    def __init__(self) -> None:
        self.pair = 0
        self.train_strings, self.test_strings = draw_sets(0)

    def start_trial(self, seed: int) -> None:
        """Use set pair `seed % 3` (the paper's 3 pairs of training and test sets)."""
        self.pair = int(seed) % PAIRS
        self.train_strings, self.test_strings = draw_sets(self.pair)

    def generate(
        self, n: int, length: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """n training exemplars drawn uniformly from the trial's 256 training strings.

        Returns x float32 (n, max L - 1, 7) and y float32 (n, max L - 1, 7), see `encode`.
        """
        self.check_length(length)
        picks = rng.integers(0, SET_SIZE, size=n)
        return encode([self.train_strings[i] for i in picks])

    def fixed_test_set(self) -> tuple[np.ndarray, np.ndarray]:
        """Both fixed sets, 512 strings (training then test), encoded: what success is judged on."""
        return encode(list(self.train_strings) + list(self.test_strings))

    @staticmethod
    def _scored(y_true: np.ndarray) -> np.ndarray:
        return np.asarray(y_true).max(axis=-1) > 0  # (n, T): a real step has a legal successor

    def _scored_steps(self, y_true: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        scored = self._scored(y_true)
        return scored if mask is None else scored & np.asarray(mask, dtype=bool)

    def errors(
        self, y_true: np.ndarray, y_prob: np.ndarray, mask: np.ndarray | None = None
    ) -> np.ndarray:
        """Per string, the largest |output - target| over its scored steps and the 7 outputs."""
        y_true, y_prob = np.asarray(y_true, np.float64), np.asarray(y_prob, np.float64)
        gap = np.abs(y_prob - y_true).max(axis=-1)  # (n, T)
        return np.where(self._scored_steps(y_true, mask), gap, 0.0).max(axis=1)

    def correct(
        self, y_true: np.ndarray, y_prob: np.ndarray, mask: np.ndarray | None = None
    ) -> np.ndarray:
        """Per string (bool (n,)): at every scored step (real steps, within `mask`), every legal
        successor's output is above every other output (strictly). Takes outputs (n, T, 7) as
        logistic values, probabilities or logits (the order is what counts)."""
        y_true, y_prob = np.asarray(y_true), np.asarray(y_prob, np.float64)
        legal = y_true > 0
        lowest_legal = np.where(legal, y_prob, np.inf).min(axis=-1)  # (n, T)
        highest_other = np.where(legal, -np.inf, y_prob).max(axis=-1)  # (n, T)
        right = (lowest_legal > highest_other) | ~self._scored_steps(y_true, mask)
        return right.all(axis=1)

    def chance_accuracy(self, length: int) -> float:
        """0.0: no predictor of the current symbol alone gets a single string right.

        Every string of the T branch reads T twice with different legal successors: as its 2nd
        symbol (next: B) and as its symbol before last (next: E). A predictor that sees only the
        current symbol gives both steps the same outputs, so one of them is wrong, and with it
        the string; the P branch likewise. (`tests/test_reber1997.py` checks it by Monte Carlo.)
        """
        return 0.0

    def solve_rule(self, length: int) -> PeriodicTestRule:
        return PeriodicTestRule(
            name=(
                f"every symbol of all {2 * SET_SIZE} training and test strings predicted "
                f"(legal successors most active), checked every {CHECK_EVERY} strings "
                f"({SOURCE}, Sec. 5.1)"
            ),
            test_size=2 * SET_SIZE, check_every=CHECK_EVERY, max_wrong=0,
            mean_error_below=None, final_test_size=None,
        )  # fmt: skip


@register_task("embedded-reber-4x1-1997")
class EmbeddedReber4x1_1997(EmbeddedReber1997):  # noqa: N801 - the net's shape, then the year
    """Exp. 1 with the paper's other net, 4 blocks of 1 cell, 264 weights (Table 1); the task is
    `embedded-reber-1997`'s."""

    description = (
        "Exp. 1 of Hochreiter & Schmidhuber 1997 (Sec. 5.1): embedded Reber grammar as "
        "embedded-reber-1997, with the paper's 4x1 net (264 weights)"
    )
    reference = _reference(4, 1)
