"""Entry-point module of the built-in models: importing it registers them, each with its traits.

Each model declares what the machinery needs to know about it (`ModelTraits`: its cost prior, its
memory per (B, T, H) state and per process, its gradient twin); nothing elsewhere recognises a
model by its name. The numbers and where they were measured are beside each declaration.
"""

from __future__ import annotations

from typing import Any

from rnnbench.models import keras_models, lstm1997
from rnnbench.models.base import (
    ModelTraits,
    TaskSpec,
    register_model,
    scores_every_step,
)
from rnnbench.models.lstm1997 import Net1997, NumpyLSTM1997
from rnnbench.models.numpy_exprnn import NumpyExpRNN
from rnnbench.models.numpy_gru import NumpyGRU
from rnnbench.models.numpy_indrnn import NumpyIndRNN
from rnnbench.models.numpy_lstm import NumpyLSTM
from rnnbench.models.numpy_mingru import NumpyMinGRU
from rnnbench.models.numpy_rnn import NumpyRNN
from rnnbench.settings import DEFAULT_FORGET_BIAS, DEFAULT_GRU_FORGET_BIAS

MB = 2**20
# Step costs: benchmarks/README.md (32 units, length 100: numpy-rnn 7.7 ms a step, keras-simplernn
# 12.6, numpy-lstm 32.0, keras-lstm 35.2), relative to numpy-rnn. Overheads: a NumPy model builds
# in milliseconds; a Keras one imports TensorFlow in a fresh worker and traces its train step.
# Memory: (B, T, H) arrays and process footprints are upper bounds measured by
# tests/test_memory_bound.py (peak RSS of a child process running the cell).
# per_step: the model reads out at every step for a task scored at every step (issue 16).
NUMPY_PROCESS = 150 * MB
KERAS_PROCESS = keras_models.KERAS_PROCESS_BYTES
NUMPY_RNN = ModelTraits(per_step=True, cost_weight=1.0, overhead_seconds=0.3, state_arrays=9,
                        process_bytes=NUMPY_PROCESS)
NUMPY_LSTM = ModelTraits(per_step=True, cost_weight=4.2, overhead_seconds=0.3, state_arrays=13,
                         process_bytes=NUMPY_PROCESS)
KERAS_SIMPLERNN = ModelTraits(per_step=True, cost_weight=1.6, overhead_seconds=2.0,
                              state_arrays=20, process_bytes=KERAS_PROCESS,
                              gradient_twin="numpy-rnn")
KERAS_LSTM = ModelTraits(per_step=True, cost_weight=4.6, overhead_seconds=2.0, state_arrays=20,
                         process_bytes=KERAS_PROCESS, gradient_twin="numpy-lstm")
# The 1997 net's step cost depends on its path (benchmarks/README.md, T = 100: its numba online
# kernel 0.024 ms a sequence, ~5x cheaper than numpy-rnn a sequence-step; its NumPy loop 5.06 ms,
# ~40x dearer): priced as a Keras LSTM, as before traits, until its own cells are timed.
# Its memory: its own function (its width comes from the task, its arrays are float64).
NUMPY_LSTM1997 = ModelTraits(per_step=True, cost_weight=4.6, overhead_seconds=2.0,
                             process_bytes=NUMPY_PROCESS,
                             memory_bytes=lstm1997.memory_bytes)
# The GRU's step costs, from one interleaved run of benchmarks/steps.py's step timing (length 100,
# a loaded machine: numpy-gru 58.6 ms, numpy-lstm 70.6, keras-gru 65.8, keras-lstm 61.7): numpy-gru
# the LSTM's scaled by it, keras-gru as keras-lstm (within that run's noise of it). numpy-gru's
# (B, T, H) arrays: h, its three gates and u_n forward; four factors, four pre-activation
# gradients and dLoss/dh_t backward: 14, declared with a margin.
NUMPY_GRU = ModelTraits(per_step=True, cost_weight=3.5, overhead_seconds=0.3, state_arrays=16,
                        process_bytes=NUMPY_PROCESS)
KERAS_GRU = ModelTraits(per_step=True, cost_weight=4.6, overhead_seconds=2.0, state_arrays=20,
                        process_bytes=KERAS_PROCESS, gradient_twin="numpy-gru")
# The cells of issue 18. Step costs against numpy-rnn at the studies' shape (length 100, batch 64,
# 32 units), on a loaded machine, so a mean: IndRNN 2.4 and 1.5 (two runs of benchmarks/steps.py),
# expRNN 1.6 (a timing of `train`) and 0.8 (steps.py), minGRU 5.8 and 5.2 (the same two).
# State arrays: about twice the peak NumPy allocation of a training step in (B, T, H) float32
# arrays (IndRNN 6.4, expRNN 5.4, minGRU 12.4, against numpy-rnn 4.3 and numpy-lstm 8.5 measured
# the same way, which declare 9 and 13); tests/test_new_cell_traits.py and the child processes
# of tests/test_memory_bound.py check them. expRNN's process imports scipy.linalg (+27 MB RSS).
NUMPY_INDRNN = ModelTraits(per_step=True, cost_weight=2.0, overhead_seconds=0.3, state_arrays=16,
                           process_bytes=NUMPY_PROCESS)
NUMPY_EXPRNN = ModelTraits(per_step=True, cost_weight=1.2, overhead_seconds=0.3, state_arrays=16,
                           process_bytes=NUMPY_PROCESS + 40 * MB)
NUMPY_MINGRU = ModelTraits(per_step=True, cost_weight=5.5, overhead_seconds=0.3, state_arrays=24,
                           process_bytes=NUMPY_PROCESS)


@register_model("numpy-rnn", traits=NUMPY_RNN)
def numpy_rnn(task: TaskSpec, units: int, seed: int, **hparams: Any) -> NumpyRNN:
    """the lesson's tanh RNN loop in NumPy, hand-written BPTT and Adam"""
    return NumpyRNN(task.input_dim, units, task.output_dim, task.kind, seed, **hparams,
                    per_step=scores_every_step(task))


@register_model("numpy-lstm", traits=NUMPY_LSTM)
def numpy_lstm(
    task: TaskSpec, units: int, seed: int, forget_bias: float = DEFAULT_FORGET_BIAS, **hparams: Any
) -> NumpyLSTM:
    """the LSTM as a NumPy loop, hand-written BPTT and Adam; forget_bias as keras-lstm's"""
    return NumpyLSTM(
        task.input_dim, units, task.output_dim, task.kind, seed, forget_bias, **hparams,
        per_step=scores_every_step(task),
    )


@register_model("numpy-gru", traits=NUMPY_GRU)
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


@register_model("numpy-lstm1997", traits=NUMPY_LSTM1997)
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
    every_step = scores_every_step(task)
    # The paper's online regime with errors at every step changes the weights at every step
    # ("time t's contribution to w_lm's update", App. A.1 eq. 17): with batch 1, plain SGD and
    # the truncated gradient, an every-step task trains so (docs/hochreiter1997.md measures
    # it against one change per sequence); otherwise once per sequence (mini-batch).
    online = optimizer == "sgd" and batch_size == 1 and gradient == "truncated"
    return NumpyLSTM1997(
        net, task.kind, seed, learning_rate, batch_size, optimizer, gradient,
        every_step=every_step, update="step" if every_step and online else "sequence",
    )  # fmt: skip


@register_model("numpy-indrnn", traits=NUMPY_INDRNN)
def numpy_indrnn(task: TaskSpec, units: int, seed: int, **hparams: Any) -> NumpyIndRNN:
    """IndRNN (Li et al. 2018): 2 ReLU layers, h = relu(Wx + u*h + b), |u| <= 2^(1/T), NumPy BPTT

    T is the length of the first batch the model sees (a factory is not told the length), raised
    by any longer batch it trains on.
    """
    return NumpyIndRNN(task.input_dim, units, task.output_dim, task.kind, seed, **hparams,
                       per_step=scores_every_step(task))


@register_model("numpy-exprnn", traits=NUMPY_EXPRNN)
def numpy_exprnn(task: TaskSpec, units: int, seed: int, **hparams: Any) -> NumpyExpRNN:
    """expRNN (Lezcano-Casado & Martinez-Rubio 2019): orthogonal W = expm(A), modReLU, NumPy BPTT"""
    return NumpyExpRNN(task.input_dim, units, task.output_dim, task.kind, seed, **hparams,
                       per_step=scores_every_step(task))


@register_model("numpy-mingru", traits=NUMPY_MINGRU)
def numpy_mingru(task: TaskSpec, units: int, seed: int, **hparams: Any) -> NumpyMinGRU:
    """minGRU (Feng et al. 2024): gates read x only; trained by a log-space parallel scan, NumPy"""
    return NumpyMinGRU(task.input_dim, units, task.output_dim, task.kind, seed, **hparams,
                       per_step=scores_every_step(task))


register_model("keras-simplernn", traits=KERAS_SIMPLERNN)(keras_models.simple_rnn)
register_model("keras-lstm", traits=KERAS_LSTM)(keras_models.lstm)
register_model("keras-gru", traits=KERAS_GRU)(keras_models.gru)
