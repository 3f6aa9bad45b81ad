"""Memory is bounded before it is spent: a cell's peak estimated from its config, and a limit.

`estimate(cell)` adds up what a cell holds at its peak, from its config alone (nothing is built):

    held-out set       eval_size x steps x input_dim floats, x3 (the task's temporaries, the
                       copy a model predicts on), and targets, outputs and probabilities (x3):
                       output_dim floats a sequence, or steps x output_dim for a task scored at
                       every step
    training chunk     chunk_size x steps x input_dim floats, plus the task's temporaries
    gradient batch     the GRAD_RATIO_BATCH (32) sequences behind `grad_ratio_init`, as a chunk
    states             (batch_size + GRAD_RATIO_BATCH) x steps x units floats, times the (B, T, H)
                       arrays the model declares it holds (`ModelTraits.state_arrays`): the
                       gradient batch's states stay in a NumPy model's work-array cache while
                       the training batches' are made, so both count, whatever the batch size
    parameters         ~4 x units x (units + input_dim + 1) weights, x4 (weights, grads, Adam m, v)
                       (a model that declares `ModelTraits.memory_bytes` gives its own arrays,
                       states and parameters, from the cell's MemoryShape instead)
    the process        what the model declares (`ModelTraits.process_bytes`): ~0.15 GB for a
                       NumPy model, ~1.2 GB with TensorFlow

with steps = length + 2 (the built-in tasks use length or length + 2 steps; a task scored at every
step counts them on one sequence it draws: copy memory has length + 20). A model that declares
nothing is sized as the dearest built-in (models.base.DEFAULT_STATE_ARRAYS, DEFAULT_PROCESS_BYTES).
It is meant to be an upper bound: tests/test_memory_bound.py measures the peak RSS of child
processes running cells (batch 1 to 64, every built-in model, lengths that make the states
dominate) and checks the estimate is above it; tests/test_faults.py checks it stays within 4x of
tracemalloc's measured peak of a NumPy cell's arrays.

`check_cells` refuses, with one line naming the estimate and the limit, a study whose largest cell
times the cells running at once exceeds the limit: by default half this machine's memory
(`--memory-limit 8GB` or `60%` to change it, `none` for no limit). Layer 3, beside the harness.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnbench.errors import UserError
from rnnbench.harness import GRAD_RATIO_BATCH
from rnnbench.models.base import MemoryShape, ModelTraits, traits_of
from rnnbench.registry import models, tasks
from rnnbench.schema import SweepCell

FLOAT = 4  # bytes of a float32
DEFAULT_FRACTION = 0.5  # of this machine's memory, the default limit for a sweep
NUMPY_PROCESS = 150 * 2**20  # the process of a NumPy model (tests read it as the allowance)
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


class MemoryLimitError(UserError):
    """A cell (or a grid of cells running at once) estimated above the memory limit."""


def machine_memory() -> int:
    """This machine's physical memory in bytes."""
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except ImportError:  # pragma: no cover - psutil is a dependency; sysconf is the fallback
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 / 10 else f"{n / 2**20:.0f} MB"


@dataclass(frozen=True)
class Limit:
    bytes: float  # math.inf: no limit
    said: str  # how it was set, for messages

    @classmethod
    def parse(cls, text: str | None) -> Limit:
        """'8GB', '512M', '1.5T', '60%' (of this machine's memory), 'none'; None: the default."""
        total = machine_memory()
        if text is None:
            return cls(total * DEFAULT_FRACTION,
                       f"{DEFAULT_FRACTION:.0%} of this machine's {gb(total)}; --memory-limit")
        raw = str(text).strip()
        if raw.lower() in ("none", "off", "unlimited"):
            return cls(math.inf, "none")
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(%|[KMGT]?)(?:i?B)?", raw, re.IGNORECASE)
        if match is None:
            raise MemoryLimitError(
                f"--memory-limit {raw!r} is not a size; expected e.g. 8GB, 512MB, 60% (of this "
                "machine's memory) or none"
            )
        number, unit = float(match.group(1)), match.group(2).upper()
        if unit == "%":
            if not 0 < number <= 100:
                raise MemoryLimitError(f"--memory-limit {raw!r}: a percentage in (0, 100]")
            return cls(total * number / 100, f"{raw} of this machine's {gb(total)}")
        value = number * _UNITS[unit]
        if not value >= 2**20:
            raise MemoryLimitError(f"--memory-limit {raw!r} is below 1 MB; give e.g. 8GB")
        return cls(value, f"--memory-limit {raw}")


def _traits(model: str) -> ModelTraits:
    """A registered model's declared traits; the defaults (the dearest sizes) for an unknown."""
    try:
        return traits_of(models.get(model))
    except UserError:
        return ModelTraits()


def _instance(task: Any) -> Any:
    try:
        return task()
    except Exception:  # noqa: BLE001 - a task that cannot be built is sized without it
        return None


def _paper_rule(task: Any, cell: SweepCell) -> Any:
    if cell.rule != "task":
        return None
    try:
        return task().solve_rule(int(cell.length))
    except Exception:  # noqa: BLE001 - a task that cannot say is estimated as held-out
        return None


def _steps(task: Any, cell: SweepCell) -> int:
    """How many steps one sequence of the cell's length has (one drawn to see), or 0."""
    try:
        x, _ = task().generate(1, int(cell.length), np.random.default_rng(0))
        return int(np.shape(x)[1])
    except Exception:  # noqa: BLE001 - a task that cannot say is estimated from its length
        return 0


def estimate_parts(cell: SweepCell, batch: int | None = None) -> dict[str, float]:
    """The cell's peak bytes by part (see the module docstring); `batch` overrides batch_size."""
    task = tasks.get(cell.task)
    D = max(int(getattr(task, "input_dim", 1) or 1), 1)
    O = max(int(getattr(task, "output_dim", 1) or 1), 1)  # noqa: E741 - the read-out width
    T = int(cell.length) + 2
    if getattr(task, "variable_length", False):  # the 1997 tasks: up to T + T/10 (2c: q + k +
        T = int(cell.length * 1.1) + 100  # 3, k geometric with mean 9): padded to the longest
    per_step = getattr(task, "steps_scored", "last") == "every"
    if per_step:  # the task's own step count, counted on one sequence (copy memory: T + 20)
        T = max(T, _steps(task, cell))
    H, B = int(cell.units), int(batch or cell.batch_size)
    E, C = int(cell.eval_size), int(cell.chunk_size)
    rule = _paper_rule(task, cell)
    if rule is not None:  # a paper's test set replaces the held-out set (10,000 for Exp. 2)
        E = max(E, int(rule.test_size))
    traits = _traits(cell.model)
    G = GRAD_RATIO_BATCH
    # floats of one sequence's targets, and of a model's outputs for it: one per step for a task
    # scored at every step (issue 16's `steps_scored = "every"`), else one
    Y = T * O if per_step else O
    data = {
        "held-out set": E * T * (3 * D + 2) * FLOAT + 3 * E * Y * FLOAT,
        "training chunk": C * T * (D + 2) * FLOAT + 3 * C * Y * FLOAT,
        "gradient batch": G * T * (3 * D + 2) * FLOAT + 3 * G * Y * FLOAT,
    }
    if traits.memory_bytes is not None:
        shape = MemoryShape(task=_instance(task), steps=T, units=H, batch=B, gradient_batch=G,
                            predict=E)
        own = {"the model's arrays": float(traits.memory_bytes(shape))}
    else:
        params = 4 * H * (H + D + 1) + H * O + O
        own = {
            "states kept for BPTT": traits.state_arrays_or_default * (B + G) * T * H * FLOAT,
            "prediction states": 3 * E * H * FLOAT,
            "parameters": 4 * params * FLOAT,
        }
    return {**data, **own, "process": traits.process_bytes_or_default}


def estimate(cell: SweepCell, batch: int | None = None) -> float:
    """Estimated peak bytes of one cell (a little above the truth on purpose)."""
    return float(sum(estimate_parts(cell, batch).values()))


def describe(cell: SweepCell) -> str:
    fb = f" forget_bias={cell.forget_bias:g}" if cell.forget_bias is not None else ""
    return f"{cell.task} length={cell.length} {cell.model}{fb} units={cell.units}"


def check_cells(
    cells: Sequence[SweepCell], limit: Limit | None = None, at_once: int = 1,
    batch: int | None = None,
) -> None:
    """Refuse (MemoryLimitError, one line) when the largest cell x `at_once` exceeds `limit`."""
    limit = limit if limit is not None else Limit.parse(None)
    if not cells or math.isinf(limit.bytes):
        return
    seen: dict[Any, tuple[float, SweepCell]] = {}
    for cell in cells:
        key = (cell.task, cell.model, cell.length, cell.units, cell.batch_size, cell.chunk_size,
               cell.eval_size)
        if key not in seen:
            seen[key] = (estimate(cell, batch), cell)
    peak, worst = max(seen.values(), key=lambda pair: pair[0])
    n = max(1, min(at_once, len(cells)))
    need = peak * n
    if need > limit.bytes:
        parts = estimate_parts(worst, batch)
        biggest = max(parts, key=lambda k: parts[k])
        times = f" x {n} running at once = {gb(need)}" if n > 1 else ""
        raise MemoryLimitError(
            f"cell {describe(worst)}: estimated peak {gb(peak)} ({biggest} {gb(parts[biggest])})"
            f"{times}, over the memory limit of {gb(limit.bytes)} ({limit.said}); lower the "
            "length, units, eval_size, chunk_size or batch_size, run fewer workers, or raise "
            "--memory-limit"
        )
