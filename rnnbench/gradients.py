"""Gradient diagnostics: how much of the error signal at the last step reaches each earlier step.

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
    NumPy twin of a plain SimpleRNN or LSTM with the Keras weights copied in (`numpy_twin`): the
    same math, tested equal, in milliseconds instead of an eager loop's seconds, on any backend;
  - anything else raises NoGradientHookError: it cannot be diagnosed.

`diagnose` measures models at initialisation and after the harness's training (the same loop as a
sweep cell); `plot_gradients` draws the result. Keras, TensorFlow and matplotlib are imported inside
the functions that need them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

DEFAULT_GRADIENT_BATCH = 256  # sequences whose gradient norms `rnnbench gradients` averages
COLUMNS = ["step", "steps_back", "norm", "model", "phase", "task", "length", "seed", "units",
           "forget_bias", "sequences_seen", "accuracy"]
PHASES = ("init", "trained")
TWINS = (("numpy-rnn", "keras-simplernn"), ("numpy-lstm", "keras-lstm"))  # same weight layout


class NoGradientHookError(ValueError):
    """A model that exposes no gradients with respect to its hidden states."""


# -- measuring one model ----------------------------------------------------------------------


def state_gradients(
    model: Any, x: np.ndarray, y: np.ndarray, name: str = "", autodiff: bool = True
) -> np.ndarray:
    """dLoss/dh_t as (T, B, H) for the batch-mean loss of `model` on (x, y).

    A Keras model's come from TensorFlow's autodiff, or with `autodiff=False` from its NumPy twin
    when it has one (`numpy_twin`).
    """
    hook = getattr(model, "state_gradients", None)
    if callable(hook):
        return np.asarray(hook(x, y))
    from rnnbench.models.keras_models import KerasModel

    if isinstance(model, KerasModel):
        twin = None if autodiff else numpy_twin(model)
        if twin is not None:
            return twin.state_gradients(x, y)
        return keras_state_gradients(model.model, x, y)
    label = f"model {name!r}" if name else f"a {type(model).__name__}"
    raise NoGradientHookError(
        f"{label} cannot be diagnosed: it exposes no gradients with respect to its hidden states "
        "(it needs a state_gradients(x, y) method, or to be a Keras model built by rnnbench)"
    )


def gradient_norms(
    model: Any, x: np.ndarray, y: np.ndarray, name: str = "", autodiff: bool = True
) -> np.ndarray:
    """|dLoss_b/dh_t| for t = 1..T, averaged over the batch's sequences b: shape (T,)."""
    dh = state_gradients(model, x, y, name, autodiff)  # (T, B, H), of the batch-mean loss
    per_sequence = dh * dh.shape[1]  # (T, B, H): of each sequence's own loss
    return np.linalg.norm(per_sequence, axis=2).mean(axis=1)  # (T,)


def first_to_last_ratio(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """|dLoss/dh_1| / |dLoss/dh_T| on (x, y); NaN for a model without a gradient hook.

    Every sweep cell measures it, so a Keras model with a NumPy twin is measured through the twin.
    """
    try:
        norms = gradient_norms(model, x, y, autodiff=False)
    except NoGradientHookError:
        return math.nan
    return float(norms[0] / norms[-1]) if norms[-1] > 0 else math.nan


def keras_state_gradients(keras_model: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dLoss/dh_t (T, B, H) of an rnnbench Keras model (inputs -> RNN layer -> head), by autodiff.

    The recurrent layer's cell is run one step at a time, exactly as keras.layers.RNN runs it, under
    a tf.GradientTape; the last output goes through the layers after the RNN and the compiled loss.
    The gradient with respect to each step's output h_t is the total derivative through all later
    steps: what the hand-written BPTT calls dh_t.
    """
    from rnnbench.models.keras_models import import_keras

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
        or layers[rnn_at[0]].return_sequences
        or layers[rnn_at[0]].go_backwards
        or not all(isinstance(layer, keras.layers.InputLayer) for layer in before)
    ):
        raise NoGradientHookError(
            "this Keras model cannot be diagnosed: it needs its inputs to go straight into one "
            "forward recurrent layer that returns its last state"
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
        out = h[-1]
        for layer in head:
            out = layer(out)  # (B, O) logits
        loss = tf.reduce_mean(loss_fn(y, out))  # mean over the batch (a function gives (B,))
    dh = tape.gradient(loss, h, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return np.stack([np.asarray(g) for g in dh])  # (T, B, H)


def numpy_twin(model: Any) -> Any:
    """The NumPy model computing exactly what a KerasModel computes, with its weights; or None.

    Only a plain `SimpleRNN` or `LSTM` (Keras's default activations, bias, no dropout, the last
    state) straight from the input into a linear Dense read-out, with rnnbench's losses, has one:
    anything else returns None and is left to autodiff.
    """
    from rnnbench.models.keras_models import import_keras, keras_readout_loss
    from rnnbench.models.numpy_lstm import NumpyLSTM
    from rnnbench.models.numpy_rnn import NumpyRNN

    keras = import_keras()
    twins = {keras.layers.SimpleRNN: (NumpyRNN, {}),
             keras.layers.LSTM: (NumpyLSTM, {"recurrent_activation": "sigmoid"})}
    layers = [layer for layer in model.model.layers
              if not isinstance(layer, keras.layers.InputLayer)]
    if len(layers) != 2 or type(layers[0]) not in twins:
        return None
    rnn, head = layers
    if type(head) is not keras.layers.Dense:
        return None
    twin_cls, activations = twins[type(rnn)]
    plain = {"activation": "tanh", "use_bias": True, "dropout": 0.0, "recurrent_dropout": 0.0,
             "return_sequences": False, "go_backwards": False, **activations}
    config = rnn.get_config()
    if any(config.get(key) != value for key, value in plain.items()):
        return None
    if head.get_config()["activation"] != "linear" or not head.use_bias:
        return None
    loss, ours = model.model.loss, keras_readout_loss(model.kind)  # what build_keras_model compiles
    if type(loss) is not type(ours) or loss.get_config() != ours.get_config():
        return None
    weights = model.model.get_weights()
    twin = twin_cls(weights[0].shape[0], rnn.units, head.units, model.kind, seed=0)
    twin.set_keras_weights(weights)
    return twin


# -- copying weights between twins ------------------------------------------------------------


def get_weights(model: Any, name: str = "") -> list[np.ndarray]:
    """A model's weights in Keras's order (recurrent layer, then read-out)."""
    if hasattr(model, "get_keras_weights"):
        return model.get_keras_weights()
    if hasattr(model, "model") and hasattr(model.model, "get_weights"):
        return model.model.get_weights()
    raise ValueError(f"model {name!r} has no Keras-layout weights to copy")


def set_weights(model: Any, weights: list[np.ndarray], name: str = "") -> None:
    if hasattr(model, "set_keras_weights"):
        model.set_keras_weights(weights)
    elif hasattr(model, "model") and hasattr(model.model, "set_weights"):
        ours = model.model.get_weights()
        shapes = [np.shape(w) for w in weights]
        if [np.shape(w) for w in ours] != shapes:
            raise ValueError(
                f"weights of shapes {shapes} do not fit {name}'s "
                f"{[np.shape(w) for w in ours]}"
            )
        model.model.set_weights(weights)
    else:
        raise ValueError(f"model {name!r} has no Keras-layout weights to copy into")


# -- the diagnosis: models at initialisation and after training -------------------------------


def diagnose(
    task: str,
    models: Sequence[str],
    length: int,
    seed: int = 0,
    units: int | None = None,
    max_sequences: int | None = None,
    batch: int = DEFAULT_GRADIENT_BATCH,
    same_weights: bool = False,
    forget_bias: float | None = None,
) -> list[dict[str, Any]]:
    """Gradient norms per step of each model, at "init" and "trained"; rows with COLUMNS' keys.

    Every model is a harness SweepCell (same task, length, seed, units, budget) built by the
    harness and trained by its loop, so "trained" is what a sweep cell reaches. The norms are
    measured on the same `batch` sequences (the cell's gradient stream) in both phases. With
    `same_weights`, every model starts from the first model's initial weights (twins only).
    """
    from dataclasses import replace

    from rnnbench.harness import (
        CellResult,
        SweepCell,
        gradient_batch,
        make_model,
        make_task,
        train_model,
    )
    from rnnbench.study import forget_biases_for

    models = list(dict.fromkeys(models))  # a model named twice is measured once
    if not models:
        raise ValueError("give at least one model")
    base = SweepCell(task=task, model=models[0], length=length, seed=seed)
    if units is not None:
        base = replace(base, units=units)
    if max_sequences is not None:
        base = replace(base, max_sequences=max_sequences)
    biases = [] if forget_bias is None else [forget_bias]
    cells = [
        replace(base, model=name, forget_bias=forget_biases_for(name, biases)[0])
        for name in models
    ]

    task_obj = make_task(base)
    x, y = gradient_batch(base, task_obj, batch)
    built = [make_model(cell, task_obj) for cell in cells]
    if same_weights:
        weights = get_weights(built[0], models[0])
        for name, model in zip(models[1:], built[1:], strict=True):
            try:
                set_weights(model, weights, name)
            except ValueError as exc:
                raise ValueError(
                    f"same weights: cannot copy {models[0]}'s weights into {name} ({exc}); "
                    f"twins are {', '.join('/'.join(pair) for pair in TWINS)}"
                ) from None

    inits = [gradient_norms(m, x, y, c.model) for c, m in zip(cells, built, strict=True)]
    rows: list[dict[str, Any]] = []
    for cell, model, init in zip(cells, built, inits, strict=True):  # measured all before training
        result = CellResult()
        train_model(cell, task_obj, model, result)
        trained = gradient_norms(model, x, y, cell.model)
        for phase, norms, seen, acc in (
            ("init", init, 0, math.nan),
            ("trained", trained, result.sequences_seen, result.accuracy),
        ):
            T = len(norms)
            for t, norm in enumerate(norms, start=1):
                rows.append({
                    "step": t, "steps_back": T - t, "norm": float(norm), "model": cell.model,
                    "phase": phase, "task": cell.task, "length": cell.length, "seed": cell.seed,
                    "units": cell.units, "forget_bias": cell.forget_bias,
                    "sequences_seen": seen, "accuracy": acc,
                })
    return rows


def write_csv(rows: Sequence[dict[str, Any]], path: Any) -> None:
    """The rows as a CSV with COLUMNS (missing values empty), replacing any file at `path`."""
    from pathlib import Path

    from rnnbench.csvlog import OutputError, rows_to_csv_text

    path = Path(path)
    text = rows_to_csv_text(rows, columns=COLUMNS)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None


def summary_lines(rows: Sequence[dict[str, Any]]) -> list[str]:
    """One line per (model, phase): the norm at the last and first step, their ratio, and after
    training the held-out accuracy reached."""
    from rnnbench.report import model_label

    lines = []
    keys = dict.fromkeys((r["model"], r["phase"]) for r in rows)
    labels = {r["model"]: model_label(r["model"], r["forget_bias"]) for r in rows}
    width = max(len(label) for label in labels.values())
    for model, phase in keys:
        mine = [r for r in rows if r["model"] == model and r["phase"] == phase]
        first, last = mine[0]["norm"], mine[-1]["norm"]
        ratio = first / last if last > 0 else math.nan
        line = (f"{labels[model]:<{width}}  {phase:<7}  |dL/dh_T| {last:.3g}  "
                f"|dL/dh_1| {first:.3g}  first/last {ratio:.3g}")
        if phase == "trained":
            line += f"  (accuracy {mine[0]['accuracy']:.2f} after {mine[0]['sequences_seen']:,} "
            line += "sequences)"
        lines.append(line)
    return lines


def plot_gradients(rows: Sequence[dict[str, Any]], path: Any, title: str = "") -> None:
    """Log-scale norm against steps back from the end: one colour per model, one style per phase."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rnnbench.report import model_label

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=80)
    models = list(dict.fromkeys(r["model"] for r in rows))
    for i, model in enumerate(models):
        for phase, style in zip(PHASES, ("--", "-"), strict=True):
            mine = [r for r in rows if r["model"] == model and r["phase"] == phase]
            if mine:
                back, norm = zip(*sorted((r["steps_back"], r["norm"]) for r in mine), strict=True)
                label = f"{model_label(model, mine[0]['forget_bias'])} ({phase})"
                ax.plot(back, norm, style, color=f"C{i}", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("steps back from the last step")
    ax.set_ylabel("|dLoss/dh_t|, batch mean")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
