"""Which Keras backend the Keras models run on: tensorflow (the default), jax or torch.

Keras fixes its backend when it is first imported, from the KERAS_BACKEND environment variable.
A sweep therefore chooses its backend before any model is built, and worker processes inherit
the choice through the environment. Every row records the backend it ran on.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from rnnbench.errors import UserError

BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT_BACKEND = "tensorflow"


class BackendError(UserError):
    """A backend that is unknown, not installed, or not the one Keras already runs on."""


def current_backend() -> str:
    """The backend Keras runs on, or will when first imported."""
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend"):
        return str(keras.backend.backend())
    return os.environ.get("KERAS_BACKEND", DEFAULT_BACKEND)


def select_backend(name: str) -> str:
    """Make `name` the backend for this process and the workers it starts."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; allowed: {', '.join(BACKENDS)}")
    if "keras" in sys.modules and current_backend() != name:
        raise BackendError(
            f"Keras is already running on {current_backend()!r} in this process, so it cannot "
            f"switch to {name!r}; start a new process (or set KERAS_BACKEND={name} first)"
        )
    if importlib.util.find_spec(name) is None:
        raise BackendError(
            f"backend {name!r} is not installed; install it with: pip install 'rnnbench[{name}]'"
        )
    os.environ["KERAS_BACKEND"] = name
    return name


def check_backend_env() -> None:
    """Refuse, before any cell runs, a KERAS_BACKEND that rnnbench does not run on (every row
    records the backend, and each Keras cell would otherwise be an `error` row)."""
    name = os.environ.get("KERAS_BACKEND", "").strip()
    if name and name not in BACKENDS and "keras" not in sys.modules:
        raise BackendError(
            f"KERAS_BACKEND={name[:40]!r} is not a backend rnnbench runs on; allowed: "
            f"{', '.join(BACKENDS)} (unset it, or choose one with --backend)"
        )
