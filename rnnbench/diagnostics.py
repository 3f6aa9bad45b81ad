"""Gradient maths: how much of the error signal at the last step reaches each earlier step.

For a model and a batch of sequences, `gradient_norms` gives, for every step t = 1..T, the norm of
dLoss/dh_t (the loss's gradient with respect to the hidden state h_t, through every later step),
averaged over the batch. Each sequence's own loss is used (the batch-mean loss's gradient times B),
so the numbers do not depend on the batch size. A tanh RNN's norms fall geometrically with the
steps back from the end: the vanishing gradient. An LSTM's fall by about its forget gate per step,
so with the gate open (a large forget bias) they hardly fall at all.

Where the gradients come from (the "gradient hook"):
  - a model with a method `state_gradients(x, y) -> dLoss/dh_t as (T, B, H)`: the NumPy models'
    hand-written BPTT (rnnbench.models.numpy_common), or a plugin model that provides one;
  - a Keras model (rnnbench.models.keras_models.KerasModel): TensorFlow's autodiff, through the
    recurrent layer's own cell run step by step under a GradientTape (see `keras_state_gradients`);
    or, where speed matters more than an independent check (a sweep row's `grad_ratio_init`), the
    NumPy twin of a plain SimpleRNN, LSTM or GRU with the Keras weights copied in (`numpy_twin`):
    the same math, tested equal, in milliseconds instead of an eager loop's seconds, on any
    backend;
  - anything else raises NoGradientHookError: it cannot be diagnosed.

This module sits below the harness (which measures `grad_ratio_init` with it); the command that
trains and draws (`rnnbench gradients`) is rnnbench.gradients, above it. Keras and TensorFlow are
imported inside the functions that need them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnbench.errors import UserError
from rnnbench.models.base import HasStateGradients, traits_of
from rnnbench.models.keras_models import (
    KerasModel,
    import_keras,
    keras_readout_loss,
    pack_per_step,
)
from rnnbench.models.numpy_gru import NumpyGRU
from rnnbench.models.numpy_lstm import NumpyLSTM
from rnnbench.models.numpy_rnn import NumpyRNN
from rnnbench.registry import models

DEFAULT_GRADIENT_BATCH = 256  # sequences whose gradient norms `rnnbench gradients` averages


class NoGradientHookError(UserError):
    """A model that exposes no gradients with respect to its hidden states."""


# -- measuring one model ----------------------------------------------------------------------


def state_gradients(
    model: Any, x: np.ndarray, y: np.ndarray, name: str = "", autodiff: bool = True,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """dLoss/dh_t as (T, B, H) for the batch-mean loss of `model` on (x, y).

    A Keras model's come from TensorFlow's autodiff, or with `autodiff=False` from its NumPy twin
    when it has one (`numpy_twin`). `mask` (B, T): the scored steps of a per-step model's batch
    (its loss is the mean over them); None for a last-step model (or all steps).
    """
    masked = {} if mask is None else {"mask": mask}
    if isinstance(model, HasStateGradients):  # the model's own hook
        return np.asarray(model.state_gradients(x, y, **masked))
    if isinstance(model, KerasModel):
        twin = None if autodiff else numpy_twin(model)
        if twin is not None:
            return twin.state_gradients(x, y, **masked)
        if model.per_step:
            y = pack_per_step(model.kind, y, mask)
        return keras_state_gradients(model.model, x, y)
    label = f"model {name!r}" if name else f"a {type(model).__name__}"
    raise NoGradientHookError(
        f"{label} cannot be diagnosed: it exposes no gradients with respect to its hidden states "
        "(it needs a state_gradients(x, y) method, or to be a Keras model built by rnnbench)"
    )


def gradient_norms(
    model: Any, x: np.ndarray, y: np.ndarray, name: str = "", autodiff: bool = True,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """|dLoss_b/dh_t| for t = 1..T, averaged over the batch's sequences b: shape (T,)."""
    dh = state_gradients(model, x, y, name, autodiff, mask)  # (T, B, H), of the batch-mean loss
    per_sequence = dh * dh.shape[1]  # (T, B, H): of each sequence's own loss
    return np.linalg.norm(per_sequence, axis=2).mean(axis=1)  # (T,)


def first_to_last_ratio(
    model: Any, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None
) -> float:
    """|dLoss/dh_1| / |dLoss/dh_T| on (x, y); NaN for a model without a gradient hook.

    Every sweep cell measures it, so a Keras model with a NumPy twin is measured through the twin.
    For a per-step task (`mask` its scored steps) dLoss/dh_t sums every later scored step's
    error, so the ratio says how the total signal at step 1 compares with the last step's.
    """
    try:
        norms = gradient_norms(model, x, y, autodiff=False, mask=mask)
    except NoGradientHookError:
        return math.nan
    return float(norms[0] / norms[-1]) if norms[-1] > 0 else math.nan


def keras_state_gradients(keras_model: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dLoss/dh_t (T, B, H) of an rnnbench Keras model (inputs -> RNN layer -> head), by autodiff.

    The recurrent layer's cell is run one step at a time, exactly as keras.layers.RNN runs it, under
    a tf.GradientTape; the last output (or, for a layer that returns sequences, every step's)
    goes through the layers after the RNN and the compiled loss (a per-step model's `y` packed
    as its compiled loss takes it: `pack_per_step`).
    The gradient with respect to each step's output h_t is the total derivative through all later
    steps: what the hand-written BPTT calls dh_t.
    """
    keras = import_keras()
    if keras.backend.backend() != "tensorflow":
        backend = keras.backend.backend()
        raise NoGradientHookError(
            f"gradients of Keras models need the tensorflow backend, not {backend!r}"
        )
    import tensorflow as tf

    layers = list(keras_model.layers)
    rnn_at = [i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.RNN)]
    before = layers[: rnn_at[0]] if len(rnn_at) == 1 else []
    if (
        len(rnn_at) != 1
        or layers[rnn_at[0]].go_backwards
        or not all(isinstance(layer, keras.layers.InputLayer) for layer in before)
    ):
        raise NoGradientHookError(
            "this Keras model cannot be diagnosed: it needs its inputs to go straight into one "
            "forward recurrent layer"
        )
    rnn, head = layers[rnn_at[0]], layers[rnn_at[0] + 1 :]
    loss_fn = keras.losses.get(keras_model.loss)  # the compiled loss (an object or its name)
    x = tf.convert_to_tensor(np.asarray(x, np.float32))  # (B, T, D)
    B, T = int(x.shape[0]), int(x.shape[1])
    states = rnn.get_initial_state(B)  # a list: [h_0] or [h_0, c_0]
    with tf.GradientTape() as tape:
        h = []  # h_t for t = 1..T, each (B, H)
        for t in range(T):
            h_t, states = rnn.cell(x[:, t], states, training=False)
            if not isinstance(states, (list, tuple)):
                states = [states]
            h.append(h_t)
        out = tf.stack(h, axis=1) if rnn.return_sequences else h[-1]  # (B, T, H) or (B, H)
        for layer in head:
            out = layer(out)  # (B, O) or (B, T, O) logits
        loss = tf.reduce_mean(loss_fn(y, out))  # mean over the batch (a function gives (B,))
    dh = tape.gradient(loss, h, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return np.stack([np.asarray(g) for g in dh])  # (T, B, H)


def numpy_twin(model: Any) -> Any:
    """The NumPy model computing exactly what a KerasModel computes, with its weights; or None.

    Only a plain `SimpleRNN`, `LSTM` or `GRU` (`reset_after`) (Keras's default activations, bias,
    no dropout, the last state or every step's as the task asks) straight from the input into a
    linear Dense read-out, with rnnbench's losses, has one: anything else returns None and is
    left to autodiff.
    """
    keras = import_keras()
    twins: dict[type, tuple[type, dict[str, Any]]] = {  # layer -> twin, its settings to match
        keras.layers.SimpleRNN: (NumpyRNN, {}),
        keras.layers.LSTM: (NumpyLSTM, {"recurrent_activation": "sigmoid"}),
        keras.layers.GRU: (NumpyGRU, {"recurrent_activation": "sigmoid", "reset_after": True}),
    }
    layers = [layer for layer in model.model.layers
              if not isinstance(layer, keras.layers.InputLayer)]
    if len(layers) != 2 or type(layers[0]) not in twins:
        return None
    rnn, head = layers
    if type(head) is not keras.layers.Dense:
        return None
    twin_cls, activations = twins[type(rnn)]
    plain = {"activation": "tanh", "use_bias": True, "dropout": 0.0, "recurrent_dropout": 0.0,
             "return_sequences": model.per_step, "go_backwards": False, **activations}
    config = rnn.get_config()
    if any(config.get(key) != value for key, value in plain.items()):
        return None
    if head.get_config()["activation"] != "linear" or not head.use_bias:
        return None
    loss = model.model.loss  # what build_keras_model compiles
    ours = keras_readout_loss(model.kind, model.per_step)
    if type(loss) is not type(ours) or loss.get_config() != ours.get_config():
        return None
    weights = model.model.get_weights()
    twin = twin_cls(weights[0].shape[0], rnn.units, head.units, model.kind, seed=0,
                    per_step=model.per_step)
    twin.set_keras_weights(weights)
    return twin


# -- copying weights between twins ------------------------------------------------------------


def twin_pairs() -> list[tuple[str, str]]:
    """(NumPy twin, model) for every registered model that declares a `gradient_twin`
    (`ModelTraits`): the pairs with the same weight layout, e.g. numpy-lstm / keras-lstm."""
    return [(twin, entry.name) for entry in models.items()
            if (twin := traits_of(entry.obj).gradient_twin) is not None]


def get_weights(model: Any, name: str = "") -> list[np.ndarray]:
    """A model's weights in Keras's order (recurrent layer, then read-out)."""
    if hasattr(model, "get_keras_weights"):
        return model.get_keras_weights()
    if hasattr(model, "model") and hasattr(model.model, "get_weights"):
        return model.model.get_weights()
    raise UserError(f"model {name!r} has no Keras-layout weights to copy")


def set_weights(model: Any, weights: list[np.ndarray], name: str = "") -> None:
    if hasattr(model, "set_keras_weights"):
        model.set_keras_weights(weights)
    elif hasattr(model, "model") and hasattr(model.model, "set_weights"):
        ours = model.model.get_weights()
        shapes = [np.shape(w) for w in weights]
        if [np.shape(w) for w in ours] != shapes:
            raise UserError(
                f"weights of shapes {shapes} do not fit {name}'s "
                f"{[np.shape(w) for w in ours]}"
            )
        model.model.set_weights(weights)
    else:
        raise UserError(f"model {name!r} has no Keras-layout weights to copy into")
