"""Study specs with regimes: groups of models with their own settings (the 1997 online one)."""

from __future__ import annotations

import pytest

from rnnbench.registry import RegistryError
from rnnbench.study import SpecError, StudySpec

SPEC = {
    "models": ["numpy-lstm"],
    "lengths": {"adding-1997": [100, 500]},
    "seeds": 2,
    "regimes": [{"models": ["numpy-lstm1997"], "optimizer": "sgd", "batch_size": 1,
                 "learning_rate": "paper", "lengths": {"adding-1997": [500]},
                 "max_sequences": 400_000}],
}


def test_a_regime_runs_its_models_with_its_own_settings():
    cells = StudySpec.from_mapping(SPEC).cells()
    modern = [c for c in cells if c.model == "numpy-lstm"]
    online = [c for c in cells if c.model == "numpy-lstm1997"]
    assert {(c.length, c.seed) for c in modern} == {(100, 0), (100, 1), (500, 0), (500, 1)}
    assert {(c.optimizer, c.batch_size, c.learning_rate) for c in modern} == {("adam", 64, 0.003)}
    assert {c.length for c in online} == {500} and len(online) == 2
    # "paper": the task's reference learning rate, written into the row as a number
    assert {(c.optimizer, c.batch_size, c.learning_rate, c.max_sequences) for c in online} == {
        ("sgd", 1, 0.5, 400_000)}


@pytest.mark.parametrize("change, message", [
    ({"regimes": [{"models": ["numpy-rnn"], "momentum": 0.9}]}, "unknown key 'momentum'"),
    ({"regimes": [{"optimizer": "sgd"}]}, "must be a table with a models list"),
    ({"regimes": [{"models": ["numpy-rnn"], "lengths": {"addin": [5]}}]},
     "unknown task 'addin'"),
    ({"optimizer": "rmsprop"}, "expected one of adam, sgd"),
    ({"learning_rate": "fast"}, "or \"paper\""),
    ({"lengths": {"adding": [5]}, "learning_rate": "paper", "regimes": None},
     "carries no paper learning rate"),
])
def test_bad_regimes_and_settings_are_one_line_errors(change, message):
    spec = {k: v for k, v in {**SPEC, **change}.items() if v is not None}
    with pytest.raises((SpecError, RegistryError), match=message) as raised:
        StudySpec.from_mapping(spec).cells()
    assert "\n" not in str(raised.value)


def test_a_study_with_no_models_anywhere_is_refused():
    with pytest.raises(SpecError, match="no cells"):
        StudySpec.from_mapping({"models": [], "lengths": [5]}).cells()


def test_each_group_runs_the_tasks_its_lengths_table_names():
    """As the teaching study does: delayed recall for every model, adding-1997 for a regime."""
    spec = {"models": ["numpy-rnn", "numpy-lstm"], "forget_bias": [1.0, 4.0], "seeds": 1,
            "lengths": {"delayed-recall": [5]},
            "regimes": [{"models": ["numpy-lstm"], "forget_bias": 4.0, "rule": "held-out",
                         "lengths": {"adding-1997": [20, 50]}}]}
    cells = StudySpec.from_mapping(spec).cells()
    recall = {(c.model, c.forget_bias) for c in cells if c.task == "delayed-recall"}
    adding = {(c.model, c.forget_bias, c.length, c.rule) for c in cells if c.task == "adding-1997"}
    assert recall == {("numpy-rnn", None), ("numpy-lstm", 1.0), ("numpy-lstm", 4.0)}
    assert adding == {("numpy-lstm", 4.0, 20, "held-out"), ("numpy-lstm", 4.0, 50, "held-out")}


def test_naming_tasks_runs_only_those_whatever_the_regimes_name():
    spec = {**SPEC, "tasks": ["adding-1997"],
            "regimes": [{"models": ["numpy-rnn"], "lengths": {"adding": [5]}}]}
    cells = StudySpec.from_mapping(spec).cells()
    assert {c.task for c in cells} == {"adding-1997"}


def test_a_model_that_takes_no_optimizer_is_refused_before_anything_runs(registered):
    """A README-style factory naming only some hyper-parameters cannot honour optimizer = sgd:
    the study refuses it in one line, and so does the harness for a cell built by hand."""
    from rnnbench.errors import UserError
    from rnnbench.harness import make_model, make_task
    from rnnbench.registry import models, register_model
    from rnnbench.schema import SweepCell

    @register_model("plain-factory")
    def plain(task, units, seed, learning_rate=3e-3, batch_size=64):
        raise AssertionError("never built")

    registered(models, "plain-factory")
    spec = {"models": ["plain-factory"], "lengths": {"adding": [5]}, "optimizer": "sgd"}
    with pytest.raises(SpecError, match="'plain-factory' takes no optimizer.*allowed for it: adam"):
        StudySpec.from_mapping(spec).cells()
    cell = SweepCell(task="adding", model="plain-factory", length=5, seed=0, optimizer="sgd")
    with pytest.raises(UserError, match="takes no optimizer"):
        make_model(cell, make_task(cell))
    assert StudySpec.from_mapping({**spec, "optimizer": "adam"}).cells()  # the default is fine
