"""The fast NumPy loops compute exactly the lesson's plain path (rnnbench/models/lesson.py).

numpy-rnn, numpy-lstm and numpy-gru rearrange the equations for speed; in float64 their states,
logits, every parameter gradient and every dLoss/dh_t agree with the plain step functions run in
a loop to 1e-10 relative (the rearrangements only reorder roundings: float64's are ~1e-16).
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import in_float64

from rnnbench.models import lesson
from rnnbench.models.numpy_common import readout_loss
from rnnbench.models.numpy_gru import NumpyGRU
from rnnbench.models.numpy_lstm import NumpyLSTM
from rnnbench.models.numpy_rnn import NumpyRNN
from rnnbench.tasks.adding import AddingProblem
from rnnbench.tasks.delayed_recall import DelayedRecall

TASKS = [AddingProblem(), DelayedRecall()]
TASK_IDS = ["adding", "recall"]
RTOL, ATOL = 1e-10, 1e-13


def close(fast, plain, what: str) -> None:
    np.testing.assert_allclose(fast, plain, rtol=RTOL, atol=ATOL, err_msg=what)


def batch(task, n=4, length=9):
    x, y = task.generate(n, length, np.random.default_rng(3))
    return x.astype(np.float64), y


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_numpy_rnn_is_the_plain_rnn_step_in_a_loop(task):
    model = in_float64(NumpyRNN(task.input_dim, 5, task.output_dim, task.kind, seed=0))
    p = model.params
    x, y = batch(task)
    h_fast, logits_fast = model.forward(x)
    _, dlogits = readout_loss(task.kind, logits_fast, y)
    grads_fast, dh_fast = model.backward(x, h_fast, dlogits)

    h = lesson.rnn_forward(x, p["W_x"], p["W_h"], p["b"])
    logits = lesson.linear(h[-1], p["V"], p["c"])
    dh_T, dV, dc = lesson.linear_backward(dlogits, h[-1], p["V"])
    grads, dh = lesson.rnn_backward(x, h, dh_T, p["W_x"], p["W_h"])
    grads.update(V=dV, c=dc)

    close(h_fast, np.stack(h), "h")
    close(logits_fast, logits, "logits")
    assert grads_fast.keys() == grads.keys() == p.keys()
    for name in p:
        close(grads_fast[name], grads[name], name)
    close(dh_fast, np.stack(dh), "dLoss/dh_t")


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_numpy_lstm_is_the_plain_lstm_step_in_a_loop(task):
    model = in_float64(
        NumpyLSTM(task.input_dim, 5, task.output_dim, task.kind, seed=0, forget_bias=1.0)
    )
    p = model.params
    x, y = batch(task)
    states, logits_fast = model.forward(x)
    _, dlogits = readout_loss(task.kind, logits_fast, y)
    grads_fast, dh_fast = model.backward(x, states, dlogits)

    h, c, gates = lesson.lstm_forward(x, p["W_x"], p["W_h"], p["b"])
    logits = lesson.linear(h[-1], p["V"], p["b_out"])
    dh_T, dV, db_out = lesson.linear_backward(dlogits, h[-1], p["V"])
    grads, dh = lesson.lstm_backward(x, h, c, gates, dh_T, p["W_x"], p["W_h"])
    grads.update(V=dV, b_out=db_out)

    close(states.h, np.stack(h), "h")
    close(states.c, np.stack(c), "c")
    close(states.gates, np.stack([np.stack(g) for g in gates]), "gates i, f, k, o")
    close(logits_fast, logits, "logits")
    assert grads_fast.keys() == grads.keys() == p.keys()
    for name in p:
        close(grads_fast[name], grads[name], name)
    close(dh_fast, np.stack(dh), "dLoss/dh_t")


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_numpy_gru_is_the_plain_gru_step_in_a_loop(task):
    model = in_float64(
        NumpyGRU(task.input_dim, 5, task.output_dim, task.kind, seed=0, forget_bias=1.0)
    )
    p = model.params
    p["b"] += np.random.default_rng(1).normal(0, 0.3, p["b"].shape)  # both rows, every gate
    x, y = batch(task)
    states, logits_fast = model.forward(x)
    _, dlogits = readout_loss(task.kind, logits_fast, y)
    grads_fast, dh_fast = model.backward(x, states, dlogits)

    h, caches = lesson.gru_forward(x, p["W_x"], p["W_h"], p["b"])
    logits = lesson.linear(h[-1], p["V"], p["b_out"])
    dh_T, dV, db_out = lesson.linear_backward(dlogits, h[-1], p["V"])
    grads, dh = lesson.gru_backward(x, h, caches, dh_T, p["W_x"], p["W_h"])
    grads.update(V=dV, b_out=db_out)

    close(states.h, np.stack(h), "h")
    close(states.gates, np.stack([np.stack(c[:3]) for c in caches], axis=1), "gates z, r, n")
    close(states.u_n, np.stack([c[3] for c in caches]), "u_n")
    close(logits_fast, logits, "logits")
    assert grads_fast.keys() == grads.keys() == p.keys()
    for name in p:
        close(grads_fast[name], grads[name], name)
    close(dh_fast, np.stack(dh), "dLoss/dh_t")


def test_the_plain_gru_step_is_keras_s_equations():
    """One GRU step by hand: Keras's gate order z, r, h, the two bias rows, the reset applied
    after the recurrent product, and Keras's convention h_t = z h_tm1 + (1 - z) n."""
    rng = np.random.default_rng(0)
    x_t, h_tm1 = rng.normal(size=(2, 3)), rng.normal(size=(2, 2))
    W_x, W_h, b = rng.normal(size=(3, 6)), rng.normal(size=(2, 6)), rng.normal(size=(2, 6))
    h_t, (z, r, n, u_n) = lesson.gru_step(x_t, h_tm1, W_x, W_h, b)
    a, u = x_t @ W_x + b[0], h_tm1 @ W_h + b[1]
    np.testing.assert_allclose(z, 1 / (1 + np.exp(-(a[:, 0:2] + u[:, 0:2]))))
    np.testing.assert_allclose(r, 1 / (1 + np.exp(-(a[:, 2:4] + u[:, 2:4]))))
    np.testing.assert_allclose(n, np.tanh(a[:, 4:6] + r * u[:, 4:6]))
    np.testing.assert_allclose(h_t, z * h_tm1 + (1 - z) * n)


def test_the_plain_steps_are_the_equations():
    """A worked check of one step by hand: sigmoid, the gate order, the additive cell."""
    rng = np.random.default_rng(0)
    x_t, h_tm1, c_tm1 = rng.normal(size=(2, 3)), rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    W_x, W_h, b = rng.normal(size=(3, 8)), rng.normal(size=(2, 8)), rng.normal(size=8)
    h_t, c_t, (i, f, k, o) = lesson.lstm_step(x_t, h_tm1, c_tm1, W_x, W_h, b)
    z = x_t @ W_x + h_tm1 @ W_h + b
    np.testing.assert_allclose(f, 1 / (1 + np.exp(-z[:, 2:4])))  # Keras's order: i, f, k, o
    np.testing.assert_allclose(c_t, f * c_tm1 + i * np.tanh(z[:, 4:6]))
    np.testing.assert_allclose(h_t, o * np.tanh(c_t))
    np.testing.assert_allclose(lesson.rnn_step(x_t, h_tm1, W_x[:, :2], W_h[:, :2], b[:2]),
                               np.tanh(z[:, :2]))


class EveryStep:
    """A classification task scored at every step, with several correct classes at some steps."""

    kind, input_dim, output_dim, steps_scored = "classification", 3, 4, "every"

    def generate(self, n, length, rng):
        x = rng.normal(size=(n, length, 3))
        y = (rng.random((n, length, 4)) < 0.4).astype(np.float64)
        y[..., 0] += y.sum(axis=2) == 0
        return x, y


@pytest.mark.parametrize("name", ["numpy-rnn", "numpy-lstm"])
def test_the_per_step_read_out_is_the_plain_one_at_every_step(name):
    """The fast loops' read-out at every step (with some steps unscored) equal the lesson's
    `linear_every_step` and the backward passes where each step's read-out gradient joins."""
    task = EveryStep()
    cls = NumpyRNN if name == "numpy-rnn" else NumpyLSTM
    model = in_float64(cls(3, 5, 4, "classification", seed=0, per_step=True))
    p = model.params
    x, y = task.generate(4, 6, np.random.default_rng(3))
    mask = np.random.default_rng(4).random((4, 6)) < 0.6
    states, logits_fast = model.forward(x)
    _, dlogits = readout_loss(task.kind, logits_fast, y, mask)  # (B, T, O)
    grads_fast, dh_fast = model.backward(x, states, dlogits)

    out = "c" if name == "numpy-rnn" else "b_out"
    if name == "numpy-rnn":
        h = lesson.rnn_forward(x, p["W_x"], p["W_h"], p["b"])
    else:
        h, c, gates = lesson.lstm_forward(x, p["W_x"], p["W_h"], p["b"])
    logits = lesson.linear_every_step(h, p["V"], p[out])
    per_step = [dlogits[:, t] for t in range(x.shape[1])]
    dh_out, dV, d_out = lesson.linear_every_step_backward(per_step, h, p["V"])
    if name == "numpy-rnn":
        grads, dh = lesson.rnn_backward_every_step(x, h, dh_out, p["W_x"], p["W_h"])
    else:
        grads, dh = lesson.lstm_backward_every_step(x, h, c, gates, dh_out, p["W_x"], p["W_h"])
    grads.update({"V": dV, out: d_out})

    close(logits_fast, np.stack(logits, axis=1), "logits at every step")
    assert grads_fast.keys() == grads.keys() == p.keys()
    for key in p:
        close(grads_fast[key], grads[key], key)
    close(dh_fast, np.stack(dh), "dLoss/dh_t")
    # with only the last step's read-out, the every-step backward is the last-step one
    zeros = [np.zeros_like(g) for g in dh_out[:-1]] + [dh_out[-1]]
    if name == "numpy-rnn":
        last = lesson.rnn_backward(x, h, dh_out[-1], p["W_x"], p["W_h"])
        every = lesson.rnn_backward_every_step(x, h, zeros, p["W_x"], p["W_h"])
    else:
        last = lesson.lstm_backward(x, h, c, gates, dh_out[-1], p["W_x"], p["W_h"])
        every = lesson.lstm_backward_every_step(x, h, c, gates, zeros, p["W_x"], p["W_h"])
    for key in last[0]:
        close(every[0][key], last[0][key], key)


def test_the_gru_s_per_step_read_out_is_the_plain_one_at_every_step():
    """numpy-gru built for a task scored at every step equals `linear_every_step` and
    `gru_backward_every_step`; with only the last step's read-out, that is `gru_backward`."""
    task = EveryStep()
    model = in_float64(NumpyGRU(3, 5, 4, "classification", seed=0, forget_bias=1.0,
                                per_step=True))
    p = model.params
    p["b"] += np.random.default_rng(1).normal(0, 0.3, p["b"].shape)
    x, y = task.generate(4, 6, np.random.default_rng(3))
    mask = np.random.default_rng(4).random((4, 6)) < 0.6
    states, logits_fast = model.forward(x)
    _, dlogits = readout_loss(task.kind, logits_fast, y, mask)  # (B, T, O)
    grads_fast, dh_fast = model.backward(x, states, dlogits)

    h, caches = lesson.gru_forward(x, p["W_x"], p["W_h"], p["b"])
    logits = lesson.linear_every_step(h, p["V"], p["b_out"])
    dh_out, dV, d_out = lesson.linear_every_step_backward(
        [dlogits[:, t] for t in range(x.shape[1])], h, p["V"])
    grads, dh = lesson.gru_backward_every_step(x, h, caches, dh_out, p["W_x"], p["W_h"])
    grads.update(V=dV, b_out=d_out)

    close(logits_fast, np.stack(logits, axis=1), "logits at every step")
    assert grads_fast.keys() == grads.keys() == p.keys()
    for key in p:
        close(grads_fast[key], grads[key], key)
    close(dh_fast, np.stack(dh), "dLoss/dh_t")
    zeros = [np.zeros_like(g) for g in dh_out[:-1]] + [dh_out[-1]]
    last = lesson.gru_backward(x, h, caches, dh_out[-1], p["W_x"], p["W_h"])
    every = lesson.gru_backward_every_step(x, h, caches, zeros, p["W_x"], p["W_h"])
    for key in last[0]:
        close(every[0][key], last[0][key], key)
