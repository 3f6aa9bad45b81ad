"""Check what tasks and models hand the harness against their contracts (see docs/design.md).

A task's `generate(n, length, rng)` must give `x` float (n, steps, input_dim) and `y`: for a task
scored at the last step (n,), float for regression, integer class labels in [0, output_dim) for
classification; for one scored at every step (`steps_scored = "every"`) float (n, steps) for
regression or non-negative float (n, steps, output_dim) for classification; all finite. A model's
`predict(x)` must give finite floats shaped (n,) or (n, 1) for regression and (n, output_dim) for
classification, or per step (n, steps), (n, steps, 1) and (n, steps, output_dim). Anything else
(None, a list of strings, NaN, the wrong shape or dtype) raises `ContractError`, whose one-line
message names what was wrong; the harness records it as the cell's `error` row, never as an `ok`
row at chance accuracy.

Layer 3 (beside the harness): imports only numpy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


class ContractError(Exception):
    """A task or model returned something its contract does not allow (a bug in it, not in the
    user's request: recorded in the cell's row)."""


def _describe(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


def _as_array(value: Any, what: str) -> np.ndarray:
    """`value` as a NumPy array of real numbers, or ContractError naming what it was."""
    if value is None:
        raise ContractError(f"{what} is None")
    try:
        array = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - ragged lists, objects that refuse conversion
        raise ContractError(f"{what} is {_describe(value)}, not an array ({exc})") from None
    if array.dtype.kind not in REAL_KINDS:  # timedelta64 counts as a NumPy integer: not here
        raise ContractError(f"{what} has dtype {array.dtype}; expected real numbers")
    return array


# NumPy dtype kinds of real numbers: bool, signed and unsigned integers, floats. Not complex
# ("c"), timedelta ("m"), datetime ("M"), strings, bytes or objects.
REAL_KINDS = frozenset("biuf")


def _real(value: Any, what: str) -> float:
    """`value` as a float when it is one real number (a Python or NumPy int, float or bool, or
    a one-element array of one); a str such as "0.5", a timedelta or a complex is not."""
    if isinstance(value, (str, bytes)):
        raise ContractError(f"{what} is {_describe(value)}, not a number")
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - objects that refuse conversion
        array = np.asarray(None)
    if array.dtype.kind not in REAL_KINDS or array.size != 1:
        raise ContractError(f"{what} is {_describe(value)}, not a number")
    return float(array.reshape(()))


def _count_bad(array: np.ndarray, what: str) -> None:
    if np.issubdtype(array.dtype, np.floating):
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        if bad:
            raise ContractError(f"{what} holds {bad} non-finite value(s) (NaN or inf) "
                                f"of {array.size}")


def check_task_output(task: Any, output: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """`task.generate(n, ...)`'s (x, y) as arrays, or ContractError saying what is wrong."""
    name = getattr(task, "name", "") or type(task).__name__
    if not isinstance(output, (tuple, list)) or len(output) != 2:
        raise ContractError(
            f"task {name!r}: generate returned {_describe(output)}; expected a pair (x, y)")
    x, y = output
    x = _as_array(x, f"task {name!r}: generate's x")
    y = _as_array(y, f"task {name!r}: generate's y")
    input_dim = getattr(task, "input_dim", None)
    if x.ndim != 3 or x.shape[0] != n or x.shape[1] < 1 or (
        isinstance(input_dim, int) and x.shape[2] != input_dim
    ):
        raise ContractError(
            f"task {name!r}: generate's x has shape {x.shape}; expected ({n}, steps, {input_dim})"
        )
    if not np.issubdtype(x.dtype, np.floating):
        raise ContractError(f"task {name!r}: generate's x has dtype {x.dtype}; expected float32")
    _count_bad(x, f"task {name!r}: generate's x")
    if getattr(task, "steps_scored", "last") == "every":
        return x, _per_step_targets(task, name, y, x.shape)
    if y.shape != (n,):
        raise ContractError(f"task {name!r}: generate's y has shape {y.shape}; expected ({n},)")
    if getattr(task, "kind", "regression") == "classification":
        if np.issubdtype(y.dtype, np.floating):
            _count_bad(y, f"task {name!r}: generate's y")
            if not np.all(y == np.round(y)):
                raise ContractError(
                    f"task {name!r}: generate's y holds non-integer class labels")
        k = getattr(task, "output_dim", None)
        if isinstance(k, int) and y.size and (y.min() < 0 or y.max() >= k):
            raise ContractError(
                f"task {name!r}: generate's y holds labels outside [0, {k}): "
                f"{y.min():g}..{y.max():g}"
            )
    else:
        if not np.issubdtype(y.dtype, np.floating):
            raise ContractError(
                f"task {name!r}: generate's y has dtype {y.dtype}; a regression target is float")
        _count_bad(y, f"task {name!r}: generate's y")
    return x, y


def _per_step_targets(task: Any, name: str, y: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
    """A per-step task's y: (n, steps) values, or (n, steps, K) non-negative target rows."""
    n, steps = x_shape[0], x_shape[1]
    classification = getattr(task, "kind", "regression") == "classification"
    k = getattr(task, "output_dim", None)
    ndim, expected = (3, f"({n}, {steps}, {k})") if classification else (2, f"({n}, {steps})")
    if y.ndim != ndim or y.shape[:2] != (n, steps) or (
        classification and isinstance(k, int) and y.shape[2] != k
    ):
        raise ContractError(f"task {name!r}: generate's y has shape {y.shape}; a task scored "
                            f"at every step gives {expected}")
    if not np.issubdtype(y.dtype, np.floating):
        raise ContractError(f"task {name!r}: generate's y has dtype {y.dtype}; expected float32")
    _count_bad(y, f"task {name!r}: generate's y")
    if classification and y.size and y.min() < 0:
        raise ContractError(f"task {name!r}: generate's y holds negative targets ({y.min():g})")
    return y


def check_mask(task: Any, mask: Any, y: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
    """`task.score_mask(x, y)` as bool (n, steps), or ContractError.

    For a classifier scored at every step, each scored step's target row must have a positive
    sum (cross-entropy trains against the row normalised to 1).
    """
    name = getattr(task, "name", "") or type(task).__name__
    array = _as_array(mask, f"task {name!r}: score_mask")
    if array.shape != tuple(x_shape[:2]):
        raise ContractError(f"task {name!r}: score_mask has shape {array.shape}; expected "
                            f"{tuple(x_shape[:2])}")
    array = array.astype(bool)
    if getattr(task, "kind", "") == "classification" and y.ndim == 3:
        empty = int(np.count_nonzero(array & ~(y.sum(axis=2) > 0)))
        if empty:
            raise ContractError(f"task {name!r}: {empty} scored step(s) have an all-zero target "
                                "row; a scored row needs at least one positive target")
    return array


def check_predictions(task: Any, y_pred: Any, n: int, model: str = "") -> np.ndarray:
    """`model.predict` output for `n` sequences as an array, or ContractError naming the fault."""
    who = f"model {model!r}: predict" if model else "predict"
    array = _as_array(y_pred, f"{who} output")
    if getattr(task, "steps_scored", "last") == "every":
        k = getattr(task, "output_dim", None)
        if getattr(task, "kind", "regression") == "classification":
            expected = f"({n}, steps, {k})"
            ok = array.ndim == 3 and array.shape[0] == n and (
                not isinstance(k, int) or array.shape[2] == k)
        else:
            expected = f"({n}, steps) or ({n}, steps, 1)"
            ok = array.shape[:1] == (n,) and (
                array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 1))
    elif getattr(task, "kind", "regression") == "classification":
        k = getattr(task, "output_dim", None)
        expected = f"({n}, {k})"
        ok = array.ndim == 2 and array.shape[0] == n and (
            not isinstance(k, int) or array.shape[1] == k)
    else:
        expected = f"({n},) or ({n}, 1)"
        ok = array.shape in ((n,), (n, 1))
    if not ok:
        raise ContractError(f"{who} returned shape {array.shape} for {n} sequences; "
                            f"expected {expected}")
    _count_bad(array, f"{who} output")
    return array


def check_score(value: Any, what: str) -> float:
    """A fraction in [0, 1] (accuracy, chance accuracy), or ContractError."""
    number = _real(value, what)
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise ContractError(f"{what} is {number!r}; expected a fraction in [0, 1]")
    return number


def check_loss(value: Any, what: str = "train") -> float:
    """The loss `model.train` returned as a float (NaN/inf allowed: that is divergence)."""
    return _real(value, f"{what} returned a loss that")
