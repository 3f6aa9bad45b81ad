"""The LSTM of Hochreiter & Schmidhuber (1997) as a NumPy loop: memory cells with input and output
gates, no forget gate, trained online by the paper's truncated gradient and plain gradient descent.

One hidden layer of memory cell blocks (Section 4, Appendix A.1; Section 5 for the step order).
With Table 10's connectivity "F" every hidden unit reads the inputs, all hidden units at t-1 and a
bias:

    u_t    = [x_t, y_{t-1}, 1]                       (B, M)   M = D + R + 1
    net_t  = u_t @ W                                 (B, R)   R = C + 2 NB + H hidden units
    y_in   = f(net_in),  y_out = f(net_out)          (B, NB)  one input and output gate per block
    s_t    = s_{t-1} + y_in[blk] * g(net_c)          (B, C)   the CEC: self-weight fixed at 1.0
    y_c    = y_out[blk] * h(s_t)                     (B, C)   memory cell outputs
    y_h    = f(net_h)                                (B, H)   conventional hidden units, if any
    y_t    = [y_c, y_in, y_out, y_h]                 (B, R)   "the hidden layer is fully connected"
    y_k    = f_k([y_c, y_h, 1] @ W_k)                (B, K)   output units read cells (and hidden)

with f the logistic sigmoid, g = 4 f - 2 in [-2, 2] and h = 2 f - 1 in [-1, 1] (eqs. 3-5), and
blk[c] the block of cell c. The target is read at each sequence's last real step (the paper's
Experiments 3-6 signal errors at sequence ends), or, for a task scored at every step (Exp. 1, 2a,
2b: "error signals occur at every time step"), at every scored step t, y_k(t) = f_k(z_t W_k).

Exp. 2a/2b's net (Section 5.2, Table 10 rows 2a, 2b) differs in four ways, all options here:
- no output gates ("no og"): y_out := 1, so y_c = h(s_t) and R = C + NB + H;
- h the identity ("id"): y_c = y_out s_t;
- g the logistic sigmoid f, range [0, 1] ("g1"; "g is the logistic sigmoid", Section 5.2);
- connectivity "B", "each layer receives connections from all layers below": the hidden layer
  reads the inputs only (no y_{t-1}: the rows of W for the recurrent sources are absent; the
  CEC's fixed self-connection is the only recurrence, as the RTRL net's self-recurrent hidden unit
  was), and the output layer reads the inputs and the cells, y_k = f_k([x_t, y_c, y_h, 1] @ W_k),
  with x_t and y_c of the same step (Section 5's step order: inputs, hidden units, outputs).
  With no recurrent weights the truncated and the full gradient are the same.
The paper adds 2a's memory cell and input gate "once the error has stopped decreasing" (Section
5.2, pointing at Section 4's abuse problem, solution (1)) and does not say how that is decided;
with `cell_added = "plateau"` (the published 2a/2b tasks) this model starts without them and adds
them at a plateau by rnnbench's rule (`PLATEAU_WINDOW`, `PLATEAU_DROP`); otherwise it builds the
final net from the start.

Error: E = sum_k (d_k - y_k)^2 (eq. 16), the figure `train` reports (the mean over sequences). The
paper's update rule drops eq. 16's factor 2 (e_k = f'_k (d_k - y_k), eq. 19), so the objective
whose gradient is followed is E / 2: a learning rate means what it means in the paper.

Errors at every step: the objective is the sum over a sequence's scored steps of E(t) / 2, and the
weights change once per sequence by its gradient (the paper counts "sequence presentations" and
says only that learning is online; one update per sequence is the reading taken, as for the
final-step tasks, so the compiled online loop and the NumPy loop compute the same thing). `train`
reports the mean of E(t) over scored steps.

Gradient (Appendix A.1). The paper's truncated one (default): errors reaching the net inputs of
cells and gates do not flow further back in time; they flow back only along the CEC, s_{t-1} <- s_t,
unscaled. That is exactly the gradient of the loss with the recurrent inputs y_{t-1} in u_t held at
their recorded values (`forward(held_y=...)` computes that loss, which the tests differentiate).
`gradient="full"` is full BPTT through the recurrent weights as well.

Topology comes from the task: `task.reference.net` (a dict, see `Net1997.KEYS` and `BUILT`), else
the adding net of Section 5.4: 2 blocks of 2 cells, input gate biases -3 and -6, lr 0.5, 93 weights.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from rnnbench.models.numpy_common import Adam

# -- the topology ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Net1997:
    """One 1997 LSTM architecture: Table 10's columns b, S, in, out, c, ogb, igb, bias, h, g and
    alpha."""

    input_dim: int
    output_dim: int
    blocks: int = 2
    cells_per_block: int = 2
    hidden_units: int = 0  # conventional logistic hidden units (none in Experiments 1, 3-6)
    input_gate_bias: tuple[float, ...] | None = None  # per block; None: random like the rest
    output_gate_bias: tuple[float, ...] | None = None  # per block; None: random ("r" in Table 10)
    learning_rate: float = 0.5
    weight_init: float = 0.1  # every weight (and bias) starts U[-weight_init, weight_init]
    output_activation: str = "logistic"  # or "linear"
    bias: str = "all"  # which units have biases: "all" non-input, "hidden" (b1), "gates" (ga),
    # or "none"
    output_gate: bool = True  # False: no output gates, y_out := 1 (Table 10's "no og", Exp. 2)
    connectivity: str = "F"  # Table 10's c: "F" (hidden layer fully connected) or "B" (layered)
    h: tuple[float, float] | str = (-1.0, 1.0)  # h's range (2 f - 1, eq. 4) or "identity"
    g: tuple[float, float] = (-2.0, 2.0)  # g's range: (-2, 2) is 4 f - 2 (eq. 5), (0, 1) is f
    # When the memory cells and their input gates join the net: "start", or "plateau" (Exp.
    # 2a/2b: "added once the error has stopped decreasing"; the rule: `PLATEAU_WINDOW`)
    cell_added: str = "start"

    KEYS = (
        "blocks", "cells_per_block", "hidden_units", "input_gate_bias", "output_gate_bias",
        "learning_rate", "weight_init", "output_activation", "bias", "cell_added",
    )  # fmt: skip

    # The task's reference net's enumerated choices, and the values this model builds: a net that
    # needs another is refused by name rather than silently built as something else.
    BUILT = {
        "output_gate": (True, False), "connectivity": ("F", "B"),
        "h": ((-1.0, 1.0), "identity"), "g": ((-2.0, 2.0), (0.0, 1.0)),
        "output_activation": ("logistic", "sigmoid", "linear"),
    }  # fmt: skip
    DESCRIPTIVE = ("notes", "weights")  # carried along; `weights` is checked after building

    def __post_init__(self) -> None:
        if self.output_activation not in ("logistic", "linear"):
            raise ValueError(
                f"output_activation {self.output_activation!r}; allowed: 'logistic', 'linear'"
            )
        if self.cell_added not in ("start", "plateau"):
            raise ValueError(f"cell_added {self.cell_added!r}; allowed: 'start', 'plateau'")
        if self.bias not in ("all", "hidden", "gates", "none"):
            raise ValueError(f"bias {self.bias!r}; allowed: 'all', 'hidden', 'gates', 'none'")
        for key in ("output_gate", "connectivity", "h", "g"):
            value, built = _as_tuple(getattr(self, key)), self.BUILT[key]
            if value not in built:
                raise ValueError(f"{key} {value!r}; allowed: {', '.join(map(repr, built))}")
            object.__setattr__(self, key, value)  # lists from a task become tuples
        for name in ("input_gate_bias", "output_gate_bias"):
            value = getattr(self, name)
            if value is not None and len(value) != self.blocks:
                raise ValueError(f"{name} {value!r} needs one value per block ({self.blocks})")
        if self.output_gate_bias is not None and not self.output_gate:
            raise ValueError("output_gate_bias given for a net without output gates")

    @classmethod
    def from_task(cls, task: Any) -> Net1997:
        """The task's `reference.net` dict if it has one, else the adding net (Section 5.4).

        Raises:
            ValueError: the net has a key this model does not know, or a feature it does not
                build (named, with what it builds), or the built net's weight count differs from
                the paper's `weights`.
        """
        net = dict(getattr(getattr(task, "reference", None), "net", None) or ADDING_NET)
        unknown = sorted(set(net) - set(cls.KEYS) - set(cls.BUILT) - set(cls.DESCRIPTIVE))
        if unknown:
            allowed = ", ".join([*cls.KEYS, *cls.BUILT, *cls.DESCRIPTIVE])
            raise ValueError(f"reference.net keys {unknown} unknown; allowed: {allowed}")
        for key, builds in cls.BUILT.items():
            if key in net and _as_tuple(net[key]) not in [_as_tuple(b) for b in builds]:
                raise ValueError(
                    f"numpy-lstm1997 does not build a net with {key} = {net[key]!r} (task "
                    f"{getattr(task, 'name', '?')!r}); it builds {key} in "
                    f"{', '.join(repr(b) for b in builds)}"
                )
        paper_weights = net.get("weights")
        for key in cls.DESCRIPTIVE:
            net.pop(key, None)
        if net.get("output_activation") == "sigmoid":
            net["output_activation"] = "logistic"
        kw = net
        for name in ("input_gate_bias", "output_gate_bias"):
            if kw.get(name) is not None:
                kw[name] = tuple(float(b) for b in np.atleast_1d(kw[name]))
        if "weight_init" in kw:  # a half-width, or an interval (-a, a)
            kw["weight_init"] = float(np.max(np.abs(np.atleast_1d(kw["weight_init"]))))
        built = cls(int(task.input_dim), int(task.output_dim), **kw)
        count = int(sum(m.sum() for m in built.masks().values()))
        if paper_weights is not None and count != int(paper_weights):
            raise ValueError(
                f"the 1997 net for task {getattr(task, 'name', '?')!r} has {count} weights; "
                f"the paper's has {paper_weights}"
            )
        return built

    # Unit counts and the column layout of W (M, R): rows are sources, columns hidden units.
    @property
    def cells(self) -> int:  # C
        return self.blocks * self.cells_per_block

    @property
    def output_gates(self) -> int:  # NB, or 0 without output gates
        return self.blocks if self.output_gate else 0

    @property
    def recurrent(self) -> int:  # R: cells, input gates, output gates, hidden units
        return self.cells + self.blocks + self.output_gates + self.hidden_units

    @property
    def sources(self) -> int:  # M: inputs, hidden units at t-1, bias
        return self.input_dim + self.recurrent + 1

    def columns(self) -> tuple[slice, slice, slice, slice]:
        """Slices of R for the cells, input gates, output gates (empty if none) and hidden units."""
        C, NB, NO = self.cells, self.blocks, self.output_gates
        return slice(0, C), slice(C, C + NB), slice(C + NB, C + NB + NO), slice(C + NB + NO, None)

    @property
    def output_sources(self) -> int:  # rows of W_k: [x_t ("B" only), y_c, y_h, 1]
        inputs = self.input_dim if self.connectivity == "B" else 0
        return inputs + self.cells + self.hidden_units + 1

    def output_rows(self) -> tuple[slice, slice, slice]:
        """Slices of W_k's rows (the output layer's sources z) for the inputs (empty with "F"),
        the cells and the hidden units; the last row is the bias."""
        D = self.input_dim if self.connectivity == "B" else 0
        C, H = self.cells, self.hidden_units
        return slice(0, D), slice(D, D + C), slice(D + C, D + C + H)

    def masks(self) -> dict[str, np.ndarray]:
        """Which entries of W and W_k are connections (1.0) of this net: all but absent biases
        and, with connectivity "B", the hidden layer's recurrent sources y_{t-1}."""
        W = np.ones((self.sources, self.recurrent))
        W_k = np.ones((self.output_sources, self.output_dim))
        if self.bias != "all":
            W_k[-1] = 0.0  # output units unbiased
        if self.bias == "gates":
            cells, _, _, hidden = self.columns()
            W[-1, cells] = W[-1, hidden] = 0.0
        if self.bias == "none":
            W[-1] = 0.0
        if self.connectivity == "B":  # the hidden layer reads the layer below it only
            W[self.input_dim : self.input_dim + self.recurrent] = 0.0
        # Exp. 2a/2b (101 in, 1 cell, 1 input gate, no output gate, 101 out, "B", no biases):
        # W: 2 hidden units x 101 inputs = 202; W_k: 101 outputs x (101 inputs + 1 cell) =
        # 10,302; 202 + 10,302 = 10,504, Table 2's count (`from_task` checks it).
        return {"W": W, "W_k": W_k}

    def squashers(self) -> tuple[Callable, Callable, Callable, Callable]:
        """(g, g', h, h') of this net; g' and h' take g's and h's outputs."""
        g_pair = (f, df) if self.g == (0.0, 1.0) else (g, dg)
        h_pair = (identity, didentity) if self.h == "identity" else (h, dh)
        return (*g_pair, *h_pair)

    def initial_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        a = self.weight_init
        masks = self.masks()
        W = rng.uniform(-a, a, masks["W"].shape)  # (M, R)
        W_k = rng.uniform(-a, a, masks["W_k"].shape)  # (Z, K), Z = output_sources
        _, ins, outs, _ = self.columns()
        if self.input_gate_bias is not None:
            W[-1, ins] = self.input_gate_bias
        if self.output_gate_bias is not None:
            W[-1, outs] = self.output_gate_bias
        return {"W": W * masks["W"], "W_k": W_k * masks["W_k"]}


# Experiment 4 (Section 5.4, Table 10 rows 4-1..4-3): 2 blocks of 2 cells, every non-input unit
# biased, input gate biases -3 and -6, output gate biases random, weights U[-0.1, 0.1], alpha 0.5.
ADDING_NET: dict[str, Any] = {
    "blocks": 2, "cells_per_block": 2, "hidden_units": 0, "input_gate_bias": (-3.0, -6.0),
    "output_gate_bias": None, "learning_rate": 0.5, "weight_init": 0.1,
    "output_activation": "logistic", "bias": "all",
}  # fmt: skip


def _as_tuple(value: Any) -> Any:
    return tuple(float(v) for v in value) if isinstance(value, (list, tuple)) else value


# -- the squashing functions and their derivatives, written in terms of their outputs ----------


def f(z: np.ndarray) -> np.ndarray:  # logistic, [0, 1] (eq. 3)
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)) without overflow


def df(y: np.ndarray) -> np.ndarray:  # f'(z) from y = f(z)
    return y * (1.0 - y)


def g(z: np.ndarray) -> np.ndarray:  # 4 f(z) - 2 in [-2, 2] (eq. 5), squashes net_c
    return 2.0 * np.tanh(0.5 * z)  # = 4 f(z) - 2


def dg(g_z: np.ndarray) -> np.ndarray:  # g'(z) = 4 f (1 - f) = 1 - g^2 / 4
    return 1.0 - 0.25 * g_z * g_z


def h(s: np.ndarray) -> np.ndarray:  # 2 f(s) - 1 in [-1, 1] (eq. 4), scales the cell output
    return np.tanh(0.5 * s)  # = 2 f(s) - 1


def dh(h_s: np.ndarray) -> np.ndarray:  # h'(s) = 2 f (1 - f) = (1 - h^2) / 2
    return 0.5 * (1.0 - h_s * h_s)


def identity(s: np.ndarray) -> np.ndarray:  # h(s) = s, Exp. 2a/2b's h ("id" in Table 10)
    return s


def didentity(h_s: np.ndarray) -> np.ndarray:  # h'(s) = 1
    return np.ones_like(h_s)


# -- one time step, and its backward directly below it ------------------------------------------


def step(
    W: np.ndarray,
    u_t: np.ndarray,
    y_tm1: np.ndarray,
    s_tm1: np.ndarray,
    net: Net1997,
    real: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y_t, s_t, g_c) from u_t = [x_t, y_{t-1}, 1] (B, M), y_{t-1} (B, R) and s_{t-1} (B, C).

    `real` (B, 1): 1.0 where step t is one of the sequence's own steps, 0.0 on right padding,
    where the net stands still (y_t = y_{t-1}, s_t = s_{t-1}) so its last state is read at the end.
    """
    cells, ins, outs, hidden = net.columns()
    S = net.cells_per_block
    g, _, h, _ = net.squashers()  # g in [-2, 2] or [0, 1]; h in [-1, 1] or the identity
    net_t = u_t @ W  # net_i(t) = sum_u w_iu y^u(t-1), every hidden unit       (B, R)
    y_in = f(net_t[:, ins])  # input gates                                    (B, NB)
    y_out = f(net_t[:, outs])  # output gates                      (B, NB), or (B, 0) if none
    gate_out = np.repeat(y_out, S, axis=1) if net.output_gate else 1.0  # no gate: y_out := 1
    g_c = g(net_t[:, cells])  # squashed cell inputs                          (B, C)
    s_t = s_tm1 + real * np.repeat(y_in, S, axis=1) * g_c  # CEC: s + y_in g(net_c)   (B, C)
    y_c = gate_out * h(s_t)  # y_c = y_out h(s_c)                            (B, C)
    y_h = f(net_t[:, hidden])  # conventional hidden units                   (B, H)
    y_t = np.concatenate([y_c, y_in, y_out, y_h], axis=1)  # (B, R)
    y_t = real * y_t + (1.0 - real) * y_tm1  # (B, R)
    return y_t, s_t, g_c


def step_backward(
    W: np.ndarray,
    u_t: np.ndarray,
    y_t: np.ndarray,
    s_t: np.ndarray,
    g_c: np.ndarray,
    dy_t: np.ndarray,
    ds_t: np.ndarray,
    net: Net1997,
    real: np.ndarray,
    truncated: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dW_t (M, R), dy_{t-1} (B, R), ds_{t-1} (B, C)) from the errors dy_t = dL/dy_t (B, R)
    and ds_t = dL/ds_t (B, C) that later steps send back (through the CEC only, if truncated)."""
    cells, ins, outs, hidden = net.columns()
    S, NB = net.cells_per_block, net.blocks
    _, dg, h, dh = net.squashers()
    B = u_t.shape[0]
    y_in, y_out, y_h = y_t[:, ins], y_t[:, outs], y_t[:, hidden]  # (B, NB), (B, NB|0), (B, H)
    gate_out = np.repeat(y_out, S, axis=1) if net.output_gate else 1.0  # (B, C), or y_out := 1
    h_s = h(s_t)  # (B, C)
    dy = real * dy_t  # a padding step passes dy_t on untouched (below)            (B, R)
    dy_c, dy_in, dy_out, dy_h = dy[:, cells], dy[:, ins], dy[:, outs], dy[:, hidden]
    ds = ds_t + dy_c * gate_out * dh(h_s)  # y_c = y_out h(s)                        (B, C)
    # Sums over each block's cells (they share the block's gates):
    dy_in_all = dy_in + real * (ds * g_c).reshape(B, NB, S).sum(axis=2)  # (B, NB)
    dnet = np.empty_like(y_t)  # dL/dnet_t  (B, R)
    dnet[:, cells] = real * ds * np.repeat(y_in, S, axis=1) * dg(g_c)  # s += y_in g(net_c)
    dnet[:, ins] = dy_in_all * df(y_in)
    if net.output_gate:
        dy_out_all = dy_out + (dy_c * h_s).reshape(B, NB, S).sum(axis=2)  # (B, NB)
        dnet[:, outs] = dy_out_all * df(y_out)
    dnet[:, hidden] = dy_h * df(y_h)
    dW_t = u_t.T @ dnet  # sum over the batch of u_t^T dnet_t                   (M, R)
    dy_tm1 = (1.0 - real) * dy_t  # padding: y_t was y_{t-1}                     (B, R)
    if not truncated:  # full BPTT: also back through the recurrent weights
        D, R = net.input_dim, net.recurrent
        dy_tm1 = dy_tm1 + dnet @ W[D : D + R].T  # (B, R)
    return dW_t, dy_tm1, ds  # ds_{t-1} = ds_t: the CEC's fixed self-weight 1.0


# -- the forward and backward passes over a batch -----------------------------------------------


class States(NamedTuple):
    u: np.ndarray  # (T, B, M) every step's sources [x_t, y_{t-1}, 1]
    y: np.ndarray  # (T, B, R) hidden activations y_t
    s: np.ndarray  # (T, B, C) internal states s_t
    g_c: np.ndarray  # (T, B, C) g(net_c(t))
    real: np.ndarray  # (T, B, 1) 1.0 on a sequence's own steps, 0.0 on padding
    # The output layer's sources [x_t ("B"), y_c, y_h, 1] and the output units: at the last real
    # step, z (B, Z) and y_k (B, K); with every_step, at every step, z (T, B, Z), y_k (T, B, K).
    z: np.ndarray
    y_k: np.ndarray


def real_steps(lengths: np.ndarray | None, B: int, T: int) -> np.ndarray:
    """(T, B, 1) 1.0 where t < lengths[b]; all ones without lengths."""
    if lengths is None:
        return np.ones((T, B, 1))
    lengths = np.asarray(lengths)
    if lengths.shape != (B,) or np.any(lengths < 1) or np.any(lengths > T):
        raise ValueError(f"lengths must be (n,)={B} ints in 1..{T}; got {lengths!r}")
    return (np.arange(T)[:, None] < lengths[None, :]).astype(np.float64)[..., None]


def forward(
    params: dict[str, np.ndarray],
    net: Net1997,
    x: np.ndarray,
    lengths: np.ndarray | None = None,
    held_y: np.ndarray | None = None,
    every_step: bool = False,
) -> States:
    """All steps of a batch x (B, T, D), and the output units at each sequence's last real step
    (or, `every_step`, at every step; on padding they repeat the last real step's).

    held_y (T, B, R), for the truncated gradient's definition: u_t's y_{t-1} columns come from
    held_y[t-1] (zeros at t = 0) instead of from this pass, so that a change of the weights acts
    only through the CEC and the gates' and cells' direct weights.
    """
    W, W_k = params["W"], params["W_k"]
    B, T, D = x.shape
    R, C = net.recurrent, net.cells
    real = real_steps(lengths, B, T)
    u = np.empty((T, B, net.sources))
    u[:, :, :D] = x.transpose(1, 0, 2)
    u[:, :, -1] = 1.0
    y = np.empty((T, B, R))
    s = np.empty((T, B, C))
    g_c = np.empty((T, B, C))
    y_tm1, s_tm1 = np.zeros((B, R)), np.zeros((B, C))  # activations reset per sequence
    for t in range(T):
        u[t, :, D : D + R] = y_tm1 if held_y is None or t == 0 else held_y[t - 1]
        y[t], s[t], g_c[t] = step(W, u[t], y_tm1, s_tm1, net, real[t])
        y_tm1, s_tm1 = y[t], s[t]
    cells, _, _, hidden = net.columns()
    if every_step:
        # "B": the output layer reads x_t of the same step; on padding x_t is all zero and y
        # stands still, and those steps are never scored
        x_t = x.transpose(1, 0, 2) if net.connectivity == "B" else np.empty((T, B, 0))
        z = np.concatenate([x_t, y[:, :, cells], y[:, :, hidden], np.ones((T, B, 1))], axis=2)
    else:
        last = real[:, :, 0].sum(axis=0).astype(np.int64) - 1  # each sequence's last real step
        x_last = x[np.arange(B), last] if net.connectivity == "B" else np.empty((B, 0))  # (B, D)
        z = np.concatenate([x_last, y[-1][:, cells], y[-1][:, hidden], np.ones((B, 1))], axis=1)
    net_k = z @ W_k  # (B, K), or (T, B, K) with every_step
    y_k = f(net_k) if net.output_activation == "logistic" else net_k
    return States(u, y, s, g_c, real, z, y_k)


def loss_and_grads(
    params: dict[str, np.ndarray],
    net: Net1997,
    x: np.ndarray,
    d: np.ndarray,
    lengths: np.ndarray | None = None,
    truncated: bool = True,
    mask: np.ndarray | None = None,
) -> tuple[float, dict[str, np.ndarray], States]:
    """(the batch mean of E/2, its gradients (truncated or full), the forward states).

    d (B, K): the targets of the output units at each sequence's last real step; or, with
    `mask` (B, T) (1.0 on the scored steps), d (B, T, K): targets at every step, and E/2 summed
    over each sequence's scored steps.
    """
    W, W_k = params["W"], params["W_k"]
    every = mask is not None
    st = forward(params, net, x, lengths, every_step=every)
    T, B, _ = st.y.shape
    if every:
        scored = np.asarray(mask, np.float64).T[:, :, None]  # (T, B, 1)
        err = (st.y_k - np.asarray(d, np.float64).transpose(1, 0, 2)) * scored  # (T, B, K)
    else:
        err = st.y_k - d  # (B, K)
    loss = 0.5 * float(np.sum(err * err)) / B
    dnet_k = err / B  # e_k = f'_k (y_k - d_k), batch mean          (B, K) or (T, B, K)
    if net.output_activation == "logistic":
        dnet_k = dnet_k * df(st.y_k)
    Z = st.z.shape[-1]
    grads = {  # (Z, K), (M, R)
        "W_k": st.z.reshape(-1, Z).T @ dnet_k.reshape(-1, dnet_k.shape[-1]),
        "W": np.zeros_like(W),
    }
    dz = dnet_k @ W_k.T  # (B, Z) or (T, B, Z); its input columns ("B") lead nowhere
    cells, _, _, hidden = net.columns()
    _, z_cells, z_hidden = net.output_rows()
    R = net.recurrent
    dy_out = np.zeros((*dz.shape[:-1], R))  # dL/dy_t from the output units: (B, R) or (T, B, R)
    dy_out[..., cells] = dz[..., z_cells]
    dy_out[..., hidden] = dz[..., z_hidden]
    dy = np.zeros((B, R)) if every else dy_out  # dL/dy_T
    ds = np.zeros((B, net.cells))  # dL/ds_T from later steps: none
    for t in range(T - 1, -1, -1):
        if every:  # the output error of step t joins what later steps sent back
            dy = dy + dy_out[t]
        dW_t, dy, ds = step_backward(
            W, st.u[t], st.y[t], st.s[t], st.g_c[t], dy, ds, net, st.real[t], truncated
        )
        grads["W"] += dW_t
    return loss, grads, st


# -- the model ---------------------------------------------------------------------------------

# Exp. 2a/2b's "memory cell and input gate are added once the error has stopped decreasing"
# (Sec. 5.2); the paper gives no rule. rnnbench's: the mean training error E (per sequence,
# summed over its scored steps) over consecutive windows of PLATEAU_WINDOW sequences; the cells
# join after the first window whose mean is not below (1 - PLATEAU_DROP) times the previous one's.
PLATEAU_WINDOW = 1000
PLATEAU_DROP = 0.05


def one_hot_targets(kind: str, y: np.ndarray, K: int) -> np.ndarray:
    """The output units' targets (n, K): y itself for regression, one-hot for classification."""
    if kind == "regression":
        return np.asarray(y, np.float64).reshape(-1, 1)
    labels = np.asarray(y).astype(np.int64)
    return np.eye(K)[labels]


TRAIN_ARRAYS = 4  # (T, B, width) float64 arrays a training pass holds: forward, backward, held y
PREDICT_ARRAYS = 2  # and a prediction pass (no backward), on up to PREDICT_BATCH sequences
PREDICT_BATCH = 1024  # sequences `predict` runs at once (its states are kept for every step)


def memory_bytes(shape: Any) -> float:
    """Peak bytes of the 1997 net's own arrays for a cell (`ModelTraits.memory_bytes`).

    The net's size comes from the task, not from `units`: each step keeps its inputs, outputs,
    cell states and cell inputs, width = sources + recurrent + 2 x cells, in float64, for every
    sequence of a training mini-batch and of a prediction batch; `predict` also copies the
    sequences it is given to float64. An upper bound (tests/test_memory_bound.py measures it).
    """
    net = Net1997.from_task(shape.task)
    width = net.sources + net.recurrent + 2 * net.cells
    predicted = min(shape.predict, PREDICT_BATCH)
    states = (TRAIN_ARRAYS * shape.batch + PREDICT_ARRAYS * predicted) * shape.steps * width
    x_copy = shape.predict * shape.steps * net.input_dim
    return 8.0 * (states + x_copy)


class NumpyLSTM1997:
    """The 1997 LSTM: online (batch 1) or mini-batch, plain gradient descent (or Adam), float64.

    Online truncated SGD, the paper's regime, runs in the compiled kernel of `lstm1997_compiled`
    when numba is installed (the same numbers, ~50x faster); `use_compiled=False` forces NumPy.
    """

    accepts_lengths = True
    outputs = "probabilities"  # logistic output units: predict's columns are no logits

    def __init__(
        self,
        net: Net1997,
        kind: str,
        seed: int,
        learning_rate: float | None = None,
        batch_size: int = 1,
        optimizer: str = "sgd",
        gradient: str = "truncated",
        use_compiled: bool | None = None,
        every_step: bool = False,
        update: str = "sequence",
    ) -> None:
        if update not in ("sequence", "step"):
            raise ValueError(f"update {update!r}; allowed: 'sequence', 'step'")
        if update == "step" and (optimizer != "sgd" or batch_size != 1 or gradient != "truncated"
                                 or use_compiled is False):
            raise ValueError(
                "update 'step' (a weight change after every scored step) is built in the "
                "compiled online kernel only: optimizer 'sgd', batch_size 1, gradient "
                "'truncated', use_compiled not False"
            )
        if kind not in ("regression", "classification"):
            raise ValueError(f"kind {kind!r}; allowed: 'regression', 'classification'")
        if optimizer not in ("sgd", "adam"):
            raise ValueError(f"optimizer {optimizer!r}; allowed: 'sgd', 'adam'")
        if gradient not in ("truncated", "full"):
            raise ValueError(f"gradient {gradient!r}; allowed: 'truncated', 'full'")
        if batch_size < 1:
            raise ValueError(f"batch_size {batch_size}; must be at least 1")
        if kind == "regression" and net.output_dim != 1:
            raise ValueError(f"a regression task has one output unit, not {net.output_dim}")
        self.net = net
        self.kind = kind
        self.learning_rate = net.learning_rate if learning_rate is None else float(learning_rate)
        self.batch_size = int(batch_size)
        self.optimizer = optimizer
        self.gradient = gradient
        self.use_compiled = use_compiled  # None: when numba is there; False: never; True: must
        # outputs and errors at every step (a task with steps_scored = "every"): train takes
        # targets (n, T, K) (regression (n, T)) and a mask (n, T); predict gives (n, T, K)
        self.every_step = bool(every_step)
        # When the weights change: "sequence" (once, by the sum of its scored steps' gradients;
        # the default) or "step" (after every scored step by that step's contribution, the
        # traces of eqs. 25/27 carried on across the change, as online RTRL does). The paper
        # says "each weight's total update is the sum of the contributions of all time steps"
        # (App. A.1) and "on-line learning" (Sec. 5); docs/hochreiter1997.md has both measured.
        self.update_when = update
        self.masks = net.masks()
        self.full_masks = self.masks  # the whole net's connections (`num_params`)
        self.params = net.initial_params(np.random.default_rng(seed))
        self.adam = None  # plain gradient descent, the paper's
        if optimizer == "adam":  # no clipping: the paper has none either
            self.adam = Adam(self.params, self.learning_rate, clipnorm=None)
        self.cell_added_at: int | None = 0  # training sequences before the cells joined
        if net.cell_added == "plateau":
            self._hold_cells_back()

    # -- Exp. 2a/2b: the memory cell and its input gate added once the error stops decreasing --

    def _hold_cells_back(self) -> None:
        """Start without the cells and input gates: their weights frozen, and the output layer's
        weights from the cells zero (kept for when they join), so the net is the RTRL net's
        input -> output layer alone. Built for connectivity "B", where no other hidden unit
        reads the cells."""
        if self.net.connectivity != "B":
            raise ValueError("cell_added = 'plateau' is built for connectivity 'B' (Exp. 2a/2b)")
        cells, ins, _, _ = self.net.columns()
        _, z_cells, _ = self.net.output_rows()
        W, W_k = self.full_masks["W"].copy(), self.full_masks["W_k"].copy()
        W[:, cells] = W[:, ins] = 0.0
        W_k[z_cells] = 0.0
        self.masks = {"W": W, "W_k": W_k}
        self._cell_rows = self.params["W_k"][z_cells].copy()  # U[-0.2, 0.2], as drawn
        self.params["W_k"][z_cells] = 0.0
        self.cell_added_at = None
        self._seen = 0
        self._window: list[float] = []  # E of each sequence of the current window
        self._previous_mean: float | None = None

    def _add_cells(self) -> None:
        _, z_cells, _ = self.net.output_rows()
        self.params["W_k"][z_cells] = self._cell_rows
        self.masks = self.full_masks
        self.cell_added_at = self._seen

    def _watch_plateau(self, errors: np.ndarray) -> None:
        """Feed a window's worth (or less) of per-sequence errors; add the cells at a plateau:
        when the mean error of a window of PLATEAU_WINDOW sequences is not below
        (1 - PLATEAU_DROP) times the previous window's."""
        self._window.extend(float(e) for e in errors)
        self._seen += len(errors)
        if len(self._window) < PLATEAU_WINDOW:
            return
        mean = float(np.mean(self._window))
        self._window = []
        previous, self._previous_mean = self._previous_mean, mean
        if previous is not None and mean >= (1.0 - PLATEAU_DROP) * previous:
            self._add_cells()

    @property
    def num_params(self) -> int:
        return int(sum(m.sum() for m in self.full_masks.values()))

    def compiled_kernel(self):
        """The compiled online-SGD kernel if this configuration can use it, else None."""
        if self.use_compiled is False or self.optimizer != "sgd" or self.batch_size != 1:
            return None
        if self.gradient != "truncated":
            return None
        from rnnbench.models import lstm1997_compiled

        kernel = lstm1997_compiled.kernel()
        if kernel is None and (self.use_compiled or self.update_when == "step"):
            raise RuntimeError("use_compiled=True but numba is not installed (pip install numba)")
        return kernel

    def update(self, grads: dict[str, np.ndarray]) -> None:
        grads = {k: grads[k] * self.masks[k] for k in self.params}  # absent biases stay 0
        if self.adam is not None:
            self.adam.step(self.params, grads)
        else:
            for k, p in self.params.items():
                p -= self.learning_rate * grads[k]  # Delta w = -alpha dE/dw (eq. 17)

    def targets_and_mask(
        self, y: np.ndarray, lengths: np.ndarray, T: int, mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The output units' targets and, at every step, the scored steps (n, T) (default: every
        real step)."""
        if not self.every_step:
            return one_hot_targets(self.kind, y, self.net.output_dim), None
        d = np.asarray(y, np.float64)  # (n, T, K) as given (several 1s: several right classes)
        if self.kind == "regression":
            d = d.reshape(len(d), T, 1)
        if d.shape != (len(lengths), T, self.net.output_dim):
            raise ValueError(
                f"per-step targets must be (n, T, K) = ({len(lengths)}, {T}, "
                f"{self.net.output_dim}); got {np.shape(y)}"
            )
        real = np.arange(T)[None, :] < lengths[:, None]  # (n, T)
        scored = real if mask is None else np.asarray(mask, bool) & real
        return d, scored.astype(np.float64)

    def train_with_outputs(
        self,
        x: np.ndarray,
        y: np.ndarray,
        lengths: np.ndarray | None = None,
        mask: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray]:
        """Train on the chunk; see `_train_with_outputs`. While the cells wait for a plateau
        (`Net1997.cell_added`), the chunk is cut at the plateau windows' ends."""
        if self.cell_added_at is not None:
            return self._train_with_outputs(x, y, lengths, mask)
        n = len(x)
        losses, outputs, a = [], [], 0
        while a < n:
            if self.cell_added_at is not None:
                b = n
            else:
                b = min(n, a + PLATEAU_WINDOW - len(self._window))
            piece = slice(a, b)
            loss, out = self._train_with_outputs(
                x[piece], np.asarray(y)[piece], None if lengths is None else lengths[piece],
                None if mask is None else mask[piece],
            )  # fmt: skip
            losses.append((loss, b - a))
            outputs.append(out)
            if self.cell_added_at is None:
                self._watch_plateau(self._last_errors)
            a = b
        total = sum(loss * k for loss, k in losses) / n
        return total, np.concatenate(outputs)

    def _train_with_outputs(
        self,
        x: np.ndarray,
        y: np.ndarray,
        lengths: np.ndarray | None = None,
        mask: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray]:
        """Train on the chunk; (mean E over its sequences (at every step: over their scored
        steps), each sequence's output units from its mini-batch's forward pass before that
        mini-batch's update): what the paper's online stopping rules judge."""
        x = np.asarray(x, np.float64)
        n, T, _ = x.shape
        lengths = np.full(n, T) if lengths is None else np.asarray(lengths, np.int64)
        real_steps(lengths, n, T)  # validates
        d, scored = self.targets_and_mask(y, lengths, T, mask)
        K = self.net.output_dim
        kernel = self.compiled_kernel()
        if kernel is not None:
            from rnnbench.models import lstm1997_compiled

            errors, y_k = lstm1997_compiled.train_online(
                kernel, self.params, self.masks, self.net, x, lengths, d, self.learning_rate,
                scored, self.update_when == "step",
            )  # fmt: skip
        else:
            errors = np.empty(n)
            y_k = np.empty((n, T, K)) if self.every_step else np.empty((n, K))
            for a in range(0, n, self.batch_size):
                b = min(a + self.batch_size, n)
                _, grads, st = loss_and_grads(
                    self.params, self.net, x[a:b], d[a:b], lengths[a:b],
                    truncated=self.gradient == "truncated",
                    mask=None if scored is None else scored[a:b],
                )  # fmt: skip
                self.update(grads)
                if scored is None:
                    y_k[a:b] = st.y_k
                    errors[a:b] = np.sum((st.y_k - d[a:b]) ** 2, axis=1)  # E (eq. 16)
                else:
                    y_k[a:b] = st.y_k.transpose(1, 0, 2)
                    sq = ((y_k[a:b] - d[a:b]) ** 2).sum(axis=2) * scored[a:b]  # (b-a, T)
                    errors[a:b] = sq.sum(axis=1)  # E summed over the scored steps
        self._last_errors = errors
        if scored is not None:  # the mean E per scored step
            loss = float(np.sum(errors) / max(1.0, float(np.sum(scored))))
        else:
            loss = float(np.mean(errors))
        return loss, (y_k[..., 0] if self.kind == "regression" else y_k)

    def train(
        self,
        x: np.ndarray,
        y: np.ndarray,
        lengths: np.ndarray | None = None,
        mask: np.ndarray | None = None,
    ) -> float:
        return self.train_with_outputs(x, y, lengths, mask)[0]

    def predict(self, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """Output units (n, K) at each sequence's last real step, or at every step (n, T, K)
        (regression: (n,) or (n, T))."""
        x = np.asarray(x, np.float64)
        n, T, _ = x.shape
        K = self.net.output_dim
        y_k = np.empty((n, T, K)) if self.every_step else np.empty((n, K))
        P = PREDICT_BATCH  # bounded memory: the states of P sequences at a time
        for a in range(0, n, P):
            lb = None if lengths is None else np.asarray(lengths)[a : a + P]
            out = forward(self.params, self.net, x[a : a + P], lb, every_step=self.every_step)
            y_k[a : a + P] = out.y_k.transpose(1, 0, 2) if self.every_step else out.y_k
        return y_k[..., 0] if self.kind == "regression" else y_k
