"""Published rows after 1997 on the adding problem and copy memory, as data (`PUBLISHED`).

Each row names its source (paper, table or figure), the task form as an rnnbench task, the model
as the paper names it and the rnnbench model that stands in for it, the paper's size and
regime, and its figure: a loss after a number of updates, marked when read off a plot with the
reading tolerance. `run` says which settings tasks/literature.toml runs the row's cells with;
the paper table (rnnbench.paper_table.literature_table) picks the cells by them.

Checked against the sources: Bai et al.'s Table 1 and Sec. 4-5 from a Markdown transcription of
the paper (the numbers, sizes and task forms below are its own; batch 32 is their code's
default). The Li, Arjovsky and Kerg rows are figures read off plots, as the project's
literature notes record them (their PDFs were not in the text index searched): the tolerance
of each is 10% of the plot's loss axis, as those notes read it.
"""

from __future__ import annotations

import math

from rnnbench.tasks.reference import LOSS_AFTER_UPDATES, Figure, PublishedRow, Relation

ADDING_MEMORYLESS = 1.0 / 6.0  # MSE of the constant guess 1: Var(U1 + U2) = 2/12


def copy_memoryless(length: int) -> float:
    """10 ln 8 / (T + 20): the copy task's loss per step when nothing is remembered."""
    return 10 * math.log(8) / (length + 20)


BAI = "Bai, Kolter & Koltun (2018)"
BAI_CHECKED = "Table 1 and Sec. 4-5, from a Markdown transcription of the paper"
LI = "Li et al. (2018), IndRNN"
ARJOVSKY = "Arjovsky, Shah & Bengio (2016)"
KERG = "Kerg et al. (2019) / Lezcano-Casado & Martinez-Rubio (2019)"
FROM_NOTES = "read from the figure as the project's literature notes record it"

_BAI_ADDING_REGIME = ("grid-searched optimizer, rate, clipping and forget bias; batch 32 (their "
                      "code); curves to about 7,000 iterations")
_BAI_COPY_REGIME = "grid-searched as for adding; batch 32; curves to about 3,000 iterations"
_LI_REGIME = ("Adam lr 2e-3 (tanh models) / 2e-4 (IndRNN), x0.1 every 20k steps; batch 32; "
              "per-value gradient clip 10; LSTM forget bias 1")
_ARJOVSKY_REGIME = "RMSprop lr 1e-3, decay 0.9; batch 20; gradient clip 1; up to 1M examples"


def _loss(value: float, statistic: str, updates: int | None, relation: Relation = "=",
          tolerance: float = 0.0) -> Figure:
    return Figure(LOSS_AFTER_UPDATES, value, statistic, updates, relation,
                  read_from_plot=tolerance > 0, tolerance=tolerance)


def _bai_adding(model: str, ours: str, value: float) -> PublishedRow:
    return PublishedRow(
        BAI, "Table 1", "adding-bai2018", 600, model, ours, "about 70k parameters",
        _BAI_ADDING_REGIME, _loss(value, "test MSE", 7000), ADDING_MEMORYLESS,
        run=(("units", 32), ("batch_size", 32)), checked=BAI_CHECKED,
        notes="the paper puts the constant guess at 'about 0.1767'; it is 1/6",
    )


def _bai_copy(model: str, ours: str, value: float) -> PublishedRow:
    return PublishedRow(
        BAI, "Table 1", "copy-memory-bai2018", 1000, model, ours, "about 16k parameters",
        _BAI_COPY_REGIME, _loss(value, "test cross-entropy per step", 3000),
        copy_memoryless(1000), run=(("units", 64), ("batch_size", 32)), checked=BAI_CHECKED,
        notes="Sec. 5.2: the LSTM and GRU converge to the loss of predicting all zeros",
    )


def _li(length: int, model: str, ours: str, value: float, updates: int, relation: Relation,
        lr: float) -> PublishedRow:
    return PublishedRow(
        LI, "Fig. 2", "adding", length, model, ours,
        "128 units" + (", 2 layers" if ours == "numpy-indrnn" else ""), _LI_REGIME,
        _loss(value, "MSE", updates, relation, tolerance=0.02), ADDING_MEMORYLESS,
        run=(("units", 128), ("batch_size", 32), ("learning_rate", lr)), checked=FROM_NOTES,
    )


def _arjovsky(length: int, model: str, ours: str, units: int, value: float) -> PublishedRow:
    return PublishedRow(
        ARJOVSKY, "Fig. 1", "copy-memory", length, model, ours,
        f"{units} units (about 6.5k parameters)", _ARJOVSKY_REGIME,
        _loss(value, "cross-entropy", 50_000, "~", tolerance=0.02), copy_memoryless(length),
        run=(("units", units), ("batch_size", 20)), checked=FROM_NOTES,
    )


def _kerg(model: str, ours: str, value: float, updates: int | None, lr: float) -> PublishedRow:
    return PublishedRow(
        KERG, "Kerg supp. Fig. 4", "copy-memory", 200, model, ours, "128 units",
        f"RMSprop lr {lr:g}" + (" (orthogonal part 1e-4)" if ours == "numpy-exprnn" else "")
        + "; batch 10", _loss(value, "cross-entropy", updates, "~", tolerance=0.01),
        copy_memoryless(200), run=(("units", 128), ("batch_size", 10), ("learning_rate", lr)),
        checked=FROM_NOTES,
    )


PUBLISHED: tuple[PublishedRow, ...] = (
    _bai_adding("GRU", "numpy-gru", 5.3e-5),
    _bai_adding("LSTM", "numpy-lstm", 0.164),
    _bai_adding("RNN", "numpy-rnn", 0.177),
    _bai_copy("GRU", "numpy-gru", 0.0197),
    _bai_copy("LSTM", "numpy-lstm", 0.0204),
    _bai_copy("RNN", "numpy-rnn", 0.0202),
    # Fig. 2: the LSTM near 0 by about 2k (T = 100) and 5.5k steps (T = 500); the tanh RNN at
    # the memoryless level throughout (60k steps); at T = 1000 the LSTM there too, and the
    # IndRNN below 0.01 by about 5-10k steps
    _li(100, "LSTM", "numpy-lstm", 0.0, 2000, "~", 2e-3),
    _li(100, "RNN (tanh)", "numpy-rnn", 0.167, 60_000, "~", 2e-3),
    _li(500, "LSTM", "numpy-lstm", 0.0, 5500, "~", 2e-3),
    _li(500, "RNN (tanh)", "numpy-rnn", 0.167, 60_000, "~", 2e-3),
    _li(1000, "LSTM", "numpy-lstm", 0.167, 60_000, "~", 2e-3),
    _li(1000, "IndRNN", "numpy-indrnn", 0.01, 10_000, "<", 2e-4),
    # Fig. 1: the LSTM beats the memoryless level at T = 100 (about 0.14-0.15 against 0.173)
    # and sits on it from T = 200; the tanh RNN on it throughout
    _arjovsky(100, "LSTM", "numpy-lstm", 40, 0.145),
    _arjovsky(200, "LSTM", "numpy-lstm", 40, copy_memoryless(200)),
    _arjovsky(100, "RNN (tanh)", "numpy-rnn", 80, copy_memoryless(100)),
    _arjovsky(200, "RNN (tanh)", "numpy-rnn", 80, copy_memoryless(200)),
    # Kerg et al. supp. Fig. 4: the orthogonal RNNs fall towards 0 within a few hundred
    # iterations, the LSTM stays at the memoryless 0.0945
    _kerg("expRNN", "numpy-exprnn", 0.0, 500, 1e-3),
    _kerg("LSTM", "numpy-lstm", copy_memoryless(200), None, 5e-4),
)
