"""Registries and plugins: built-ins through the same path, failing plugins, duplicates, cells."""

from __future__ import annotations

import importlib.metadata
import sys
import textwrap

import numpy as np
import pytest

import rnnbench
from rnnbench import registry
from rnnbench.registry import RegistryError, models, tasks

GROUP = registry.ENTRY_POINT_GROUP


@pytest.fixture
def plugin_env(tmp_path, monkeypatch):
    """Write plugin modules into a temporary folder and fake their entry points."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(registry.NO_PLUGINS_ENV, raising=False)
    fake: list[importlib.metadata.EntryPoint] = []
    monkeypatch.setattr(registry, "_installed_entry_points", lambda: list(fake))
    written: list[str] = []

    def add(name: str, module: str, source: str) -> None:
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        fake.append(importlib.metadata.EntryPoint(name, module, GROUP))
        written.append(module)

    yield add
    for module in written:
        sys.modules.pop(module, None)
    for reg in (tasks, models):
        for entry in reg.items():
            if entry.source not in (registry.BUILTIN_SOURCE,) and entry.obj.__module__ in written:
                reg.unregister(entry.name)


GOOD_PLUGIN = """
    import numpy as np
    import rnnbench

    @rnnbench.register_task("copy-last")
    class CopyLast(rnnbench.Task):
        kind = "regression"
        input_dim = 1
        output_dim = 1
        description = "repeat the last value"

        def generate(self, n, length, rng):
            x = rng.random((n, length, 1), dtype=np.float32)
            return x, x[:, -1, 0].copy()

        def chance_accuracy(self, length):
            return 0.08
"""


def test_plugins_load_and_a_broken_one_is_reported_by_name(plugin_env):
    plugin_env("good", "rnnbench_test_good_plugin", GOOD_PLUGIN)
    plugin_env("broken", "rnnbench_test_broken_plugin", "raise ImportError('no such thing')\n")
    with pytest.warns(RuntimeWarning, match="'broken'.*ImportError: no such thing"):
        failed = registry.load_plugins(force=True)
    assert failed == ["broken"]
    assert "copy-last" in tasks.names()
    # a fake entry point has no distribution: it is attributed to the entry point's name
    assert tasks.entry("copy-last").source == "good"
    assert tasks.entry("adding").source == "built-in"


def test_no_plugins_env_loads_only_builtins(plugin_env, monkeypatch):
    plugin_env("good", "rnnbench_test_good_plugin2", GOOD_PLUGIN.replace("copy-last", "cl2"))
    monkeypatch.setenv(registry.NO_PLUGINS_ENV, "1")
    registry.load_plugins(force=True)
    assert "cl2" not in tasks.names()


def test_name_registered_twice_names_both_sources(plugin_env):
    """A plugin taking a built-in's name is left out (issue 20: one bad plugin must not stop
    every command), with a warning naming both sources; the built-in stays."""
    plugin_env("dup", "rnnbench_test_dup_plugin", GOOD_PLUGIN.replace("copy-last", "adding"))
    with pytest.warns(RuntimeWarning, match="'adding' is registered twice: by built-in and by dup"):
        assert registry.load_plugins(force=True) == ["dup"]
    assert tasks.entry("adding").source == registry.BUILTIN_SOURCE
    with pytest.raises(RegistryError, match="registered twice"):
        tasks.register("adding", tasks.get("adding"))  # outside plugin loading: still an error


def test_unknown_names_list_the_known_ones():
    known = ("unknown task 'nope'; known: adding, adding-1997, adding-bai2018, copy-memory, "
             "copy-memory-bai2018, delayed-recall, ")
    with pytest.raises(RegistryError, match=known):
        tasks.get("nope")
    with pytest.raises(RegistryError, match="keras-lstm.*numpy-rnn"):
        models.get("nope")


def test_register_task_requires_a_task_subclass():
    with pytest.raises(RegistryError, match="subclass of rnnbench.Task"):
        rnnbench.register_task("x")(object)


def test_register_cell_makes_a_model_that_a_sweep_runs(registered):
    import keras

    @rnnbench.register_cell("test-min-cell")
    class MinimalCell(keras.layers.Layer):
        """h_t = tanh(x_t W + h_tm1 U), the smallest RNN cell"""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.W = self.add_weight(shape=(input_shape[-1], self.units))
            self.U = self.add_weight(shape=(self.units, self.units), initializer="orthogonal")

        def call(self, x_t, states):
            h_t = keras.ops.tanh(x_t @ self.W + states[0] @ self.U)
            return h_t, [h_t]

    registered(models, "test-min-cell")
    assert models.entry("test-min-cell").source == __name__
    assert "MinimalCell" in models.entry("test-min-cell").description
    df = rnnbench.sweep(tasks=["delayed-recall"], models=["test-min-cell"], lengths=[2], seeds=1,
                        max_sequences=256, chunk_size=256, eval_size=64)
    row = df.iloc[0]
    assert row["status"] == "ok", row["error"]
    # 9 inputs x 32 units + 32 x 32 recurrent (no bias in this cell) + Dense 32 x 8 + 8
    assert row["num_params"] == 9 * 32 + 32 * 32 + 32 * 8 + 8


def test_register_model_factory_contract(registered):
    @rnnbench.register_model("test-constant")
    def constant(task, units, seed):
        """predicts the same thing whatever the input"""

        class Constant:
            num_params = 1

            def train(self, x, y):
                return 0.5

            def predict(self, x):
                return np.ones((len(x), task.output_dim), np.float32)

        return Constant()

    registered(models, "test-constant")
    df = rnnbench.sweep(tasks=["delayed-recall"], models=["test-constant"], lengths=[3], seeds=2,
                        max_sequences=300, chunk_size=100, eval_size=400)
    assert list(df["status"]) == ["ok", "ok"]
    assert list(df["sequences_seen"]) == [300, 300]
    # argmax of a constant picks class 0 every time: about chance
    assert abs(df["accuracy"].mean() - 1 / 8) < 0.05
