"""numpy-indrnn, numpy-exprnn and numpy-mingru declare enough memory: the (B, T, H) arrays they
say they hold (ModelTraits.state_arrays) cover tracemalloc's peak of a training step and of a
prediction, and nothing about them is left to the machinery's defaults."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from rnnbench.models.base import traits_of
from rnnbench.registry import models, tasks

NEW_CELLS = ["numpy-indrnn", "numpy-exprnn", "numpy-mingru"]


@pytest.mark.parametrize("name", NEW_CELLS)
def test_declared_state_arrays_cover_the_measured_peak(name):
    traits = traits_of(models.get(name))
    assert traits.defaults_used() == []
    B, T, H = 64, 100, 32
    task = tasks.get("delayed-recall")()
    x, y = task.generate(4 * B, T, np.random.default_rng(0))
    model = models.get(name)(task, H, 0)
    import scipy.linalg  # noqa: F401 - imported once per process: process_bytes, not states

    peaks = []
    for run in (lambda: model.train(x[:B], y[:B]), lambda: model.predict(x)):
        tracemalloc.start()
        run()
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # the first training step allocates the work arrays too; the prediction is of 4 batches
    measured = max(peaks) / (B * T * H * 4)
    assert measured <= traits.state_arrays_or_default, (name, measured)
