"""Published results, as data: what a paper reports, where, for which task form, model and setup.

Two shapes of row, one kind of figure:
- `PaperReference` / `ReferenceRow`: a paper's table for the experiment one task reproduces (the
  1997 tasks carry theirs, `Task.reference`): sequences to the paper's criterion, per length.
- `PublishedRow`: one published figure after 1997 (rnnbench.tasks.literature holds them): its
  source (paper, table or figure), the task form (the rnnbench task that poses it), the model,
  its size and training regime, and the `Figure`.
A `Figure` says what kind of number it is: training sequences to a criterion (as 1997 reports),
or a loss after a stated number of updates (as the later papers do); one read off a plot is
marked so, with its reading tolerance. Reference numbers live here, not copied into prose by
hand: a report reads them and puts a measured figure beside the paper's, measured the same way.
Pure data; nothing here imports from the rest of rnnbench.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal

SEQUENCES_TO_CRITERION: Final = "sequences to criterion"
LOSS_AFTER_UPDATES: Final = "loss after updates"
FigureKind = Literal["sequences to criterion", "loss after updates"]
Relation = Literal["=", "<", "~"]
FIGURE_KINDS: tuple[str, ...] = (SEQUENCES_TO_CRITERION, LOSS_AFTER_UPDATES)


@dataclass(frozen=True)
class Figure:
    """One published number and what it is.

    Attributes:
        kind: SEQUENCES_TO_CRITERION (training sequences until the paper's criterion, as 1997
            reports) or LOSS_AFTER_UPDATES (a loss after `updates` optimizer updates).
        value: The number: sequences, or the loss.
        statistic: What the number is, as the paper says: "mean of 10 trials", "test MSE".
        updates: For a loss, the updates it was reached after (the end of the paper's curve or
            training, or the point of the curve the text names); None when the paper says not.
        relation: "=" the value as printed; "<" below it; "~" about it (a curve's level).
        read_from_plot: True when the value was read off a published figure, not printed.
        tolerance: The reading tolerance of a value read off a plot, in its own units (the
            value is `value` +- `tolerance`); 0 for a printed number.
    """

    kind: FigureKind
    value: float
    statistic: str
    updates: int | None = None
    relation: Relation = "="
    read_from_plot: bool = False
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FIGURE_KINDS:
            raise ValueError(f"Figure kind {self.kind!r}; allowed: {', '.join(FIGURE_KINDS)}")
        if self.read_from_plot != (self.tolerance > 0):
            raise ValueError("a figure read off a plot states its reading tolerance (> 0), and "
                             "only such a figure has one")

    def text(self) -> str:
        """e.g. "0.164 (test MSE)", "~0.145 +-0.017 (read from a figure)", "74,000 (mean ...)"."""
        if self.kind == SEQUENCES_TO_CRITERION:
            number = f"{self.value:,.0f}"
        else:
            number = f"{self.value:.3g}"
        relation = "" if self.relation == "=" else self.relation
        read = f" +-{self.tolerance:.2g}, read from a figure" if self.read_from_plot else ""
        return f"{relation}{number} ({self.statistic}{read})"


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

    def figure(self) -> Figure | None:
        """The row's figure in the general form (sequences to the paper's criterion)."""
        if self.sequences_to_solve is None:
            return None
        return Figure(SEQUENCES_TO_CRITERION, float(self.sequences_to_solve), self.statistic)


@dataclass(frozen=True)
class PublishedRow:
    """One published figure after 1997, with what it was measured on.

    Attributes:
        paper: "Bai, Kolter & Koltun (2018)".
        where: The table or figure it is in, e.g. "Table 1", "Fig. 2".
        task: The rnnbench task that poses the paper's task form (its name says whose form,
            e.g. "adding-bai2018": marks anywhere; "adding": one mark per half).
        length: The dependency length T, in the task's length units.
        model: The model as the paper names it: "GRU".
        ours: The rnnbench model that stands in for it: "numpy-gru".
        size: The paper's model size: "about 70k parameters", "128 units, 2 layers".
        regime: The paper's training regime: optimizer, rate, batch, clipping, budget.
        figure: The figure itself.
        memoryless: The loss of the predictor that remembers nothing, on this task and length
            (1/6 MSE for adding; 10 ln 8 / (T + 20) for copy): what a row's loss is read against.
        run: The settings the literature study runs this row's cells with (its group's units,
            batch_size, learning_rate): the cells that stand beside the row are picked by them.
        checked: How the row was checked against its source.
        notes: Anything needed to read the row right.
    """

    paper: str
    where: str
    task: str
    length: int
    model: str
    ours: str
    size: str
    regime: str
    figure: Figure
    memoryless: float
    run: tuple[tuple[str, Any], ...] = ()
    checked: str = ""
    notes: str = ""

    @property
    def source(self) -> str:
        """"Bai, Kolter & Koltun (2018), Table 1"."""
        return f"{self.paper}, {self.where}"


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
