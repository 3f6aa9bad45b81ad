"""numpy-lstm1997 with outputs and errors at every step (the paper's Exp. 1, 2a, 2b): the gradient
against finite differences (truncated and full), the compiled online loop against the NumPy loop,
the per-step outputs against the final-step path, and a short run on the embedded Reber grammar."""

from __future__ import annotations

import numpy as np
import pytest

from rnnbench.models import lstm1997_compiled
from rnnbench.models.lstm1997 import Net1997, NumpyLSTM1997, forward, loss_and_grads
from rnnbench.registry import tasks
from tests.test_lstm1997 import COMPILED_CASES, NETS, make_task, numeric_gradient, random_params

needs_numba = pytest.mark.skipif(lstm1997_compiled.kernel() is None, reason="no numba")


def per_step_batch(net, rng, B=3, T=6):
    x = rng.uniform(-1, 1, (B, T, net.input_dim))
    d = rng.uniform(0, 1, (B, T, net.output_dim))
    lengths = np.array([T, T - 2, 1])[:B]  # padding exercised too
    mask = (rng.uniform(size=(B, T)) < 0.7) & (np.arange(T)[None, :] < lengths[:, None])
    mask[:, 0] = True  # at least one scored step per sequence
    return x, d, lengths, mask.astype(np.float64)


@pytest.mark.parametrize("name", list(NETS))
@pytest.mark.parametrize("truncated", [True, False], ids=["truncated", "full"])
def test_every_step_gradients_match_finite_differences(name, truncated):
    """The objective: the batch mean of E(t)/2 summed over each sequence's scored steps. Full:
    its gradient; truncated: its gradient with the recurrent inputs held (Appendix A.1)."""
    net = NETS[name]
    rng = np.random.default_rng(4)
    params = random_params(net, rng)
    x, d, lengths, mask = per_step_batch(net, rng)
    held = forward(params, net, x, lengths).y if truncated else None

    def loss():
        y_k = forward(params, net, x, lengths, held_y=held, every_step=True).y_k  # (T, B, K)
        err = (y_k.transpose(1, 0, 2) - d) * mask[:, :, None]
        return 0.5 * np.sum(err**2) / len(x)

    value, grads, _ = loss_and_grads(params, net, x, d, lengths, truncated=truncated, mask=mask)
    assert value == pytest.approx(loss(), rel=1e-12)
    numeric = numeric_gradient(loss, params)
    for k in params:
        np.testing.assert_allclose(grads[k], numeric[k], rtol=1e-6, atol=1e-9, err_msg=k)


def test_scoring_only_the_last_step_is_the_final_step_path():
    net = NETS["hidden+classes"]
    rng = np.random.default_rng(6)
    params = random_params(net, rng)
    x, d, lengths, _ = per_step_batch(net, rng)
    last_only = (np.arange(x.shape[1])[None, :] == (lengths - 1)[:, None]).astype(float)
    d_last = d[np.arange(len(x)), lengths - 1]  # (B, K)
    a = loss_and_grads(params, net, x, d, lengths, mask=last_only)
    b = loss_and_grads(params, net, x, d_last, lengths)
    assert a[0] == pytest.approx(b[0], rel=1e-12)
    for k in params:
        np.testing.assert_allclose(a[1][k], b[1][k], rtol=1e-12, atol=1e-15, err_msg=k)
    every = forward(params, net, x, lengths, every_step=True).y_k  # (T, B, K)
    np.testing.assert_allclose(every[lengths - 1, np.arange(len(x))], b[2].y_k, rtol=1e-12)


@needs_numba
@pytest.mark.parametrize("case", list(COMPILED_CASES))
def test_compiled_every_step_loop_equals_numpy_loop(case):
    kind, D, K, net_dict = COMPILED_CASES[case]
    rng = np.random.default_rng(7)
    n, T = 30, 12
    task = make_task(kind, D, K, net_dict)
    x = rng.uniform(-1, 1, (n, T, D))
    lengths = rng.integers(T // 2, T + 1, n)
    if kind == "regression":
        y = rng.uniform(0, 1, (n, T))
    else:
        y = (rng.uniform(size=(n, T, K)) < 0.4).astype(np.float32)  # multi-hot rows
    mask = rng.uniform(size=(n, T)) < 0.8
    runs = []
    for use_compiled in (False, True):
        model = NumpyLSTM1997(Net1997.from_task(task), kind, 0, use_compiled=use_compiled,
                              every_step=True)
        assert (model.compiled_kernel() is not None) == use_compiled
        loss, outputs = model.train_with_outputs(x, y, lengths, mask=mask)
        runs.append((model, loss, outputs))
    (a, loss_a, out_a), (b, loss_b, out_b) = runs
    for k in a.params:
        np.testing.assert_allclose(b.params[k], a.params[k], rtol=0, atol=1e-10, err_msg=k)
    scored = mask & (np.arange(T)[None, :] < lengths[:, None])
    np.testing.assert_allclose(out_b[scored], out_a[scored], rtol=0, atol=1e-10)
    assert loss_b == pytest.approx(loss_a, abs=1e-12)
    untrained = NumpyLSTM1997(Net1997.from_task(task), kind, 0).params
    assert np.abs(b.params["W"] - untrained["W"]).max() > 1e-3  # it did train


def test_predict_gives_every_steps_outputs_and_the_factory_follows_the_task():
    task = tasks.get("embedded-reber-1997")()
    from rnnbench.registry import models

    model = models.get("numpy-lstm1997")(task, 32, 0)
    assert model.every_step and model.num_params == 276
    x, y = task.generate(5, 9, np.random.default_rng(0))
    out = model.predict(x, lengths=task.sequence_lengths(x))
    assert out.shape == y.shape
    adding = models.get("numpy-lstm1997")(tasks.get("adding-1997")(), 32, 0)
    assert not adding.every_step
    # the paper's online regime changes the weights at every step of an every-step task
    assert model.update_when == "step" and adding.update_when == "sequence"
    batched = models.get("numpy-lstm1997")(task, 32, 0, batch_size=64, optimizer="adam")
    assert batched.update_when == "sequence"


def test_the_papers_3x2_net_learns_reber_steps_in_a_short_online_run():
    """Online, lr 0.5, the paper's 276-weight net, 3,000 training strings of a fixed set: the
    share of steps of both sets whose legal successors are the most active rises from near 0
    to over 0.8 (the grammar's local transitions), and some whole strings come right. (All
    512 strings, the paper's success, needs the second symbol remembered: 8,440 strings on
    average in the paper; see docs/hochreiter1997.md for what rnnbench measured.)"""
    task = tasks.get("embedded-reber-1997")()
    task.start_trial(0)
    model = NumpyLSTM1997(Net1997.from_task(task), "classification", 0, every_step=True)
    x_all, y_all = task.fixed_test_set()
    lengths_all = task.sequence_lengths(x_all)

    def shares():
        out = model.predict(x_all, lengths=lengths_all)
        legal, real = y_all > 0, y_all.max(axis=-1) > 0
        lowest = np.where(legal, out, np.inf).min(axis=-1)
        highest = np.where(legal, -np.inf, out).max(axis=-1)
        steps = ((lowest > highest) & real).sum() / real.sum()
        return steps, float(np.mean(task.correct(y_all, out)))

    steps, strings = shares()
    assert steps < 0.2 and strings == 0.0
    rng = np.random.default_rng(1)
    for _ in range(3):
        x, y = task.generate(1000, 9, rng)
        model.train(x, y, task.sequence_lengths(x))
    steps, strings = shares()
    assert steps > 0.8 and strings > 0.05


def test_the_cell_joins_at_a_plateau():
    """Exp. 2b's net (2a's) starts as its input -> output layer alone (the cell's output
    weights zero and frozen), and the cell and its input gate join after the first window of
    1,000 sequences whose mean error is not 5% below the previous window's; the weight count is
    the full net's."""
    from rnnbench.models.lstm1997 import PLATEAU_WINDOW

    task = tasks.get("noise-1997")()  # its error levels off within a few windows
    model = NumpyLSTM1997(Net1997.from_task(task), "classification", 0, every_step=True)
    assert model.num_params == 10_504 and model.cell_added_at is None
    _, z_cells, _ = model.net.output_rows()
    assert np.all(model.params["W_k"][z_cells] == 0)
    cells_before = model.params["W"][:, :2].copy()
    rng = np.random.default_rng(0)
    seen = 0
    while model.cell_added_at is None and seen < 20 * PLATEAU_WINDOW:
        x, y = task.generate(700, 100, rng)  # chunks that do not line up with the windows
        model.train(x, y)
        seen += 700
        if model.cell_added_at is None:
            assert np.all(model.params["W_k"][z_cells] == 0)
            assert np.array_equal(model.params["W"][:, :2], cells_before)  # frozen
    assert model.cell_added_at is not None and model.cell_added_at % PLATEAU_WINDOW == 0
    assert model.cell_added_at >= 2 * PLATEAU_WINDOW  # two windows to compare
    assert np.abs(model.params["W_k"][z_cells]).max() > 0  # its initial weights, now live
    x, y = task.generate(50, 100, rng)
    model.train(x, y)
    assert not np.array_equal(model.params["W"][:, :2], cells_before)  # and learning


def reber_chunk(n=6):
    task = tasks.get("embedded-reber-1997")()
    x, y = task.generate(n, 9, np.random.default_rng(11))
    return task, x.astype(np.float64), y, (y.max(axis=-1) > 0).sum(axis=1)


def weight_change(task, x, y, lengths, update, lr, mask=None):
    model = NumpyLSTM1997(Net1997.from_task(task), "classification", 2, learning_rate=lr,
                          every_step=True, update=update)
    before = {k: v.copy() for k, v in model.params.items()}
    model.train(x, y, lengths, mask)
    return {k: model.params[k] - before[k] for k in before}


@needs_numba
def test_step_updates_follow_the_same_gradient_to_first_order():
    """update='step' changes the weights after each scored step by that step's contribution;
    summed over a sequence that is the per-sequence update up to terms of order lr^2 (the later
    steps see weights moved by the earlier ones). At a large rate the two differ."""
    task, x, y, lengths = reber_chunk()
    small = 1e-6
    seq = weight_change(task, x, y, lengths, "sequence", small)
    step = weight_change(task, x, y, lengths, "step", small)
    for k in seq:
        scale = np.abs(seq[k]).max()
        assert scale > 0
        assert np.abs(step[k] - seq[k]).max() < 1e-4 * scale, k
    seq = weight_change(task, x, y, lengths, "sequence", 0.5)
    step = weight_change(task, x, y, lengths, "step", 0.5)
    assert np.abs(step["W_k"] - seq["W_k"]).max() > 1e-2


@needs_numba
def test_step_updates_with_one_scored_step_are_the_sequence_update():
    task, x, y, lengths = reber_chunk()
    last = np.arange(x.shape[1])[None, :] == (lengths - 1)[:, None]  # (n, T)
    seq = weight_change(task, x, y, lengths, "sequence", 0.5, mask=last)
    step = weight_change(task, x, y, lengths, "step", 0.5, mask=last)
    for k in seq:
        np.testing.assert_allclose(step[k], seq[k], rtol=0, atol=1e-12, err_msg=k)


def test_step_updates_are_refused_outside_the_compiled_online_path():
    net = Net1997.from_task(tasks.get("embedded-reber-1997")())
    with pytest.raises(ValueError, match="update 'step'"):
        NumpyLSTM1997(net, "classification", 0, every_step=True, update="step",
                      use_compiled=False)
    with pytest.raises(ValueError, match="update 'epoch'"):
        NumpyLSTM1997(net, "classification", 0, update="epoch")


@needs_numba
def test_the_papers_net_solves_reber_online_with_updates_at_every_step():
    """Exp. 1 as Table 1's 3x2 net at lr 0.5, weights changed after every step: trial seed 4
    (set pair 1) gets every symbol of all 512 strings right within 10,000 training strings
    (measured: 7,000; the paper's mean 8,440). Checked every 100 strings, as the task's rule."""
    task = tasks.get("embedded-reber-1997")()
    seed = 4
    task.start_trial(seed)
    model = NumpyLSTM1997(Net1997.from_task(task), "classification", seed, every_step=True,
                          update="step")
    x_all, y_all = task.fixed_test_set()
    lengths_all = task.sequence_lengths(x_all)
    rng = np.random.default_rng([seed, 5])
    solved_at = None
    for chunk in range(100):
        x, y = task.generate(100, 9, rng)
        model.train(x, y, task.sequence_lengths(x))
        if task.correct(y_all, model.predict(x_all, lengths_all)).all():
            solved_at = 100 * (chunk + 1)
            break
    assert solved_at is not None and solved_at <= 10_000
