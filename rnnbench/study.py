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
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from rnnbench.backends import BACKENDS, check_backend_env, current_backend, select_backend
from rnnbench.errors import UserError
from rnnbench.models.base import DEFAULT_FORGET_BIAS, optimizer_refusal
from rnnbench.registry import BUILTIN_SOURCE, models, tasks
from rnnbench.schema import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_EVAL_SIZE,
    DEFAULT_LEARNING_RATE,
    DEFAULT_MAX_SEQUENCES,
    DEFAULT_OPTIMIZER,
    DEFAULT_SOLVE_THRESHOLD,
    DEFAULT_UNITS,
    OPTIMIZERS,
    RULES,
    SweepCell,
)

PAPER = "paper"  # learning_rate = "paper": each task's reference learning rate
# The settings a regime may give its models (besides `models`).
REGIME_KEYS = ("optimizer", "rule", "batch_size", "learning_rate", "max_sequences", "chunk_size",
               "eval_size", "units", "forget_bias", "solve_threshold", "lengths")

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
    "lengths": {"delayed-recall": [5, 20, 50, 100]},
    "max_sequences": 96000,
    "regimes": [{
        "models": ["numpy-rnn", "keras-lstm"],
        "forget_bias": 4.0,
        "rule": "held-out",
        "lengths": {"adding-1997": [20, 50]},
    }],
}


class SpecError(UserError):
    """A study spec or option that cannot be run; the message names the key and what is allowed."""


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
    learning_rate: float | str = DEFAULT_LEARNING_RATE  # or "paper": the task's reference rate
    optimizer: str = DEFAULT_OPTIMIZER  # "adam" or "sgd"
    rule: str = "task"  # "task": the task's own solve rule if any; "held-out": solve_threshold
    forget_bias: tuple[float, ...] = ()  # empty: the model's default
    chunk_size: int = DEFAULT_CHUNK_SIZE
    eval_size: int = DEFAULT_EVAL_SIZE
    solve_threshold: float = DEFAULT_SOLVE_THRESHOLD
    backend: str = ""  # empty: KERAS_BACKEND, else tensorflow
    # More models, each group with its own settings (e.g. the 1997 LSTM online with SGD beside the
    # modern models): a tuple of {key: value} with `models` and any of REGIME_KEYS.
    regimes: tuple[dict[str, Any], ...] = ()

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
        text = read_spec_text(path)
        try:
            data = _toml_loads(text)
        except ValueError as exc:
            raise SpecError(f"{path}: not valid TOML: {exc}") from None
        except RecursionError:  # arrays or tables nested thousands deep
            raise SpecError(f"{path}: not a study: its values are nested too deep "
                            f"(a study's are at most {MAX_SPEC_DEPTH} deep)") from None
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
        tables = [self.lengths] + [r["lengths"] for r in self.regimes if "lengths" in r]
        if all(isinstance(t, dict) for t in tables):  # the tasks the lengths tables name
            return list(dict.fromkeys(name for table in tables for name in table))
        return [
            e.name
            for e in tasks.items()
            if e.source == BUILTIN_SOURCE and getattr(e.obj, "in_default_study", True)
        ]

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

    def cells(self) -> list[SweepCell]:
        """Validate every name and length, then list the cells: task, length, model, seed.

        The top-level models run with the top-level settings; each regime's models with the
        regime's settings over those.
        """
        task_names = self.task_names()
        for name in task_names:
            tasks.entry(name)  # raises with the known names
        groups = self.regime_specs()
        for regime in self.regimes:  # a regime's table may name tasks a --task leaves out
            if isinstance(regime.get("lengths"), dict):
                for name in regime["lengths"]:
                    tasks.entry(name)  # but not a task nobody registered
        for group in groups:
            for name in group.models:
                models.entry(name)
            for key in ("lengths", "max_sequences"):  # a table may name only registered tasks
                table = getattr(group, key)
                unknown = sorted(set(table) - set(tasks.names())) if isinstance(table, dict) else []
                if unknown:
                    raise SpecError(
                        f"{key}: the table names task {unknown[0]!r}, which is not registered; "
                        f"known tasks: {', '.join(tasks.names())}"
                    )
        # Counted before listed: an absurd grid (seeds = 100000000) is refused at once.
        n = sum(group._count_of(name) for name in dict.fromkeys(task_names)
                for group in groups if group._runs(name))
        if n > MAX_CELLS:
            raise SpecError(
                f"the study has {n:,} cells (tasks x lengths x models x seeds), more than "
                f"{MAX_CELLS:,}; split it into smaller studies"
            )
        out: list[SweepCell] = []
        for task_name in dict.fromkeys(task_names):
            task = tasks.get(task_name)()
            runs = [g for g in groups if g._runs(task_name)]
            if not runs:
                self.lengths_for(task_name)  # raises: no lengths for this task anywhere
            for group in runs:
                out.extend(group._cells_of(task_name, task))
        out = list(dict.fromkeys(out))  # a cell named twice (lengths = [5, 5]) runs once
        if not out:
            raise SpecError(
                "the study has no cells: give at least one model (models = [...], or a regime's)"
            )
        return out

    def regime_specs(self) -> list[StudySpec]:
        """One spec per group of models: the top level's (if it names models), then each regime."""
        base = replace(self, regimes=())
        groups = [base] if base.models else []
        return groups + [replace(base, **regime) for regime in self.regimes]

    def _runs(self, task_name: str) -> bool:
        """Whether this group of models runs `task_name` (its lengths table names it, or it has
        one list of lengths for every task)."""
        return not isinstance(self.lengths, dict) or task_name in self.lengths

    def _count_of(self, task_name: str) -> int:
        """How many cells `_cells_of` lists for this task, counted without listing them."""
        n_seeds = self.seeds if isinstance(self.seeds, int) else len(set(self.seeds))
        per_length = sum(len(self._forget_biases(m)) for m in dict.fromkeys(self.models))
        return len(set(self.lengths_for(task_name))) * per_length * n_seeds

    def _cells_of(self, task_name: str, task: Any) -> list[SweepCell]:
        for model in self.models:  # refused here, before anything runs, not per cell
            refusal = optimizer_refusal(model, models.get(model), self.optimizer)
            if refusal is not None:
                raise SpecError(refusal)
        for length in self.lengths_for(task_name):
            try:
                task.check_length(length)
            except ValueError as exc:  # the Task contract: ValueError for a bad length
                raise SpecError(f"lengths: {exc}") from None
        budget = self.max_sequences_for(task_name)
        learning_rate = self.learning_rate_for(task_name, task)
        out = []
        for length, model, seed in itertools.product(
            self.lengths_for(task_name), self.models, self.seed_list()
        ):
            for forget_bias in self._forget_biases(model):
                out.append(
                    SweepCell(
                        task=task_name,
                        model=model,
                        length=int(length),
                        seed=int(seed),
                        units=self.units,
                        max_sequences=budget,
                        batch_size=self.batch_size,
                        learning_rate=learning_rate,
                        forget_bias=forget_bias,
                        chunk_size=self.chunk_size,
                        eval_size=self.eval_size,
                        solve_threshold=self.solve_threshold,
                        backend=self.backend or current_backend(),
                        optimizer=self.optimizer,
                        rule=self.rule,
                    )
                )
        return out

    def learning_rate_for(self, task_name: str, task: Any) -> float:
        """The learning rate as a number; "paper" is the task's reference net's rate."""
        if self.learning_rate != PAPER:
            return float(self.learning_rate)
        reference = getattr(task, "reference", None)
        net = getattr(reference, "net", None) or {}
        if "learning_rate" not in net:
            raise SpecError(
                f"learning_rate = {PAPER!r}, but task {task_name!r} carries no paper learning "
                "rate; give a number"
            )
        return float(net["learning_rate"])

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
    else:
        check_backend_env()
    return study


def forget_biases_for(model: str, values: Sequence[float]) -> list[float | None]:
    """The forget-gate biases `model` runs with: `values` (else the default) if it takes one."""
    if not takes_forget_bias(models.get(model)):
        return [None]
    return list(values) or [DEFAULT_FORGET_BIAS]


def takes_forget_bias(factory: Callable[..., Any]) -> bool:
    return "forget_bias" in inspect.signature(factory).parameters


MAX_SPEC_BYTES = 1_000_000  # a study file is a few hundred bytes; the teaching one is 1.5 kB
MAX_SPEC_DEPTH = 4  # a key's value: a table of lists at most (regimes = [{lengths = {t = [..]}}])


def read_spec_text(path: Path) -> str:
    """The text of a study file, or one SpecError: a device, a pipe or a folder is refused
    without reading it (`/dev/zero` would be read until memory ran out), as is a file over
    MAX_SPEC_BYTES or one that is not UTF-8 text."""
    import stat

    try:  # O_NONBLOCK: opening a named pipe must not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise SpecError(f"cannot read spec file {str(path)!r}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SpecError(f"spec {str(path)!r} is not a regular file (a device, a pipe or a "
                            "folder); give a TOML study file such as tasks/smoke.toml")
        try:
            data = f.read(MAX_SPEC_BYTES + 1)
        except OSError as exc:
            raise SpecError(f"cannot read spec file {str(path)!r}: {exc.strerror}") from None
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(f"spec {str(path)!r} is over {MAX_SPEC_BYTES:,} bytes: not a study file "
                        "(a study is a few lines of TOML)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"spec {str(path)!r} is not UTF-8 text (byte {exc.start}); TOML study "
                        "files are UTF-8") from None


def _toml_loads(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(str(exc)) from None


# -- checking one key ---------------------------------------------------------------------------


MAX_SEED = 2**32 - 1  # keras.utils.set_random_seed's bound; a larger seed fails inside a cell


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
            raise bad("a list of names")
        if not v and key == "tasks":  # models = [] is allowed when regimes name the models
            raise bad("a non-empty list of task names")
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
            if any(not 0 <= s <= MAX_SEED for s in seeds):  # NumPy and Keras take 32-bit seeds
                raise bad(f"a count, or a list of integers from 0 to {MAX_SEED} (2**32 - 1)")
            return seeds
        return positive_int(value)
    if key == "max_sequences":
        return per_task(value, positive_int)
    if key in ("units", "batch_size", "chunk_size", "eval_size"):
        return positive_int(value)
    if key == "learning_rate":
        if value == PAPER:
            return value
        if isinstance(value, str):
            raise bad(f'a number in (0, 10], or "{PAPER}" (the task\'s reference rate)')
        return number(value, 0.0, 10.0)
    if key == "optimizer":
        if value not in OPTIMIZERS:
            raise bad(f"one of {', '.join(OPTIMIZERS)}")
        return value
    if key == "rule":
        if value not in RULES:
            raise bad(f"one of {', '.join(RULES)}")
        return value
    if key == "regimes":
        if isinstance(value, Mapping):
            value = [value]
        if not isinstance(value, (list, tuple)) or not value:
            raise bad("a list of tables, each with models and settings")
        regimes = []
        for i, table in enumerate(value):
            here = f"{where}: regimes[{i}]"
            if not isinstance(table, Mapping) or "models" not in table:
                raise SpecError(f"{here} must be a table with a models list")
            unknown = sorted(set(table) - {"models", *REGIME_KEYS})
            if unknown:
                raise SpecError(
                    f"{here}: unknown key {unknown[0]!r}; allowed: models, {', '.join(REGIME_KEYS)}"
                )
            regimes.append({k: _coerce(k, v, here) for k, v in table.items()})
        return tuple(regimes)
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
