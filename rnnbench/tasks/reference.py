"""Published results a task reproduces, as data (`PaperReference`, one `ReferenceRow` per length).

Reference numbers live here, on the task, not copied into prose by hand: a report reads them and
puts a measured figure beside the paper's, measured the same way (the task's `solve_rule`).
Pure data; nothing here imports from the rest of rnnbench.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class ReferenceRow:
    """One row of a paper's results table, for one dependency length.

    Attributes:
        length: The dependency length in THIS task's length units (its `length` argument).
        sequences_to_solve: The paper's figure for training sequences until its stopping or
            success criterion, e.g. 74000, or None if it reports none.
        statistic: What the figure is, as the paper says: "mean of 10 trials".
        success_rate: Fraction of trials successful as the paper reports, or None if it does not.
        notes: Anything needed to read the row right.
        rule: Which of the task's rules the figure belongs to, when the paper reports several
            at one length (Exp. 5: "n_seq=140", "n_seq=13"); "" when there is one.
        trials: How many trials the statistic is over.
        test_wrong: The paper's mean number of wrong test sequences, if reported.
        test_size: The size of the test set `test_wrong` is out of.
        test_mse: The paper's mean squared test error, if reported.
        weights: The paper's count of the net's weights for this row.
        settings: Other values the row depends on, e.g. (("distractors", 100),) for Exp. 2c.
    """

    length: int
    sequences_to_solve: float | None
    statistic: str
    success_rate: float | None
    notes: str = ""
    rule: str = ""
    trials: int | None = None
    test_wrong: float | None = None
    test_size: int | None = None
    test_mse: float | None = None
    weights: int | None = None
    settings: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class PaperReference:
    """What a paper reports for the experiment a task reproduces.

    Attributes:
        source: "Hochreiter & Schmidhuber (1997)".
        experiment: "Exp. 4 (adding)".
        section: Where the definition is, e.g. "Sec. 5.4".
        table: Where the numbers are, e.g. "Table 7".
        rows: One per dependency length (and rule) the paper reports.
        net: The paper's net for this experiment, for a model that rebuilds it (numpy-lstm1997):
            blocks, cells_per_block, hidden_units (extra non-gated hidden units, 0 if none),
            input_gate_bias (initial value per block, or None: no special value, see `bias`),
            output_gate_bias (the same, or None), output_gate (False if the net has none),
            bias ("all": every non-input unit has a bias weight initialised like the others,
            "none": no bias weights), connectivity ("F" or "B" as in Table 10), h and g (their
            output ranges or "identity"), learning_rate, weight_init (half-width of the uniform
            initialisation interval), output_activation ("sigmoid"), weights (the paper's count,
            a check on a rebuilt net), notes.
    """

    source: str
    experiment: str
    section: str
    table: str
    rows: tuple[ReferenceRow, ...]
    net: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "net", MappingProxyType(dict(self.net)))  # read-only data

    def rows_at(self, length: int) -> tuple[ReferenceRow, ...]:
        """The rows for one dependency length (several when the paper reports several rules)."""
        return tuple(row for row in self.rows if row.length == length)
