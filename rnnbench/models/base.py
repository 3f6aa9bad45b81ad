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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from rnnbench import registry
from rnnbench.schema import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_LEARNING_RATE,
    DEFAULT_OPTIMIZER,
    DEFAULT_UNITS,
)

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_LEARNING_RATE", "DEFAULT_UNITS", "HasStateGradients",
           "Model", "ModelFactory", "ModelTraits", "TaskSpec", "accepted_hparams",
           "initial_lstm_bias", "per_step_refusal", "register_model", "scores_every_step",
           "traits_of"]

DEFAULT_CLIPNORM = 1.0  # per-variable gradient norm clip, as Keras's `clipnorm`
ADAM_BETA_1 = 0.9
ADAM_BETA_2 = 0.999
ADAM_EPSILON = 1e-7  # Keras's default, so the NumPy Adam matches keras.optimizers.Adam
DEFAULT_FORGET_BIAS = 1.0  # Keras's own `unit_forget_bias=True`


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


@dataclass(frozen=True)
class ModelTraits:
    """What a model declares about itself so the machinery never recognises it by name.

    Given to `register_model(name, traits=...)` and read back with `traits_of(factory)`; a
    factory registered without traits gets these defaults. One field per thing the machinery
    needs to know (docs/design.md, "Adding a model").

    Attributes:
        per_step: The model reads out at every step, so it can train on a task whose targets
            are per step (see `Task.steps_scored`); a model without it is refused for such a
            task before anything trains.
    """

    per_step: bool = False


TRAITS_ATTRIBUTE = "rnnbench_traits"  # where register_model keeps a factory's ModelTraits


def traits_of(factory: Callable[..., Any]) -> ModelTraits:
    """The `ModelTraits` a factory was registered with (the defaults if none)."""
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


def optimizer_refusal(model: str, factory: Callable[..., Any], optimizer: str) -> str | None:
    """Why `factory` cannot train with `optimizer`, or None if it can.

    The default optimizer is every model's; another one only a factory that takes the
    `optimizer` hyper-parameter (by name or through **kwargs) can honour, so a row never says
    one optimizer while the model trained with another.
    """
    if optimizer == DEFAULT_OPTIMIZER or "optimizer" in accepted_hparams(factory, {"optimizer": 0}):
        return None
    return (
        f"model {model!r} takes no optimizer, so it cannot train with optimizer = "
        f"{optimizer!r}; allowed for it: {DEFAULT_OPTIMIZER}"
    )


def initial_lstm_bias(units: int, forget_bias: float) -> np.ndarray:
    """(4H,) zeros but the forget gate's, in Keras's gate order [input, forget, cell, output].

    Shared by keras-lstm and numpy-lstm, so twins start from the same bias.
    """
    bias = np.zeros(4 * units, np.float32)
    bias[units : 2 * units] = forget_bias  # the forget gate starts open: f_0 = sigmoid(bias)
    return bias

