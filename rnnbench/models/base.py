"""The model contract and the defaults every built-in model shares, so comparisons are fair.

A model builder is a factory `(task, units, seed, **hparams) -> model`, registered with
`@rnnbench.register_model(name)`. The model it returns has:
  train(x, y) -> float   one pass over the chunk in mini-batches; the mean training loss
  predict(x) -> array    regression (n,), classification (n, classes) scores
A model registered with `ModelTraits(per_step=True)` and built for a task scored at every step
(`task.steps_scored == "every"`, see `scores_every_step`) reads out at every step instead:
  train(x, y, mask=None) -> float   y (n, T) values or (n, T, K) target rows, mask (n, T) the
                                    scored steps; the loss is the mean over them
  predict(x) -> array    regression (n, T), classification (n, T, classes) scores
  num_params: int        trainable parameter count, recorded in every result row
and optionally the gradient hook of `rnnbench gradients` (Keras models need none: autodiff does it):
  state_gradients(x, y) -> dLoss/dh_t as (T, B, H), for the batch-mean loss
The harness owns the loop; a model never decides when to stop.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from rnnbench import registry
from rnnbench.schema import DEFAULT_BATCH_SIZE, DEFAULT_LEARNING_RATE, DEFAULT_UNITS
from rnnbench.settings import HPARAMS, WHEN_SET

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_LEARNING_RATE", "DEFAULT_UNITS", "HasStateGradients",
           "MemoryShape", "Model", "ModelFactory", "ModelTraits", "TaskSpec", "accepted_hparams",
           "hparam_refusal", "initial_gru_bias", "initial_lstm_bias", "named_hparams",
           "per_step_refusal", "register_model", "scores_every_step", "traits_of"]

DEFAULT_CLIPNORM = 1.0  # per-variable gradient norm clip, as Keras's `clipnorm`
ADAM_BETA_1 = 0.9
ADAM_BETA_2 = 0.999
ADAM_EPSILON = 1e-7  # Keras's default, so the NumPy Adam matches keras.optimizers.Adam


class TaskSpec(Protocol):
    """What a model factory reads of its task: every `rnnbench.Task` is one."""

    @property
    def kind(self) -> str:
        """"regression" (one output, MSE) or "classification" (output_dim logits)."""
        ...

    @property
    def input_dim(self) -> int:
        """Features per time step of the task's x."""
        ...

    @property
    def output_dim(self) -> int:
        """1 for regression, the number of classes for classification."""
        ...

    @property
    def steps_scored(self) -> str:
        """"last" (one target per sequence) or "every" (a target per step: a `per_step`
        model reads out at every step)."""
        ...


@runtime_checkable
class Model(Protocol):
    """What a model factory returns, and all the harness uses of it."""

    @property
    def num_params(self) -> int:
        """Trainable parameter count, recorded in every result row."""
        ...

    def train(self, x: np.ndarray, y: np.ndarray) -> float:
        """Train on one chunk, in order, in mini-batches.

        Args:
            x: float32 (n, steps, input_dim) sequences.
            y: the targets, float32 (n,) for regression or int (n,) class labels.

        Returns:
            The mean training loss over the chunk (NaN or inf ends the cell as diverged).
        """
        ...

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predict without training.

        Args:
            x: float32 (n, steps, input_dim) sequences.

        Returns:
            Regression: (n,) predictions; classification: (n, classes) logits (softmax gives the
            class probabilities a task's criterion reads; argmax is the predicted class).
        """
        ...

    # Optional, read with getattr by rnnbench/feeding.py (a model without them works):
    #   outputs = "probabilities"  its classification outputs are probabilities already (the
    #       1997 net's logistic units), not logits to softmax;
    #   accepts_lengths = True  train, predict (and train_with_outputs) take `lengths=` (n,),
    #       each sequence's real steps of a right-padded batch; without it a variable-length
    #       task's sequences come in mini-batches of one length, cut to it;
    #   train_with_outputs(x, y) -> (loss, outputs)  trains as `train` and returns each
    #       sequence's output from before the update that used it (a paper's online rule judges
    #       these); without it the harness calls predict before each mini-batch's train.


@runtime_checkable
class HasStateGradients(Protocol):
    """The optional hook of `rnnbench gradients` (Keras models need none: autodiff does it)."""

    def state_gradients(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """dLoss/dh_t of the batch-mean loss on (x, y), for t = 1..T.

        A per-step model's hook also takes `mask=` (B, T), the scored steps, and is called with
        it for a task scored at every step.

        Args:
            x: float32 (B, T, input_dim) sequences.
            y: their targets, as for `Model.train`.

        Returns:
            (T, B, H): the gradient with respect to each step's hidden state.
        """
        ...


# A model builder: `factory(task, units, seed, **hparams) -> Model`. It takes the hyper-parameters
# it names (learning_rate, batch_size, forget_bias, ...), so its full signature varies.
ModelFactory = Callable[..., Model]
ModelFactoryT = TypeVar("ModelFactoryT", bound=ModelFactory)


# What a model without declared traits is taken to be, so it is never under-sized: priced and
# sized as the dearest built-in (a Keras LSTM). `ModelTraits.defaults_used` names the fields left
# to these, and `rnnbench list` says so.
DEFAULT_COST_WEIGHT = 4.6  # keras-lstm's step cost against numpy-rnn's
DEFAULT_OVERHEAD_SECONDS = 2.0  # a worker's TensorFlow import and a model's tracing
DEFAULT_STATE_ARRAYS = 24.0  # above every built-in's measured count (tests/test_memory_bound.py)
DEFAULT_PROCESS_BYTES = 1400 * 2**20  # a process with TensorFlow and Keras imported


@dataclass(frozen=True)
class MemoryShape:
    """The sizes a model's own memory estimate reads (`ModelTraits.memory_bytes`)."""

    task: Any  # the cell's task (an instance), for a model that sizes itself from it
    steps: int  # T: the longest sequence's steps (padded)
    units: int  # H: the cell's units
    batch: int  # B: sequences in one training step
    gradient_batch: int  # G: the sequences differentiated for grad_ratio_init before training
    predict: int  # sequences predicted in one call at most (the held-out or a paper's test set)


@dataclass(frozen=True)
class ModelTraits:
    """What a model declares about itself so the machinery never recognises it by name.

    Given to `register_model(name, traits=...)` and read back with `traits_of(factory)`; a
    factory registered without traits gets these defaults. One field per thing the machinery
    needs to know (docs/design.md, "Adding a model"); a new need is a new field with a default,
    never a test of the model's name. Every field is optional: None means "not declared", and the
    machinery then assumes the dearest built-in (a Keras LSTM), so an undeclared plugin model is
    over-sized and over-priced, never under-sized; `defaults_used()` lists what was left out.

    Attributes:
        per_step: The model reads out at every step, so it can train on a task whose targets
            are per step (see `Task.steps_scored`); a model without it is refused for such a
            task before anything trains.
        cost_weight: What one sequence-step costs to train and evaluate, relative to numpy-rnn's
            (1.0) at 32 units on this project's machine (benchmarks/README.md: numpy-rnn 1.0,
            keras-simplernn 1.6, numpy-lstm 4.2, keras-lstm 4.6). rnnbench.cost orders cells
            and predicts the time left with it until the model's own cells have been timed.
            None: DEFAULT_COST_WEIGHT.
        overhead_seconds: What a cell costs besides its steps (building the model, tracing it,
            importing its framework in a fresh worker). None: DEFAULT_OVERHEAD_SECONDS.
        state_arrays: How many float32 arrays of shape (B, T, H) the model holds at its peak
            while it trains or is differentiated on a batch of B sequences of T steps with H
            units: the states BPTT keeps, gates, their gradients and the framework's copies
            (measured: numpy-rnn ~7, numpy-lstm ~11). rnnbench.memory multiplies it out, for
            the training batch plus the 32 sequences of `grad_ratio_init`; the built-ins'
            values are measured upper bounds (tests/test_memory_bound.py). A model whose width
            is not `units` (the 1997 net sizes itself from the task) declares `memory_bytes`
            instead. None: DEFAULT_STATE_ARRAYS.
        process_bytes: A worker process's own footprint once the model's framework is imported
            (Python and NumPy ~150 MB; with TensorFlow ~1.2 GB). None: DEFAULT_PROCESS_BYTES.
        memory_bytes: For a model whose memory the `state_arrays` formula does not describe (its
            width is not `units`, it keeps every step's state while predicting, it works in
            float64): a function of the cell's `MemoryShape` giving the peak bytes of the
            model's own arrays (states, gates, gradients, parameters, optimizer); the data and
            the process are counted by rnnbench.memory. None: the formula.
        gradient_twin: The name of a registered NumPy model with exactly this model's weight
            layout and maths (keras-lstm's is numpy-lstm), for `rnnbench gradients
            --same-weights` and its messages; None: the model has no twin. (A Keras model's
            fast gradient diagnostics find their NumPy twin by layer type, in
            rnnbench.diagnostics.numpy_twin, not through this field.)
    """

    per_step: bool = False
    cost_weight: float | None = None
    overhead_seconds: float | None = None
    state_arrays: float | None = None
    process_bytes: int | None = None
    memory_bytes: Callable[[MemoryShape], float] | None = None
    gradient_twin: str | None = None

    @property
    def cost_weight_or_default(self) -> float:
        return DEFAULT_COST_WEIGHT if self.cost_weight is None else float(self.cost_weight)

    @property
    def overhead_or_default(self) -> float:
        return (DEFAULT_OVERHEAD_SECONDS if self.overhead_seconds is None
                else float(self.overhead_seconds))

    @property
    def state_arrays_or_default(self) -> float:
        return DEFAULT_STATE_ARRAYS if self.state_arrays is None else float(self.state_arrays)

    @property
    def process_bytes_or_default(self) -> int:
        return DEFAULT_PROCESS_BYTES if self.process_bytes is None else int(self.process_bytes)

    def defaults_used(self) -> list[str]:
        """The sizing fields this model left undeclared (priced and sized by the defaults)."""
        undeclared = [name for name in ("cost_weight", "overhead_seconds", "process_bytes")
                      if getattr(self, name) is None]
        if self.state_arrays is None and self.memory_bytes is None:
            undeclared.append("state_arrays")
        return undeclared


TRAITS_ATTRIBUTE = "rnnbench_traits"  # where register_model keeps a factory's ModelTraits


def traits_of(factory: Callable[..., Any]) -> ModelTraits:
    """The `ModelTraits` a factory was registered with (the defaults if none).

    To read a registered model's by name: `traits_of(rnnbench.registry.models.get(name))`.
    """
    traits = getattr(factory, TRAITS_ATTRIBUTE, None)
    return traits if isinstance(traits, ModelTraits) else ModelTraits()


def register_model(
    name: str, traits: ModelTraits | None = None
) -> Callable[[ModelFactoryT], ModelFactoryT]:
    """Decorator: register a model factory under `name` (`@rnnbench.register_model(name)`).

    Args:
        name: the model's name in studies, on the command line and in result rows.
        traits: what the model declares about itself (`ModelTraits`); None for the defaults.

    Returns:
        A decorator that registers a factory `(task, units, seed, **hparams) -> Model` and returns
        it unchanged. `task` is a `TaskSpec` (kind, input_dim, output_dim), `units` the hidden
        size, `seed` the cell's seed (all of the model's randomness comes from it); the factory
        takes the hyper-parameters it names (learning_rate, batch_size, forget_bias, ...) and is
        not passed the rest. A type checker holds the factory to returning a `Model`.

    Raises:
        RegistryError: the name is empty or already taken.
    """
    register = registry.register_model(name)

    def decorate(factory: ModelFactoryT) -> ModelFactoryT:
        if traits is not None:
            setattr(factory, TRAITS_ATTRIBUTE, traits)
        return register(factory)

    return decorate


def accepted_hparams(factory: Callable[..., Any], hparams: dict[str, Any]) -> dict[str, Any]:
    """The subset of `hparams` that `factory` takes by name (all of them if it takes **kwargs)."""
    params = inspect.signature(factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(hparams)
    return {k: v for k, v in hparams.items() if k in params}


def scores_every_step(task: Any) -> bool:
    """Whether `task` has a target at every step (`steps_scored == "every"`), so a per-step model
    built for it reads out at every step."""
    return getattr(task, "steps_scored", "last") == "every"


def per_step_refusal(model: str, factory: Callable[..., Any], task: Any) -> str | None:
    """Why `factory` cannot train on `task`, or None if it can.

    A task scored at every step needs a model that reads out at every step: one registered with
    `ModelTraits(per_step=True)`. Any model can train on a task scored at the last step.
    """
    if not scores_every_step(task) or traits_of(factory).per_step:
        return None
    able = [e.name for e in registry.models.items() if traits_of(e.obj).per_step]
    return (
        f"model {model!r} reads out only at the last step (no ModelTraits(per_step=True)), so it "
        f"cannot train on task {getattr(task, 'name', '')!r}, which scores every step; allowed: "
        f"{', '.join(able) or 'none registered'}"
    )


def hparam_refusal(
    model: str, factory: Callable[..., Any], settings: Mapping[str, Any]
) -> str | None:
    """Why `factory` cannot train with `settings` (a cell's or a study group's), or None.

    A hyper-parameter offered only when set (the optimizer: rnnbench.settings, WHEN_SET) has a
    default every model follows; another value only a factory that takes it (by name or through
    **kwargs) can honour, so a row never says one optimizer while the model trained with another.
    """
    for setting in HPARAMS:
        value = settings.get(setting.key, setting.default)
        if setting.hparam != WHEN_SET or value == setting.default:
            continue
        if setting.key not in accepted_hparams(factory, {setting.key: value}):
            return (
                f"model {model!r} takes no {setting.key}, so it cannot train with "
                f"{setting.key} = {value!r}; allowed for it: {setting.default}"
            )
    return None


def named_hparams(factory: Callable[..., Any], cell_hparams: dict[str, Any],
                  settings: Mapping[str, Any]) -> dict[str, Any]:
    """The keywords `factory` is called with: the offered hyper-parameters it takes, and every
    WHEN_SET one it names in its signature, at its default too (it must hear which it is)."""
    taken = accepted_hparams(factory, cell_hparams)
    params = inspect.signature(factory).parameters
    for setting in HPARAMS:
        if setting.hparam == WHEN_SET and setting.key in params:
            taken[setting.key] = settings[setting.key]
    return taken


def initial_lstm_bias(units: int, forget_bias: float) -> np.ndarray:
    """(4H,) zeros but the forget gate's, in Keras's gate order [input, forget, cell, output].

    Shared by keras-lstm and numpy-lstm, so twins start from the same bias.
    """
    bias = np.zeros(4 * units, np.float32)
    bias[units : 2 * units] = forget_bias  # the forget gate starts open: f_0 = sigmoid(bias)
    return bias



def initial_gru_bias(units: int, forget_bias: float) -> np.ndarray:
    """(2, 3H) zeros but the update gate's input-side bias, in Keras's `reset_after=True` layout.

    Row 0 is added to x_t W_x, row 1 to h_tm1 W_h; the columns are Keras's gates z, r, h. In
    Keras's convention h_t = z h_tm1 + (1 - z) h~_t, so a positive bias on z starts the GRU out
    keeping its state: the role of the LSTM's forget-gate bias, and what `forget_bias` sets.
    Shared by keras-gru and numpy-gru, so twins start from the same bias.
    """
    bias = np.zeros((2, 3 * units), np.float32)
    bias[0, :units] = forget_bias  # z_0 = sigmoid(bias): near 1 keeps h_tm1
    return bias
