"""Models declare what the machinery needs (ModelTraits): nothing recognises a model by name.

A model registered under a new name with a built-in's traits is priced, sized and paired exactly
as that built-in; a model that declares nothing is priced and sized as the dearest built-in (never
as a cheap one) and `rnnbench list` marks it.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from rnnbench.cli import main
from rnnbench.cost import CostModel
from rnnbench.diagnostics import twin_pairs
from rnnbench.memory import estimate
from rnnbench.models import builtin
from rnnbench.models.base import (
    DEFAULT_COST_WEIGHT,
    DEFAULT_PROCESS_BYTES,
    ModelTraits,
    register_model,
    traits_of,
)
from rnnbench.registry import models
from rnnbench.schema import SweepCell


@pytest.fixture
def renamed():
    """numpy-rnn's factory under a name no rule could recognise, with and without its traits."""
    declared = register_model("zz-declared", traits=builtin.NUMPY_RNN)(
        lambda task, units, seed, **hp: builtin.numpy_rnn(task, units, seed, **hp))
    bare = register_model("zz-bare")(
        lambda task, units, seed, **hp: builtin.numpy_rnn(task, units, seed, **hp))
    yield declared, bare
    models.unregister("zz-declared")
    models.unregister("zz-bare")


def cell(model: str, length: int = 100) -> SweepCell:
    return SweepCell(task="delayed-recall", model=model, length=length, seed=0)


def test_the_cost_prior_and_memory_follow_the_traits_not_the_name(renamed):
    cost = CostModel()
    assert cost.estimate(cell("zz-declared")) == cost.estimate(cell("numpy-rnn"))
    assert estimate(cell("zz-declared")) == estimate(cell("numpy-rnn"))
    # undeclared: the dearest built-in's step cost and a TensorFlow process, not numpy-rnn's
    assert cost.weight("zz-bare") == DEFAULT_COST_WEIGHT == cost.weight("keras-lstm")
    assert cost.estimate(cell("zz-bare")) > 4 * cost.estimate(cell("numpy-rnn"))
    assert estimate(cell("zz-bare")) >= estimate(cell("keras-lstm"))
    assert estimate(cell("zz-bare")) - estimate(cell("numpy-rnn")) > (
        DEFAULT_PROCESS_BYTES - builtin.NUMPY_PROCESS) * 0.99


def test_every_built_in_declares_its_sizes_and_the_twins_come_from_the_traits(renamed):
    for name in ("numpy-rnn", "numpy-lstm", "numpy-lstm1997", "keras-simplernn", "keras-lstm"):
        assert traits_of(models.get(name)).defaults_used() == [], name
    assert traits_of(models.get("zz-bare")) == ModelTraits()
    pairs = twin_pairs()
    assert ("numpy-rnn", "keras-simplernn") in pairs and ("numpy-lstm", "keras-lstm") in pairs
    assert all(models.get(twin) is not None for twin, _ in pairs)


def test_list_marks_a_model_sized_by_default(renamed):
    out = CliRunner().invoke(main, ["list"]).output
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert lines["zz-bare"].endswith(" *") and not lines["zz-declared"].endswith(" *")
    assert not lines["numpy-rnn"].endswith(" *")
    assert "priced and sized as a Keras LSTM" in out
