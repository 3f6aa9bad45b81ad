"""Keep TensorFlow's native start-up lines off the terminal: they go to a log file instead.

TensorFlow's C++ code writes its start-up lines straight to file descriptor 2 before Python's
logging is configured, so neither `TF_CPP_MIN_LOG_LEVEL` nor the `logging` module stops them.
Measured on TensorFlow 2.21 (2 CPU cores, no GPU), a process that imports Keras prints:

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 ... port.cc:153] oneDNN custom operations are on. ...        (twice each: two .so files)
    I0000 ... cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
    E0000 ... cuda_platform.cc:52] failed call to cuInit: ... CUDA error ...

the first six during `import keras`, the cuInit line at the first device use (building a model).
`import_framework` therefore points fd 2 at the log file (os.dup2) while it imports Keras and
the backend and lists the devices, then points it back: nothing after start-up is hidden.

The log file is `RNNBENCH_NATIVE_LOG` (a sweep sets `<out>.log` beside its CSV; spawned workers
inherit it), else `rnnbench-native.log` in the temporary folder. `RNNBENCH_VERBOSE=1` (the CLI's
`--verbose`) leaves stderr alone. This module imports nothing of rnnbench: any layer may use it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LOG_ENV = "RNNBENCH_NATIVE_LOG"
VERBOSE_ENV = "RNNBENCH_VERBOSE"


def set_native_log(path: str | Path) -> Path:
    """Send native start-up lines of this process and the workers it starts to `path`."""
    resolved = Path(path).resolve()
    os.environ[LOG_ENV] = str(resolved)
    return resolved


def set_verbose(verbose: bool) -> None:
    """Show native start-up lines (True) or send them to the log file (False)."""
    if verbose:
        os.environ[VERBOSE_ENV] = "1"
    else:
        os.environ.pop(VERBOSE_ENV, None)


def quiet_native(log: str | Path, show: bool = False) -> None:
    """The set-up of a sweep: native start-up lines to `log`, or on the terminal if `show` (or
    if the user's own RNNBENCH_VERBOSE=1 says so: not showing is the default, not an order)."""
    set_native_log(log)
    if show:
        set_verbose(True)


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def native_log_path() -> Path:
    """Where native start-up lines go."""
    configured = os.environ.get(LOG_ENV)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "rnnbench-native.log"


@contextlib.contextmanager
def native_stderr_to_log() -> Iterator[None]:
    """Point file descriptor 2 at the log file for the duration (unless verbose)."""
    if verbose():
        yield
        return
    try:
        path = native_log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:  # no log file to be had: better a noisy terminal than a failed sweep
        yield
        return
    _flush_stderr()
    try:
        saved = os.dup(2)
    except OSError:  # fd 2 closed: nothing would reach a terminal anyway
        os.close(log_fd)
        yield
        return
    os.dup2(log_fd, 2)
    os.close(log_fd)
    try:
        yield
    finally:
        _flush_stderr()
        os.dup2(saved, 2)
        os.close(saved)


def _flush_stderr() -> None:
    with contextlib.suppress(Exception):
        sys.stderr.flush()


def import_framework() -> Any:
    """Import Keras (and initialise its backend's devices) with native start-up lines logged.

    Returns the keras module. Cheap once Keras is loaded.
    """
    if "keras" in sys.modules and getattr(sys.modules["keras"], "backend", None) is not None:
        return sys.modules["keras"]
    with native_stderr_to_log():
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices()  # the cuInit probe: its error line lands here
    return keras
