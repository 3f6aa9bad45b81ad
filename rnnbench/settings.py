"""The one table of a study's settings: each one's name, default, check, help, flag, and scope.

A setting is written here once, and everything else reads it from here (see docs/design.md for
the layers): the study file's keys and checks and which of them a `[[regimes]]` group
may set (rnnbench.study), the `rnnbench sweep` options and their help (rnnbench.cli, hence
docs/cli.md), the keyword arguments of `rnnbench.sweep()`, and the defaults of a `SweepCell`
(rnnbench.schema) and which hyper-parameters a model factory hears (`SweepCell.hparams`).
tests/test_settings.py compares the click options, the study keys and docs/cli.md with it.
Adding a setting is one `Setting` here (with `hparam` if model factories take it), a field of
`SweepCell` if it lands in the row (the test holds the two equal), and the models that use it.

Each check takes a value as a study file or the API gives it and returns it as the study holds
it, or raises `NotAllowedError(allowed)`; `check` turns that into one line naming the key, the
bad value and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rnnbench.backends import BACKENDS
from rnnbench.errors import UserError

OPTIMIZERS = ("adam", "sgd")  # sgd: plain gradient descent, the 1997 paper's
# How a cell is judged: "task" is the task's own rule where it has one (the 1997 tasks: the
# paper's), else held-out accuracy against solve_threshold; "held-out" always the latter.
RULES = ("task", "held-out")
PAPER = "paper"  # learning_rate = "paper": each task's reference learning rate
# The gate bias a model starts with when a study gives none (the table's default, (), means "not
# given"), as Keras starts it: the LSTM's forget gate at 1 (`unit_forget_bias=True`), the GRU's
# update gate, like every GRU bias, at 0. A model's factory names its own as its keyword default.
DEFAULT_FORGET_BIAS = 1.0
DEFAULT_GRU_FORGET_BIAS = 0.0
ALWAYS, WHEN_SET = "always", "when-set"  # how a setting reaches a model factory (Setting.hparam)


class SpecError(UserError):
    """A study spec or option that cannot be run; the message names the key and what is allowed."""


class NotAllowedError(ValueError):
    """A value a check refuses; the argument says what is allowed."""


# -- checks: a value as given -> as the study holds it, or NotAllowedError(what is allowed) ------


def positive_int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise NotAllowedError("a positive integer")
    return v


def number_in(low: float, high: float) -> Callable[[Any], float]:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not low < v <= high \
                or not math.isfinite(v):
            raise NotAllowedError(f"a number in ({low:g}, {high:g}]")
        return float(v)

    return check


def one_of(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if v not in choices:
            raise NotAllowedError(f"one of {', '.join(choices)}")
        return str(v)

    return check


def names(v: Any) -> tuple[str, ...]:
    v = [v] if isinstance(v, str) else v
    if not isinstance(v, (list, tuple)) or not all(isinstance(s, str) and s for s in v):
        raise NotAllowedError("a list of names")
    return tuple(dict.fromkeys(v))


def task_names(v: Any) -> tuple[str, ...]:
    chosen = names(v)
    if not chosen:  # models = [] is allowed when regimes name the models; tasks = [] is not
        raise NotAllowedError("a non-empty list of task names")
    return chosen


def int_list(v: Any) -> list[int]:
    if not isinstance(v, (list, tuple)) or not v \
            or any(isinstance(i, bool) or not isinstance(i, int) for i in v):
        raise NotAllowedError("a non-empty list of integers")
    return list(v)


def per_task(one: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """One value for every task, or a table {task: value}."""

    def check(v: Any) -> Any:
        if isinstance(v, Mapping):
            if not v:
                raise NotAllowedError("a non-empty table of task = value")
            if not all(isinstance(k, str) and k.isprintable() for k in v):
                raise NotAllowedError("a table whose keys are task names")
            return {str(k): one(x) for k, x in v.items()}
        return one(v)

    return check


def study_name(v: Any) -> str:
    if not isinstance(v, str) or not v.strip() or not v.isprintable():
        raise NotAllowedError("a non-empty single line of printable text")
    return v


MAX_SEED = 2**32 - 1  # keras.utils.set_random_seed's bound; a larger seed fails inside a cell


def seeds(v: Any) -> int | list[int]:
    allowed = f"a positive count, or a list of integers from 0 to {MAX_SEED} (2**32 - 1)"
    try:
        if isinstance(v, (list, tuple)):
            if any(not 0 <= s <= MAX_SEED for s in int_list(v)):
                raise NotAllowedError(allowed)
            return list(dict.fromkeys(v))  # a seed named twice runs once
        return positive_int(v)
    except NotAllowedError:
        raise NotAllowedError(allowed) from None


def learning_rate(v: Any) -> float | str:
    if v == PAPER:
        return PAPER
    if isinstance(v, str):
        raise NotAllowedError(f'a number in (0, 10], or "{PAPER}" (the task\'s reference rate)')
    return number_in(0.0, 10.0)(v)


def forget_biases(v: Any) -> tuple[float, ...]:
    values = v if isinstance(v, (list, tuple)) else [v]
    numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in values)
    if not values or not numeric or not all(math.isfinite(x) for x in values):
        raise NotAllowedError("a finite number or a list of finite numbers")
    return tuple(float(x) for x in values)


# -- reading a command line's text (the check runs after) ----------------------------------------


def comma_ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def comma_floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def count_or_ints(text: str) -> int | list[int]:
    """`5` is a count; `0,3,7` (or `3,` for one seed) the integers themselves."""
    return comma_ints(text) if "," in text else int(text)


def number_or_word(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


# -- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One setting of a study: its study-file key (also the API's keyword) and all about it."""

    key: str
    default: Any
    check: Callable[[Any], Any]  # a value as given -> as held; else NotAllowedError(allowed)
    help: str  # the flag's help, without the default (added from `default`)
    flag: str  # the `rnnbench sweep` option
    regime: bool = False  # a [[regimes]] group may set it for its models
    cell: bool = True  # a field of every SweepCell, so a column of the results CSV
    parse: Callable[[str], Any] = int  # the command line's text -> a value for `check`
    metavar: str = ""
    repeat: bool = False  # the flag is given once per value: --model a --model b
    shown_default: str = ""  # the help's "Default: ..." when `default` alone would mislead
    # Offered to the model factory as a keyword (it takes the ones it names): ALWAYS, or only
    # when not the default (WHEN_SET), so that factories written before the setting existed keep
    # working and one that does not take a value it is offered is refused, not trained otherwise.
    hparam: str = ""


SETTINGS: tuple[Setting, ...] = (
    Setting("name", "sweep", study_name, "The study's name, in messages.", "--name", cell=False,
            parse=str, metavar="TEXT",
            shown_default="the spec's name, else its file name"),
    Setting("tasks", (), task_names, "Task to run (repeatable).", "--task", cell=False, parse=str,
            metavar="NAME", repeat=True,
            shown_default="the tasks the spec's lengths tables name, else every built-in task"),
    Setting("models", ("numpy-rnn", "keras-simplernn", "keras-lstm"), names,
            "Model to run (repeatable), each with the settings of the spec's group (top level or "
            "regime) that names it, or the top level's if none does.", "--model", regime=True,
            cell=False, parse=str, metavar="NAME", repeat=True),
    Setting("lengths", (5, 10, 20), per_task(int_list), "Dependency lengths, e.g. 5,10,20 "
            "(sequence length for adding, lag for delayed-recall); a spec may give a table per "
            "task.", "--lengths", regime=True, cell=False, parse=comma_ints, metavar="N,N,..."),
    Setting("seeds", 3, seeds, "Seeds per cell: a count N runs seeds 0..N-1, a list the seeds "
            "it names (e.g. 0,3,7; one seed alone: 7,).", "--seeds", cell=False,
            parse=count_or_ints, metavar="N|S,S,..."),
    # One width, optimizer and batch for every built-in model, so comparisons are fair.
    Setting("units", 32, positive_int, "Recurrent width of every model.", "--units",
            regime=True, metavar="N"),
    Setting("max_sequences", 64_000, per_task(positive_int), "Training budget per cell, in "
            "sequences; a cell stops earlier once solved. A spec may give a table per task.",
            "--max-sequences", regime=True, metavar="N"),
    Setting("batch_size", 64, positive_int, "Sequences per update; 1 with the sgd optimizer is "
            "the 1997 paper's online regime.", "--batch-size", regime=True, metavar="N",
            hparam=ALWAYS),
    Setting("learning_rate", 3e-3, learning_rate, f"Step size; '{PAPER}' takes each task's "
            "reference rate (the 1997 tasks carry the paper's).", "--learning-rate",
            regime=True, parse=number_or_word, metavar=f"RATE|{PAPER}", hparam=ALWAYS),
    Setting("forget_bias", (), forget_biases, "Initial bias of the gate that keeps the state: "
            "the LSTM's forget gate, the GRU's update gate (positive keeps it); several values "
            "run each.", "--forget-bias", regime=True, parse=comma_floats,
            metavar="B,B,...", shown_default="the spec's (the teaching study runs 1,4), else "
            f"Keras's ({DEFAULT_FORGET_BIAS:g}; GRU {DEFAULT_GRU_FORGET_BIAS:g})", hparam=ALWAYS),
    Setting("chunk_size", 2048, positive_int, "Training sequences between two held-out "
            "evaluations.", "--chunk-size", regime=True, metavar="N"),
    Setting("eval_size", 1000, positive_int, "Held-out sequences each evaluation scores.",
            "--eval-size", regime=True, metavar="N"),
    Setting("solve_threshold", 0.95, number_in(0.0, 1.0), "Held-out accuracy at which a cell "
            "counts as solved and stops (unless its rule is the task's own).",
            "--solve-threshold", regime=True, parse=float, metavar="ACC"),
    Setting("backend", "", one_of(BACKENDS), "Keras backend of the Keras models. jax and torch "
            "are extras: pip install 'rnnbench[jax]'; benchmarks/README.md says which is fastest "
            "per model.", "--backend", parse=str, metavar="|".join(BACKENDS),
            shown_default="KERAS_BACKEND, else tensorflow"),
    Setting("optimizer", "adam", one_of(OPTIMIZERS), "adam (each variable's gradient clipped to "
            "norm 1) or sgd (plain gradient descent, as in 1997).", "--optimizer", regime=True,
            parse=str, metavar="|".join(OPTIMIZERS), hparam=WHEN_SET),
    Setting("rule", "task", one_of(RULES), "How a cell is judged: 'task' by the task's own "
            "solve rule where it has one (the 1997 tasks: the paper's), else held-out accuracy "
            "against the solve threshold; 'held-out' always by the latter.", "--rule", regime=True,
            parse=str, metavar="|".join(RULES)),
)
BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}
REGIME_KEYS = tuple(s.key for s in SETTINGS if s.regime)  # `models` among them (required there)
CELL_KEYS = tuple(s.key for s in SETTINGS if s.cell)  # in SweepCell's field order
HPARAMS = tuple(s for s in SETTINGS if s.hparam)  # the settings a model factory may take


def default(key: str) -> Any:
    return BY_KEY[key].default


def check(key: str, value: Any, where: str) -> Any:
    """`value` as the study holds it, or a SpecError naming where, the key, the value and what
    is allowed."""
    try:
        return BY_KEY[key].check(value)
    except NotAllowedError as exc:
        raise SpecError(f"{where}: {key} = {value!r} is not allowed; expected {exc}") from None


def shown_default(setting: Setting) -> str:
    if setting.shown_default:
        return setting.shown_default
    value = setting.default
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def help_text(setting: Setting) -> str:
    """The flag's help: what it sets, then its default."""
    return f"{setting.help} Default: {shown_default(setting)}."


# The defaults the rest of rnnbench names (a SweepCell's, the models').
DEFAULT_UNITS: int = default("units")
DEFAULT_LEARNING_RATE: float = default("learning_rate")
DEFAULT_BATCH_SIZE: int = default("batch_size")
DEFAULT_OPTIMIZER: str = default("optimizer")  # Adam with each variable's gradient clipped to 1
DEFAULT_MAX_SEQUENCES: int = default("max_sequences")
DEFAULT_CHUNK_SIZE: int = default("chunk_size")  # held-out accuracy is measured after each chunk
DEFAULT_EVAL_SIZE: int = default("eval_size")
DEFAULT_SOLVE_THRESHOLD: float = default("solve_threshold")
DEFAULT_RULE: str = default("rule")
