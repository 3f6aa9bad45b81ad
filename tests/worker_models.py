"""Models that misbehave on purpose, for the executor tests (imported by the worker processes too).

Importing this module registers them; the `worker_models` fixture in test_workers.py removes them
again. Each wraps the NumPy RNN and misbehaves only for seed 1, so a sweep mixes good and bad cells.
"""

from __future__ import annotations

import os
import signal
import time

import rnnbench
from rnnbench.registry import models, register_model

BAD_SEED = 1
NAMES = ("test-crash", "test-sleep", "test-whoami", "test-block")
# A folder where test-block's cells say they started (a file per cell): signal tests wait for
# that event, not for a time, so a loaded machine cannot make them send the signal too early
# (nothing running yet) or too late (every cell done).
STARTED_ENV = "RNNBENCH_TEST_STARTED_DIR"


class _Wrapped:
    def __init__(self, inner, seed: int, misbehave) -> None:
        self.inner, self.seed, self.misbehave = inner, seed, misbehave
        self.num_params = inner.num_params

    def train(self, x, y):
        if self.seed == BAD_SEED:
            self.misbehave()
        return self.inner.train(x, y)

    def predict(self, x):
        return self.inner.predict(x)


def _wrap(misbehave):
    def factory(task, units, seed, **hparams):
        return _Wrapped(models.get("numpy-rnn")(task, units, seed, **hparams), seed, misbehave)

    return factory


def _crash() -> None:
    os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer would


def _sleep() -> None:
    time.sleep(120)


def _block() -> None:
    """Say this cell started, then stay running (in small sleeps: a signal ends it at once)."""
    from pathlib import Path

    folder = os.environ.get(STARTED_ENV)
    if folder:
        Path(folder, f"started-{os.getpid()}-{time.monotonic_ns()}").touch()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        time.sleep(0.05)


def started(folder) -> int:
    """How many test-block cells have started (their marker files in `folder`)."""
    from pathlib import Path

    return len(list(Path(folder).glob("started-*")))


def _whoami() -> None:
    raise RuntimeError(f"pid={os.getpid()} rnnbench={rnnbench.__file__}")


register_model("test-crash")(_wrap(_crash))
register_model("test-sleep")(_wrap(_sleep))
register_model("test-whoami")(_wrap(_whoami))
register_model("test-block")(_wrap(_block))
