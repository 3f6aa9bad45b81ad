"""Check the Python API's arguments (rnnbench.sweep, rnnbench.report) before any cell runs.

The command line has click to refuse `--workers abc`; a notebook calling `rnnbench.sweep(
workers="2")` has only this. Every refusal names the argument, the value given and what is
allowed: `ArgumentTypeError` (a TypeError, and a UserError so the CLI's one-line handling holds)
for a value of the wrong type, `ArgumentValueError` for a value of the right type out of range.
The study's own keys (tasks, models, lengths, seeds, ...) are checked where the study is built
(rnnbench.study), with the same naming.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from rnnbench.errors import UserError

WORKERS_ENV = "RNNBENCH_WORKERS"


class ArgumentTypeError(UserError, TypeError):
    """An API argument of the wrong type; the message names it and what is allowed."""


class ArgumentValueError(UserError):
    """An API argument of the right type but a value that is not allowed."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_path(name: str, value: Any, required: bool = False) -> None:
    """A file path: str or os.PathLike, not empty (None allowed unless `required`)."""
    if value is None and not required:
        return
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)):
        allowed = "a path (str or pathlib.Path)" + ("" if required else " or None")
        raise ArgumentTypeError(f"{name} = {_shown(value)}: expected {allowed}")
    if not os.fspath(value).strip():
        raise ArgumentValueError(f"{name} = {_shown(value)}: the path is empty; give a file "
                                 "name such as results/sweep.csv")


def check_flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ArgumentTypeError(f"{name} = {_shown(value)}: expected True or False")


def check_optional_flag(name: str, value: Any) -> None:
    if value is not None:
        check_flag(name, value)


def check_count(name: str, value: Any) -> int:
    """A positive int (not a bool, not a str such as '2')."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(f"{name} = {_shown(value)}: expected a positive int, e.g. 2")
    if value < 1:
        raise ArgumentValueError(f"{name} = {value!r}: expected a positive int, e.g. 2")
    return value


def check_seconds(name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgumentTypeError(f"{name} = {_shown(value)}: expected a number of seconds or None")
    if not (math.isfinite(value) and value > 0):
        raise ArgumentValueError(f"{name} = {value!r}: expected a positive, finite number of "
                                 "seconds")


def check_optional_text(name: str, value: Any, example: str) -> None:
    if value is not None and not isinstance(value, str):
        raise ArgumentTypeError(f"{name} = {_shown(value)}: expected a str such as {example!r} "
                                "or None")


def workers_from_env() -> int | None:
    """RNNBENCH_WORKERS as a positive int, None when unset or empty."""
    text = os.environ.get(WORKERS_ENV, "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ArgumentValueError(f"{WORKERS_ENV}={text[:40]!r}: expected a positive integer "
                                 "(worker processes), e.g. 2")
    return value


def check_sweep_arguments(arguments: Mapping[str, Any]) -> None:
    """The arguments of rnnbench.sweep that the study does not check, by name."""
    check_path("out", arguments.get("out"))
    check_path("spec", arguments.get("spec"))
    check_optional_flag("progress", arguments.get("progress"))
    if arguments.get("workers") is not None:
        check_count("workers", arguments["workers"])
    check_seconds("cell_timeout", arguments.get("cell_timeout"))
    check_optional_text("scheduler", arguments.get("scheduler"), "tcp://127.0.0.1:8786")
    check_optional_text("memory_limit", arguments.get("memory_limit"), "8GB")
    for flag in ("retry_failed", "verbose", "in_process", "wait"):
        if flag in arguments:
            check_flag(flag, arguments[flag])


def check_results_argument(results: Any) -> None:
    """rnnbench.report's `results`: a DataFrame (what sweep returned) or a CSV's path."""
    if isinstance(results, (str, os.PathLike)) and not isinstance(results, bool):
        check_path("results", results, required=True)
        return
    if type(results).__name__ == "DataFrame" and hasattr(results, "columns"):
        return
    raise ArgumentTypeError(f"results = {_shown(results)}: expected the pandas DataFrame "
                            "rnnbench.sweep returned, or a results CSV's path")
