"""Keras model builders: SimpleRNN, LSTM and any registered Keras RNN cell, with a Dense read-out.

Keras and TensorFlow are imported inside the functions, so `rnnbench --help` stays instant.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from rnnbench import registry
from rnnbench.models.base import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CLIPNORM,
    DEFAULT_LEARNING_RATE,
    TRAITS_ATTRIBUTE,
    ModelTraits,
    TaskSpec,
    initial_gru_bias,
    initial_lstm_bias,
    register_model,
    scores_every_step,
)
from rnnbench.quiet import import_framework
from rnnbench.schema import DEFAULT_OPTIMIZER, OPTIMIZERS
from rnnbench.settings import DEFAULT_FORGET_BIAS, DEFAULT_GRU_FORGET_BIAS


def import_keras() -> Any:
    """Import Keras with TensorFlow's start-up chatter silenced (a user's setting wins).

    The native start-up lines, which no setting stops, go to a log file (rnnbench.quiet).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    keras = import_framework()

    # Each new model retraces its predict function once; TensorFlow warns about it every time.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    return keras


class KerasModel:
    """A compiled `keras.Model` (recurrent layer -> Dense) behind the rnnbench Model contract."""

    def __init__(self, model: Any, kind: str, batch_size: int, per_step: bool = False) -> None:
        self.model = model
        self.kind = kind
        self.batch_size = batch_size
        self.per_step = per_step  # the recurrent layer returns every step's state
        self.num_params = int(model.count_params())
        self.model_backend = import_keras().backend.backend()

    def train(self, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> float:
        """One pass over (x, y) in order, in mini-batches; the mean loss, weighted by batch size.

        A per-step model takes y (n, T) or (n, T, K) and `mask` (n, T), packed into one target
        array for the compiled loss (`pack_per_step`): each batch's loss is its mean over the
        scored steps.

        The steps of `model.fit(x, y, batch_size, shuffle=False)`. On TensorFlow they go through
        `train_on_batch`: fit builds a data pipeline, an iterator and callbacks on every call,
        1.1-1.3x a step's time over a chunk here. On JAX and PyTorch `train_on_batch` was the
        slower one (it syncs the variables back after every step), so fit it is
        (benchmarks/README.md).
        """
        x = np.asarray(x, np.float32)
        if self.per_step:
            y = pack_per_step(self.kind, y, mask)
        if self.model_backend != "tensorflow":
            history = self.model.fit(
                x, y, batch_size=self.batch_size, epochs=1, shuffle=False, verbose=0
            )
            return float(history.history["loss"][-1])  # Keras reports the epoch's mean loss
        total = 0.0
        for start in range(0, len(x), self.batch_size):
            stop = start + self.batch_size
            loss = self.model.train_on_batch(x[start:stop], y[start:stop])
            total += float(loss) * len(x[start:stop])  # fit's epoch loss weighs batches by size
        return total / len(x)

    def predict(self, x: np.ndarray) -> np.ndarray:
        # predict_on_batch skips fit/predict's per-call set-up, which costs more than the work here.
        out = np.asarray(self.model.predict_on_batch(np.asarray(x, np.float32)))
        return out[..., 0] if self.kind == "regression" else out


def pack_per_step(kind: str, y: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Per-step targets and their mask as one float32 array, the compiled loss's y_true.

    regression y (n, T) -> (n, T, 2) [value, mask]; classification y (n, T, K) -> (n, T, K+1)
    [target row, mask]. Keras passes y_true to the loss whole, so the mask rides along.
    """
    y = np.asarray(y, np.float32)
    target = y[..., None] if kind == "regression" else y  # (n, T, 1) or (n, T, K)
    m = np.ones(target.shape[:2], np.float32) if mask is None else np.asarray(mask, np.float32)
    return np.concatenate([target, m[..., None]], axis=2)


PER_STEP_LOSS = "per_step_readout_loss"  # the name of the compiled per-step loss


def keras_readout_loss(kind: str, per_step: bool = False) -> Any:
    """The Keras loss of a task's read-out: mean squared error, or cross-entropy on logits.

    Per step (y_true packed by `pack_per_step`): the mean over the scored steps of the squared
    error, or of the cross-entropy against the target row normalised to sum 1, as
    rnnbench.models.numpy_common.per_step_readout_loss.
    """
    keras = import_keras()

    if per_step:
        return per_step_loss_class()(kind)
    if kind == "regression":
        return keras.losses.MeanSquaredError()
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


_PER_STEP_LOSS_CLASS: list[type] = []  # made once, on first use (it subclasses a Keras class)


def per_step_loss_class() -> type:
    """The Keras loss class of a per-step read-out (made on first use: Keras is imported late)."""
    if _PER_STEP_LOSS_CLASS:
        return _PER_STEP_LOSS_CLASS[0]
    keras = import_keras()
    ops = keras.ops

    class PerStepReadoutLoss(keras.losses.Loss):  # type: ignore[name-defined]
        """Mean over the scored steps; y_true packed as `pack_per_step` packs it."""

        def __init__(self, kind: str) -> None:
            super().__init__(name=PER_STEP_LOSS)
            self.kind = kind

        def call(self, y_packed: Any, logits: Any) -> Any:  # (B, T, K+1), (B, T, O)
            m = y_packed[..., -1]  # (B, T) the scored steps
            target = y_packed[..., :-1]  # (B, T, K), or (B, T, 1) for regression
            if self.kind == "regression":
                per = ops.square(logits[..., 0] - target[..., 0])  # (B, T)
            else:
                q = target / ops.maximum(ops.sum(target, axis=-1, keepdims=True), 1e-30)
                per = -ops.sum(q * ops.log_softmax(logits, axis=-1), axis=-1)  # (B, T)
            return ops.sum(per * m) / ops.maximum(ops.sum(m), 1.0)  # mean over scored steps

        def get_config(self) -> dict[str, Any]:
            return {"name": self.name, "kind": self.kind}

    _PER_STEP_LOSS_CLASS.append(PerStepReadoutLoss)
    return PerStepReadoutLoss


def keras_optimizer(name: str, learning_rate: float, clipnorm: float) -> Any:
    """Adam with per-variable clipnorm (the default), or plain SGD as the 1997 paper trains."""
    keras = import_keras()
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, clipnorm=clipnorm)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    raise ValueError(f"optimizer {name!r} is not known; allowed: {', '.join(OPTIMIZERS)}")


def build_keras_model(
    task: TaskSpec,
    recurrent_layer: Any,
    seed: int,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    batch_size: int = DEFAULT_BATCH_SIZE,
    clipnorm: float = DEFAULT_CLIPNORM,
    jit_compile: bool | str = "auto",
    optimizer: str = DEFAULT_OPTIMIZER,
) -> KerasModel:
    """Wrap `recurrent_layer` with the task's read-out and loss.

    The layer returns its last state, or every step's (`return_sequences=True`, which the
    builders set for a task scored at every step): the Dense read-out then runs at every step.

    `jit_compile` goes to `Model.compile`: "auto" is Keras's choice (XLA on JAX, and on
    TensorFlow only with a GPU).
    """
    keras = import_keras()

    inputs = keras.Input((None, task.input_dim))
    state = recurrent_layer(inputs)
    outputs = keras.layers.Dense(
        task.output_dim, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1)
    )(state)
    model = keras.Model(inputs, outputs)
    per_step = bool(getattr(recurrent_layer, "return_sequences", False))
    if per_step != scores_every_step(task):
        raise ValueError(
            f"the recurrent layer has return_sequences={per_step}, but the task scores "
            f"{'every step' if scores_every_step(task) else 'the last step'}"
        )
    key = _reuse_key(task, recurrent_layer, learning_rate, batch_size, clipnorm, jit_compile,
                     optimizer)
    traced = _TRACED.get(key) if key is not None else None
    if traced is not None and _restart(traced, model):
        return KerasModel(traced, task.kind, batch_size, per_step)
    model.compile(
        optimizer=keras_optimizer(optimizer, learning_rate, clipnorm),
        loss=keras_readout_loss(task.kind, per_step),
        jit_compile=jit_compile,
    )
    if key is not None:
        _TRACED[key] = model
    else:
        global _untraced_builds
        _untraced_builds += 1
    return KerasModel(model, task.kind, batch_size, per_step)


# -- reusing traced models --------------------------------------------------------------------
#
# A Keras model's first train step traces its train function (about 1.1 s here, more than many
# small cells train for), and its first predict traces another. A worker that runs cell after
# cell therefore keeps one compiled, traced model per architecture and, for each new cell, builds
# the cell's model as usual (40-90 ms: the initializers run exactly as in a fresh build, from the
# cell's seed) but does not compile it: its initial weights are copied into the kept model and
# the kept model's optimizer state (Adam's step count and moments) is zeroed. The cell then trains
# exactly as a freshly built model would (benchmarks/README.md compares the rows).
#
# Off unless a caller turns it on (`reuse_traced_models`): only a process that runs one cell at a
# time, and keeps no model of an earlier cell, may share a model between cells.

_TRACED: dict[tuple[Any, ...], Any] = {}
_reuse_on = False
_untraced_builds = 0  # Keras models built and compiled outside the reuse cache


def reuse_traced_models(on: bool = True) -> None:
    """Turn reuse on (or off, which also forgets the kept models) for this process."""
    global _reuse_on
    _reuse_on = on
    if not on:
        _TRACED.clear()


def built_untraced_models() -> int:
    """How many Keras models were compiled outside the reuse cache so far (for clean-up)."""
    return _untraced_builds


@contextlib.contextmanager
def worker_cell_scope() -> Iterator[None]:
    """What a worker process does around each cell for the Keras models (a registered cell scope).

    A worker keeps one traced model per Keras architecture (`reuse_traced_models`: each cell
    restarts it from the weights a fresh build gets), so only a cell that compiled a model
    outside that cache (a plugin layer without a config, say) has its Keras session cleared
    afterwards; a NumPy cell leaves Keras alone.
    """
    reuse_traced_models(True)
    before = built_untraced_models()
    try:
        yield
    finally:
        keras = sys.modules.get("keras")
        if keras is not None and built_untraced_models() != before:
            keras.backend.clear_session()


registry.register_cell_scope(worker_cell_scope)


def seed_random(seed: int) -> None:
    """Seed what a model build draws from, as `keras.utils.set_random_seed` does.

    That seeds Python's and NumPy's generators, Keras's global seed and TensorFlow's; but
    TensorFlow's `tf.random.set_seed` also clears the eager context's kernel cache (so that a
    cached stateful random op restarts from the new seed), which throws away the instantiated
    train and predict functions of every model a worker keeps: each cell then paid their
    re-instantiation on its first train step and its first predict (about 0.17 s of CPU a cell
    for keras-lstm, more than its 512 sequences' training; benchmarks/fixed_cost.py). So in a
    process that reuses traced models on TensorFlow, TensorFlow's eager seed is set as
    `tf.random.set_seed` sets it, minus the clearing. Nothing in a kept model needs the clearing:
    a layer with dropout is never kept (`_reuse_key`), and Keras 3 draws its random numbers from
    stateless ops seeded by its own seed, not from TensorFlow's stateful kernels.
    """
    keras = import_keras()
    context = _tensorflow_eager_context() if _reuse_on else None
    if context is None:
        keras.utils.set_random_seed(seed)
        return
    global_state = sys.modules["keras.src.backend.common.global_state"]
    seed_generator = sys.modules["keras.src.random.seed_generator"]
    rng_utils = sys.modules["keras.src.utils.rng_utils"]
    global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - the legacy global generator, as Keras seeds it
    context._seed = seed  # what context.set_global_seed sets, but for TFE_ContextClearCaches
    context._rng = random.Random(seed)


def _tensorflow_eager_context() -> Any:
    """TensorFlow's eager context, if Keras runs on TensorFlow and its seed can be set as
    `seed_random` sets it (the private names checked); else None."""
    keras = import_keras()
    if keras.backend.backend() != "tensorflow":
        return None
    needed = ("keras.src.backend.common.global_state", "keras.src.random.seed_generator",
              "keras.src.utils.rng_utils", "tensorflow.python.eager.context")
    if any(name not in sys.modules for name in needed):
        return None
    context = sys.modules["tensorflow.python.eager.context"].context()
    if not (hasattr(context, "_seed") and hasattr(context, "_rng")):
        return None
    return context


def _architecture(config: Any) -> Any:
    """A layer config without what only sets initial values (initializers, seeds, names)."""
    if isinstance(config, dict):
        return tuple(
            (k, _architecture(v)) for k, v in sorted(config.items())
            if not k.endswith("initializer") and k not in ("name", "seed")
        )
    if isinstance(config, (list, tuple)):
        return tuple(_architecture(v) for v in config)
    return repr(config)


def _reuse_key(task: Any, layer: Any, *settings: Any) -> tuple[Any, ...] | None:
    """What a kept model must share with the cell's; None when the model must not be shared."""
    if not _reuse_on:
        return None
    try:
        config = layer.get_config()
    except Exception:  # noqa: BLE001 - a plugin layer without a config is built afresh each cell
        return None
    if any(k.endswith("dropout") and v for k, v in _walk(config)):
        return None  # random per step: its generator's state would carry over between cells
    keras = import_keras()
    return (type(layer).__module__, type(layer).__qualname__, _architecture(config),
            task.input_dim, task.output_dim, task.kind, scores_every_step(task),
            keras.backend.backend(), *settings)


def _walk(config: Any) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    if isinstance(config, dict):
        for k, v in config.items():
            pairs += _walk(v) if isinstance(v, (dict, list, tuple)) else [(str(k), v)]
    elif isinstance(config, (list, tuple)):
        for v in config:
            pairs += _walk(v)
    return pairs


def _restart(traced: Any, fresh: Any) -> bool:
    """Give `traced` the fresh model's initial weights and a zeroed optimizer state.

    False (nothing changed) if their weights do not have the same shapes.
    """
    weights = fresh.get_weights()
    if [w.shape for w in weights] != [tuple(v.shape) for v in traced.weights]:
        return False
    traced.set_weights(weights)
    optimizer = traced.optimizer
    learning_rate = getattr(optimizer, "_learning_rate", None)
    for variable in optimizer.variables:
        if variable is not learning_rate:  # the step count and Adam's moments start at zero
            variable.assign(np.zeros(tuple(variable.shape), variable.dtype))
    return True


def simple_rnn(task: TaskSpec, units: int, seed: int, **hparams: Any) -> KerasModel:
    """keras.layers.SimpleRNN (tanh) + Dense read-out"""
    keras = import_keras()

    seed_random(seed)
    layer = keras.layers.SimpleRNN(
        units,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        recurrent_initializer=keras.initializers.Orthogonal(seed=seed),
        return_sequences=scores_every_step(task),
    )
    return build_keras_model(task, layer, seed, **hparams)


def lstm(
    task: TaskSpec, units: int, seed: int, forget_bias: float = DEFAULT_FORGET_BIAS, **hparams: Any
) -> KerasModel:
    """keras.layers.LSTM + Dense read-out; forget_bias sets the forget gate's initial bias"""
    keras = import_keras()

    seed_random(seed)
    layer = keras.layers.LSTM(
        units,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        recurrent_initializer=keras.initializers.Orthogonal(seed=seed),
        unit_forget_bias=False,
        bias_initializer=lstm_bias_initializer(units, forget_bias),
        return_sequences=scores_every_step(task),
    )
    # No XLA on TensorFlow's CPU path (Keras's "auto"): it made a step only 1.15x faster here,
    # and the teaching study's lag-100 LSTM cells ended differently with it (benchmarks/README.md).
    return build_keras_model(task, layer, seed, **hparams)


def gru(
    task: TaskSpec,
    units: int,
    seed: int,
    forget_bias: float = DEFAULT_GRU_FORGET_BIAS,
    **hparams: Any,
) -> KerasModel:
    """keras.layers.GRU (reset_after) + Dense read-out; forget_bias sets the update gate's initial bias (0 as Keras)"""  # noqa: E501 - `rnnbench list`'s line
    keras = import_keras()

    seed_random(seed)
    layer = keras.layers.GRU(
        units,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        recurrent_initializer=keras.initializers.Orthogonal(seed=seed),
        bias_initializer=bias_initializer(initial_gru_bias(units, forget_bias)),
        reset_after=True,  # Keras's default, named: numpy-gru computes this variant
        return_sequences=scores_every_step(task),
    )
    return build_keras_model(task, layer, seed, **hparams)


def lstm_bias_initializer(units: int, forget_bias: float) -> Callable[..., Any]:
    """A Keras initializer giving `initial_lstm_bias`."""
    return bias_initializer(initial_lstm_bias(units, forget_bias))


def bias_initializer(bias: np.ndarray) -> Callable[..., Any]:
    """A Keras initializer giving the array `bias` (reshaped to the weight's shape)."""
    keras = import_keras()

    def init(shape: Any, dtype: Any = None, **_: Any) -> Any:
        return keras.ops.convert_to_tensor(bias.reshape(shape), dtype=dtype or "float32")

    return init


KERAS_PROCESS_BYTES = 1200 * 2**20  # a worker with TensorFlow and Keras imported
# A registered cell's traits: a Keras model (its process and overhead are known), its step cost
# and memory per state are not (priced and sized as a Keras LSTM, the defaults).
CELL_TRAITS = ModelTraits(per_step=True, overhead_seconds=2.0, process_bytes=KERAS_PROCESS_BYTES)


def cell_model_factory(cell_cls: type) -> Callable[..., KerasModel]:
    """A model builder for any Keras RNN cell class whose constructor takes `units`."""

    def factory(task: TaskSpec, units: int, seed: int, **hparams: Any) -> KerasModel:
        keras = import_keras()

        seed_random(seed)
        layer = keras.layers.RNN(cell_cls(units), return_sequences=scores_every_step(task))
        return build_keras_model(task, layer, seed, **hparams)

    doc = (cell_cls.__doc__ or "").strip()
    summary = f": {doc.splitlines()[0]}" if doc else ""
    # A function attribute, read by `rnnbench list` (registry.Entry.description)
    factory.description = (  # type: ignore[attr-defined]
        f"keras.layers.RNN({cell_cls.__name__}) + Dense read-out{summary}"
    )
    factory.__module__ = cell_cls.__module__  # so the registry attributes it to the plugin
    factory.__qualname__ = f"cell_model[{cell_cls.__name__}]"
    setattr(factory, TRAITS_ATTRIBUTE, CELL_TRAITS)
    return factory


def register_cell(name: str) -> Callable[[type], type]:
    """Class decorator: a Keras RNN cell class becomes a full model builder named `name`.

    Args:
        name: the model's name in studies, on the command line and in result rows.

    Returns:
        A decorator that registers `keras.layers.RNN(cell_cls(units))` + a Dense read-out (the
        task's loss, Adam, as keras-lstm) as a model, and returns the cell class unchanged. The
        model reads out at every step for a task scored at every step (`ModelTraits.per_step`).
    """

    def decorate(cell_cls: type) -> type:
        register_model(name, traits=CELL_TRAITS)(cell_model_factory(cell_cls))
        return cell_cls

    return decorate
