"""Entry-point module of the built-in models: importing it registers them."""

from __future__ import annotations

from typing import Any

from rnnbench.models import keras_models
from rnnbench.models.base import (
    DEFAULT_FORGET_BIAS,
    DEFAULT_GRU_FORGET_BIAS,
    ModelTraits,
    TaskSpec,
    register_model,
    scores_every_step,
)
from rnnbench.models.lstm1997 import Net1997, NumpyLSTM1997
from rnnbench.models.numpy_gru import NumpyGRU
from rnnbench.models.numpy_lstm import NumpyLSTM
from rnnbench.models.numpy_rnn import NumpyRNN

PER_STEP = ModelTraits(per_step=True)  # reads out at every step for a task scored at every step


@register_model("numpy-rnn", traits=PER_STEP)
def numpy_rnn(task: TaskSpec, units: int, seed: int, **hparams: Any) -> NumpyRNN:
    """the lesson's tanh RNN loop in NumPy, hand-written BPTT and Adam"""
    return NumpyRNN(task.input_dim, units, task.output_dim, task.kind, seed, **hparams,
                    per_step=scores_every_step(task))


@register_model("numpy-lstm", traits=PER_STEP)
def numpy_lstm(
    task: TaskSpec, units: int, seed: int, forget_bias: float = DEFAULT_FORGET_BIAS, **hparams: Any
) -> NumpyLSTM:
    """the LSTM as a NumPy loop, hand-written BPTT and Adam; forget_bias as keras-lstm's"""
    return NumpyLSTM(
        task.input_dim, units, task.output_dim, task.kind, seed, forget_bias, **hparams,
        per_step=scores_every_step(task),
    )


@register_model("numpy-gru", traits=PER_STEP)
def numpy_gru(
    task: TaskSpec,
    units: int,
    seed: int,
    forget_bias: float = DEFAULT_GRU_FORGET_BIAS,
    **hparams: Any,
) -> NumpyGRU:
    """the GRU (Keras's, reset_after) as a NumPy loop, hand-written BPTT and Adam; forget_bias as keras-gru's"""  # noqa: E501 - `rnnbench list`'s line
    return NumpyGRU(
        task.input_dim, units, task.output_dim, task.kind, seed, forget_bias, **hparams,
        per_step=scores_every_step(task),
    )


@register_model("numpy-lstm1997")
def numpy_lstm1997(
    task: Any,
    units: int,
    seed: int,
    learning_rate: float | None = None,
    batch_size: int = 1,
    optimizer: str = "sgd",
    gradient: str = "truncated",
) -> NumpyLSTM1997:
    """the 1997 LSTM (no forget gate, truncated gradient; the task sets its size, not units); as the paper trained it with --optimizer sgd --batch-size 1 --learning-rate paper

    Hochreiter & Schmidhuber's net: its topology (and, with learning_rate = "paper" in a study,
    its rate) comes from the task's reference net (`task.reference.net`), else the 93-weight
    adding net of their Section 5.4. Like every model it trains with what the cell says (the
    defaults are Adam, 3e-3, batch 64): the paper's regime is a study's to ask for, as
    tasks/hochreiter1997.toml does, and the row records what ran.
    """  # noqa: E501 - the first line is `rnnbench list`'s description
    net = Net1997.from_task(task)
    return NumpyLSTM1997(net, task.kind, seed, learning_rate, batch_size, optimizer, gradient)


register_model("keras-simplernn", traits=PER_STEP)(keras_models.simple_rnn)
register_model("keras-lstm", traits=PER_STEP)(keras_models.lstm)
register_model("keras-gru", traits=PER_STEP)(keras_models.gru)
