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

`tasks` defaults to the keys of a `lengths` table, or to every registered built-in task. The keys,
their defaults and checks, and which of them a `[[regimes]]` group may set are the settings table's
(rnnbench.settings); this module turns the checked values into cells.
"""

from __future__ import annotations

import inspect
import itertools
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnbench.backends import check_backend_env, current_backend, select_backend
from rnnbench.models.base import hparam_refusal, per_step_refusal
from rnnbench.registry import BUILTIN_SOURCE, models, tasks
from rnnbench.schema import SweepCell
from rnnbench.settings import (
    BY_KEY,
    CELL_KEYS,
    DEFAULT_FORGET_BIAS,
    PAPER,
    REGIME_KEYS,
    SpecError,
    check,
)

__all__ = ["MAX_CELLS", "PAPER", "REGIME_KEYS", "TEACHING", "SpecError", "StudySpec",
           "forget_biases_for", "resolve_study", "takes_forget_bias"]

# A study of more cells is refused before it is listed: at a second a cell on every core of a big
# machine that is still more than a day, and listing it alone takes memory by the gigabyte.
MAX_CELLS = 100_000
# The cell settings that are not copied as they stand: resolved per task or model in _cells_of.
RESOLVED = ("max_sequences", "learning_rate", "forget_bias", "backend")


# The classroom study that `rnnbench sweep` runs with no spec; tasks/teaching.toml says the same
# (with the reasons) and a test keeps them equal. In code so that an installed package has it.
TEACHING: dict[str, Any] = {
    "name": "teaching",
    "models": ["numpy-rnn", "keras-simplernn", "keras-lstm", "keras-gru"],
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


@dataclass(frozen=True)
class StudySpec:
    """A study: the settings its top level gives and its regimes, each checked by the table.

    A setting not given reads as the table's default: `spec.units`, `spec.lengths`, ... (the
    keys of rnnbench.settings.SETTINGS). A regime is a further group of models with its own
    settings over the top level's (e.g. the 1997 LSTM online with SGD beside the modern models):
    {"models": (...), key: value} with any of REGIME_KEYS.
    """

    given: Mapping[str, Any] = field(default_factory=dict)
    regimes: tuple[Mapping[str, Any], ...] = ()

    def __getattr__(self, key: str) -> Any:
        if key in BY_KEY:  # only called for names that are not attributes of the dataclass
            return self.__dict__.get("given", {}).get(key, BY_KEY[key].default)
        raise AttributeError(key)

    # -- reading ---------------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "spec") -> StudySpec:
        allowed = [*BY_KEY, "regimes"]
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise SpecError(
                f"{where}: unknown key {unknown[0]!r}; allowed keys: {', '.join(allowed)}"
            )
        given = {k: check(k, v, where) for k, v in data.items() if k != "regimes"}
        regimes = _regimes(data["regimes"], where) if "regimes" in data else ()
        return cls(given, regimes)

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
        return cls.from_mapping({"name": path.stem, **data}, where=str(path))

    def with_overrides(self, **overrides: Any) -> StudySpec:
        """This spec with the settings a user gave (None or () means not given).

        Every setting given applies to every group (the top level and each regime), except
        `models`, which chooses the models that run: each with the settings of the group that
        names it, or the top level's if none does; a regime left without models is dropped.
        Lengths given as one list keep each group's tasks (those its lengths table names); a
        chosen task that no group with models has lengths for runs with the top level's.
        """
        unknown = sorted(set(overrides) - set(BY_KEY))
        if unknown:
            raise SpecError(f"unknown option {unknown[0]!r}; allowed: {', '.join(BY_KEY)}")
        given = {k: check(k, v, "option") for k, v in overrides.items()
                 if v is not None and v != ()}
        chosen = given.pop("models", None)
        top = {**self.given, **given}
        regimes = [{k: v for k, v in r.items() if k not in given} for r in self.regimes]
        if chosen is not None:
            in_regimes = {m for r in regimes for m in r["models"]}
            top["models"] = tuple(m for m in chosen if m in self.models or m not in in_regimes)
            regimes = [{**r, "models": tuple(m for m in r["models"] if m in chosen)}
                       for r in regimes]
        lengths = given.get("lengths")
        if isinstance(lengths, list):  # each group keeps its tasks, at these lengths
            top["lengths"] = _each_task(self.lengths, lengths)
            for regime, old in zip(regimes, self.regimes, strict=True):
                if "lengths" in old:
                    regime["lengths"] = _each_task(old["lengths"], lengths)
            groups = StudySpec(top, tuple(r for r in regimes if r["models"])).groups()
            for task in top.get("tasks", ()):  # a chosen task no group runs: the top level's
                if isinstance(top["lengths"], dict) and not any(g._runs(task) for g in groups):
                    top["lengths"] = {**top["lengths"], task: lengths}
        return StudySpec(top, tuple(r for r in regimes if r["models"]))

    # -- expanding -------------------------------------------------------------------------------

    def groups(self) -> list[StudySpec]:
        """One spec per group of models that has any: the top level's, then each regime's."""
        specs = [StudySpec(self.given)] + [StudySpec({**self.given, **r}) for r in self.regimes]
        return [s for s in specs if s.models]

    def task_names(self) -> list[str]:
        if self.tasks:
            return list(self.tasks)
        tables = [g.lengths for g in self.groups()]
        if tables and all(isinstance(t, dict) for t in tables):  # the tasks the tables name
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
            return int(self.max_sequences.get(task, BY_KEY["max_sequences"].default))
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
        groups = self.groups()
        for group in groups:
            for name in group.models:
                models.entry(name)
            for key in ("lengths", "max_sequences"):  # a table may name only registered tasks
                table = getattr(group, key)
                for name in table if isinstance(table, dict) else ():
                    tasks.entry(name)  # raises with the known names
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
            refusal = hparam_refusal(model, models.get(model), self.given) or (
                per_step_refusal(model, models.get(model), task))
            if refusal is not None:
                raise SpecError(refusal)
        for length in self.lengths_for(task_name):
            try:
                task.check_length(length)
            except ValueError as exc:  # the Task contract: ValueError for a bad length
                raise SpecError(f"lengths: {exc}") from None
        settings = {key: getattr(self, key) for key in CELL_KEYS if key not in RESOLVED}
        settings.update(max_sequences=self.max_sequences_for(task_name),
                        learning_rate=self.learning_rate_for(task_name, task),
                        backend=self.backend or current_backend())
        return [
            SweepCell(task=task_name, model=model, length=int(length), seed=int(seed),
                      forget_bias=forget_bias, **settings)
            for length, model, seed in itertools.product(
                self.lengths_for(task_name), self.models, self.seed_list())
            for forget_bias in self._forget_biases(model)
        ]

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


def _each_task(old: Any, lengths: list[int]) -> Any:
    """`lengths` for each task an old lengths table names (or for every task, as a list)."""
    return {task: lengths for task in old} if isinstance(old, dict) else lengths


def _regimes(value: Any, where: str) -> tuple[dict[str, Any], ...]:
    """The [[regimes]] tables, each key checked by the settings table."""
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise SpecError(f"{where}: regimes = {value!r} is not allowed; expected a list of "
                        "tables, each with models and settings")
    regimes = []
    for i, table in enumerate(value):
        here = f"{where}: regimes[{i}]"
        if not isinstance(table, Mapping) or "models" not in table:
            raise SpecError(f"{here} must be a table with a models list")
        unknown = sorted(set(table) - set(REGIME_KEYS))
        if unknown:
            allowed = ", ".join(REGIME_KEYS)
            raise SpecError(f"{here}: unknown key {unknown[0]!r}; allowed: {allowed}")
        regimes.append({k: check(k, v, here) for k, v in table.items()})
    return tuple(regimes)


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
    """The forget-gate biases `model` runs with: `values` (else its own default) if it takes one.

    Its own default is its factory's (keras-lstm's 1, keras-gru's 0: each as Keras starts it), so
    a row records the bias the model ran with.
    """
    factory = models.get(model)
    if not takes_forget_bias(factory):
        return [None]
    default = inspect.signature(factory).parameters["forget_bias"].default
    if not isinstance(default, (int, float)) or isinstance(default, bool):
        default = DEFAULT_FORGET_BIAS  # a plugin's factory with no numeric default
    return list(values) or [float(default)]


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
