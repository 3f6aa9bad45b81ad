"""Shared test set-up: only built-ins and what a test registers itself; small, quiet TensorFlow."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

# Set before rnnbench loads anything: installed third-party plugins stay out of the tests.
os.environ["RNNBENCH_NO_PLUGINS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# `rnnbench sweep` runs cells in this process unless a test asks for workers (-j / workers=):
# starting TensorFlow in two fresh processes costs more than a smoke study's cells.
os.environ.setdefault("RNNBENCH_WORKERS", "1")
# ... and in this process (--in-process), not in one worker of its own as a user's would.
os.environ.setdefault("RNNBENCH_IN_PROCESS", "1")

REPO = Path(__file__).resolve().parent.parent
SMOKE_SPEC = REPO / "tasks" / "smoke.toml"
# A study of two numpy-rnn cells on adding at length 4 that trains in a blink (the fault tests'
# `spec` fixture): chunks of 64 sequences, 32 held out.
TINY_SPEC = """name = "tiny"
models = ["numpy-rnn"]
seeds = 2
max_sequences = 128
chunk_size = 64
eval_size = 32
lengths = {adding = [4]}
"""


@pytest.fixture
def registered():
    """Register things for one test and remove them afterwards: `registered(registry, name)`."""
    from rnnbench import registry

    names: list[tuple[registry.Registry, str]] = []

    def remember(reg: registry.Registry, name: str) -> None:
        names.append((reg, name))

    yield remember
    for reg, name in names:
        reg.unregister(name)


@pytest.fixture
def worker_models():
    """Register the misbehaving models of tests/worker_models.py; the workers import it too."""
    import worker_models as module

    yield module
    from rnnbench.registry import models

    for name in module.NAMES:
        models.unregister(name)
    sys.modules.pop("worker_models", None)


class Opaque:
    """A plugin model that trains itself and exposes no gradients with respect to its states."""

    num_params = 1

    def train(self, x, y):
        return 0.5

    def predict(self, x):
        return np.zeros(len(x), np.float32)


@pytest.fixture(autouse=True)
def _no_traced_model_reuse_between_tests():
    """A test that runs cells the way a worker does turns reuse on; the next test starts without."""
    yield
    keras_models = sys.modules.get("rnnbench.models.keras_models")
    if keras_models is not None:
        keras_models.reuse_traced_models(False)


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    """The tiny study (TINY_SPEC) as a file, for tests of what a sweep does with it."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SPEC)
    return path
