"""The model contract and the defaults every built-in model shares, so comparisons are fair.

A model builder is a factory `(task, units, seed, **hparams) -> model`, registered with
`@rnnbench.register_model(name)`. The model it returns has:
  train(x, y) -> float   one pass over the chunk in mini-batches; the mean training loss
  predict(x) -> array    regression (n,), classification (n, classes) scores
  num_params: int        trainable parameter count, recorded in every result row
and optionally the gradient hook of `rnnbench gradients` (Keras models need none: autodiff does it):
  state_gradients(x, y) -> dLoss/dh_t as (T, B, H), for the batch-mean loss
The harness owns the loop; a model never decides when to stop.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rnnbench.registry import register_model
from rnnbench.schema import DEFAULT_BATCH_SIZE, DEFAULT_LEARNING_RATE, DEFAULT_UNITS

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_LEARNING_RATE", "DEFAULT_UNITS", "Model",
           "accepted_hparams", "initial_lstm_bias", "register_model"]

DEFAULT_CLIPNORM = 1.0  # per-variable gradient norm clip, as Keras's `clipnorm`
ADAM_BETA_1 = 0.9
ADAM_BETA_2 = 0.999
ADAM_EPSILON = 1e-7  # Keras's default, so the NumPy Adam matches keras.optimizers.Adam
DEFAULT_FORGET_BIAS = 1.0  # Keras's own `unit_forget_bias=True`


@runtime_checkable
class Model(Protocol):
    num_params: int

    def train(self, x: np.ndarray, y: np.ndarray) -> float: ...

    def predict(self, x: np.ndarray) -> np.ndarray: ...


def accepted_hparams(factory: Callable[..., Any], hparams: dict[str, Any]) -> dict[str, Any]:
    """The subset of `hparams` that `factory` takes by name (all of them if it takes **kwargs)."""
    params = inspect.signature(factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(hparams)
    return {k: v for k, v in hparams.items() if k in params}


def initial_lstm_bias(units: int, forget_bias: float) -> np.ndarray:
    """(4H,) zeros but the forget gate's, in Keras's gate order [input, forget, cell, output].

    Shared by keras-lstm and numpy-lstm, so twins start from the same bias.
    """
    bias = np.zeros(4 * units, np.float32)
    bias[units : 2 * units] = forget_bias  # the forget gate starts open: f_0 = sigmoid(bias)
    return bias

