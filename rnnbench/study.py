"""A study spec -> the list of frozen SweepCells it asks for.

(Named study.py rather than sweep.py so that the module never shadows the `rnnbench.sweep()`
function of the package.)

A study is data (a TOML file in tasks/ or keyword arguments), never code:

    name = "teaching"
    models = ["numpy-rnn", "keras-simplernn", "keras-lstm"]
    seeds = 3                 # a count (seeds 0..2) or an explicit list
    max_sequences = 64000     # or a table per task: {adding = 128000, delayed-recall = 64000}
    forget_bias = [1.0, 4.0]  # LSTM-type models run once per value; others ignore it
    [lengths]                 # or one list for every task: lengths = [5, 10, 20]
    adding = [10, 25, 50]
    delayed-recall = [5, 10, 20, 50]

`tasks` defaults to the keys of a `lengths` table, or to every registered built-in task.
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from rnnbench.backends import BACKENDS, current_backend, select_backend
from rnnbench.errors import UserError
from rnnbench.models.base import DEFAULT_FORGET_BIAS
from rnnbench.registry import BUILTIN_SOURCE, models, tasks
from rnnbench.schema import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_EVAL_SIZE,
    DEFAULT_LEARNING_RATE,
    DEFAULT_MAX_SEQUENCES,
    DEFAULT_SOLVE_THRESHOLD,
    DEFAULT_UNITS,
    SweepCell,
)

DEFAULT_MODELS = ("numpy-rnn", "keras-simplernn", "keras-lstm")
DEFAULT_SEEDS = 3
# A study of more cells is refused before it is listed: at a second a cell on every core of a big
# machine that is still more than a day, and listing it alone takes memory by the gigabyte.
MAX_CELLS = 100_000


# The classroom study that `rnnbench sweep` runs with no spec; tasks/teaching.toml says the same
# (with the reasons) and a test keeps them equal. In code so that an installed package has it.
TEACHING: dict[str, Any] = {
    "name": "teaching",
    "models": ["numpy-rnn", "keras-simplernn", "keras-lstm"],
    "seeds": 3,
    "units": 32,
    "forget_bias": [1.0, 4.0],
    "lengths": {"adding": [5, 25], "delayed-recall": [5, 20, 50, 100]},
    "max_sequences": {"adding": 32000, "delayed-recall": 96000},
}


class SpecError(UserError):
    """A study spec or option that cannot be run; the message names the key and what is allowed."""


PerTask = list[int] | dict[str, list[int]]


@dataclass(frozen=True)
class StudySpec:
    name: str = "sweep"
    tasks: tuple[str, ...] = ()  # empty: the keys of `lengths`, else every built-in task
    models: tuple[str, ...] = DEFAULT_MODELS
    lengths: Any = field(default_factory=lambda: [5, 10, 20])  # list, or {task: list}
    seeds: Any = DEFAULT_SEEDS  # a count, or a list of seeds
    max_sequences: Any = DEFAULT_MAX_SEQUENCES  # an int, or {task: int}
    units: int = DEFAULT_UNITS
    batch_size: int = DEFAULT_BATCH_SIZE
    learning_rate: float = DEFAULT_LEARNING_RATE
    forget_bias: tuple[float, ...] = ()  # empty: the model's default
    chunk_size: int = DEFAULT_CHUNK_SIZE
    eval_size: int = DEFAULT_EVAL_SIZE
    solve_threshold: float = DEFAULT_SOLVE_THRESHOLD
    backend: str = ""  # empty: KERAS_BACKEND, else tensorflow

    # -- reading ---------------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "spec") -> StudySpec:
        allowed = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise SpecError(
                f"{where}: unknown key {unknown[0]!r}; allowed keys: {', '.join(allowed)}"
            )
        values: dict[str, Any] = {}
        for key, value in data.items():
            values[key] = _coerce(key, value, where)
        return cls(**values)

    @classmethod
    def teaching(cls) -> StudySpec:
        return cls.from_mapping(TEACHING, where="the built-in teaching study")

    @classmethod
    def from_toml(cls, path: str | Path) -> StudySpec:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"cannot read spec file {str(path)!r}: {exc.strerror}") from None
        try:
            data = _toml_loads(text)
        except ValueError as exc:
            raise SpecError(f"{path}: not valid TOML: {exc}") from None
        spec = cls.from_mapping(data, where=str(path))
        return spec if "name" in data else replace(spec, name=path.stem)

    def with_overrides(self, **overrides: Any) -> StudySpec:
        """This spec with the options a user gave (None means not given)."""
        allowed = [f.name for f in fields(self)]
        unknown = sorted(set(overrides) - set(allowed))
        if unknown:
            raise SpecError(f"unknown option {unknown[0]!r}; allowed: {', '.join(allowed)}")
        given = {k: v for k, v in overrides.items() if v is not None and v != ()}
        return replace(self, **{k: _coerce(k, v, "option") for k, v in given.items()})

    # -- expanding -------------------------------------------------------------------------------

    def task_names(self) -> list[str]:
        if self.tasks:
            return list(self.tasks)
        if isinstance(self.lengths, dict):
            return list(self.lengths)
        return [e.name for e in tasks.items() if e.source == BUILTIN_SOURCE]

    def lengths_for(self, task: str) -> list[int]:
        if isinstance(self.lengths, dict):
            if task not in self.lengths:
                raise SpecError(
                    f"lengths: no entry for task {task!r}; the table has "
                    f"{', '.join(self.lengths) or '(none)'} (give --lengths)"
                )
            return list(self.lengths[task])
        return list(self.lengths)

    def max_sequences_for(self, task: str) -> int:
        if isinstance(self.max_sequences, dict):  # a task missing from the table gets the default
            return int(self.max_sequences.get(task, DEFAULT_MAX_SEQUENCES))
        return int(self.max_sequences)

    def seed_list(self) -> list[int]:
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)

    def count(self) -> int:
        """How many cells `cells()` would list, counted without listing them."""
        n_seeds = self.seeds if isinstance(self.seeds, int) else len(set(self.seeds))
        per_length = sum(len(self._forget_biases(m)) for m in dict.fromkeys(self.models))
        return sum(len(set(self.lengths_for(t))) for t in dict.fromkeys(self.task_names())) * (
            per_length * n_seeds
        )

    def check(self) -> None:
        """Validate every name, per-task table and length, and the grid's size; list nothing."""
        task_names = self.task_names()
        for name in task_names:
            tasks.entry(name)  # raises with the known names
        for name in self.models:
            models.entry(name)
        for key in ("lengths", "max_sequences"):
            table = getattr(self, key)
            if isinstance(table, dict):
                for name in table:
                    if name not in tasks:
                        raise SpecError(
                            f"{key}: the table names task {name!r}, which is not registered; "
                            f"known tasks: {', '.join(tasks.names())}"
                        )
        for task_name in task_names:
            task = tasks.get(task_name)()
            for length in self.lengths_for(task_name):
                try:
                    task.check_length(length)
                except ValueError as exc:  # the Task contract: ValueError for a bad length
                    raise SpecError(f"lengths: {exc}") from None
        n = self.count()
        if n > MAX_CELLS:
            raise SpecError(
                f"the study has {n:,} cells (tasks x lengths x models x seeds), more than "
                f"{MAX_CELLS:,}; split it into smaller studies"
            )

    def cells(self) -> list[SweepCell]:
        """Validate every name and length, then list the cells: task, length, model, seed."""
        self.check()
        out: list[SweepCell] = []
        seen: set[SweepCell] = set()
        for task_name in dict.fromkeys(self.task_names()):
            budget = self.max_sequences_for(task_name)
            for length, model, seed in itertools.product(
                dict.fromkeys(self.lengths_for(task_name)), dict.fromkeys(self.models),
                dict.fromkeys(self.seed_list()),
            ):
                for forget_bias in self._forget_biases(model):
                    cell = SweepCell(
                            task=task_name,
                            model=model,
                            length=int(length),
                            seed=int(seed),
                            units=self.units,
                            max_sequences=budget,
                            batch_size=self.batch_size,
                            learning_rate=self.learning_rate,
                            forget_bias=forget_bias,
                            chunk_size=self.chunk_size,
                            eval_size=self.eval_size,
                            solve_threshold=self.solve_threshold,
                            backend=self.backend or current_backend(),
                        )
                    if cell not in seen:
                        seen.add(cell)
                        out.append(cell)
        return out

    def _forget_biases(self, model: str) -> list[float | None]:
        return forget_biases_for(model, self.forget_bias)


def resolve_study(spec: str | Path | None = None, **overrides: Any) -> StudySpec:
    """The study a sweep runs: `spec` (a TOML file) or the teaching study, with the overrides.

    The one place both `rnnbench sweep` and `rnnbench.sweep()` turn their arguments into a study;
    an override of None (or an empty tuple) means "not given". The study's backend, if it names
    one, becomes this process's (and its workers') Keras backend.
    """
    study = StudySpec.from_toml(spec) if spec is not None else StudySpec.teaching()
    study = study.with_overrides(**overrides)
    if study.backend:
        select_backend(study.backend)
    return study


def forget_biases_for(model: str, values: Sequence[float]) -> list[float | None]:
    """The forget-gate biases `model` runs with: `values` (else the default) if it takes one."""
    if not takes_forget_bias(models.get(model)):
        return [None]
    return list(values) or [DEFAULT_FORGET_BIAS]


def takes_forget_bias(factory: Callable[..., Any]) -> bool:
    return "forget_bias" in inspect.signature(factory).parameters


def _toml_loads(text: str) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(str(exc)) from None


# -- checking one key ---------------------------------------------------------------------------


def _coerce(key: str, value: Any, where: str) -> Any:
    def bad(allowed: str) -> SpecError:
        return SpecError(f"{where}: {key} = {value!r} is not allowed; expected {allowed}")

    def positive_int(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise bad("a positive integer")
        return v

    def number(v: Any, low: float = 0.0, high: float = float("inf")) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not low < v <= high:
            raise bad(f"a number in ({low:g}, {high:g}]")
        if not math.isfinite(v):
            raise bad(f"a number in ({low:g}, {high:g}]")
        return float(v)

    def names(v: Any) -> tuple[str, ...]:
        v = [v] if isinstance(v, str) else v
        if not isinstance(v, (list, tuple)) or not all(isinstance(s, str) and s for s in v):
            raise bad("a non-empty list of names")
        if not v:
            raise bad("a non-empty list of names")
        return tuple(dict.fromkeys(v))

    def int_list(v: Any) -> list[int]:
        if not isinstance(v, (list, tuple)) or not v:
            raise bad("a non-empty list of integers")
        if any(isinstance(i, bool) or not isinstance(i, int) for i in v):
            raise bad("a non-empty list of integers")
        return list(v)

    def per_task(v: Any, one: Callable[[Any], Any]) -> Any:
        if isinstance(v, Mapping):
            if not v:
                raise bad("a non-empty table of task = value")
            for k in v:
                if not isinstance(k, str) or not k.isprintable():
                    raise bad("a table whose keys are task names")
            return {str(k): one(x) for k, x in v.items()}
        return one(v)

    if key == "name":
        if not isinstance(value, str) or not value.strip() or not value.isprintable():
            raise bad("a non-empty single line of printable text")
        return value
    if key in ("tasks", "models"):
        return names(value)
    if key == "lengths":
        return per_task(value, int_list)
    if key == "seeds":
        if isinstance(value, (list, tuple)):
            seeds = int_list(value)
            if any(s < 0 for s in seeds):
                raise bad("a count, or a list of non-negative integers")
            return seeds
        return positive_int(value)
    if key == "max_sequences":
        return per_task(value, positive_int)
    if key in ("units", "batch_size", "chunk_size", "eval_size"):
        return positive_int(value)
    if key == "learning_rate":
        return number(value, 0.0, 10.0)
    if key == "solve_threshold":
        return number(value, 0.0, 1.0)
    if key == "backend":
        if value not in BACKENDS:
            raise bad(f"one of {', '.join(BACKENDS)}")
        return value
    if key == "forget_bias":
        values = value if isinstance(value, (list, tuple)) else [value]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if not values or not numeric or not all(math.isfinite(v) for v in values):
            raise bad("a finite number or a list of finite numbers")
        return tuple(float(v) for v in values)
    raise bad("a known key")  # unreachable: from_mapping checks the keys first
