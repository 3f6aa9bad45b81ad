"""How a chunk of sequences reaches a model: whole, or in mini-batches of one length each.

Tasks whose sequences vary in length (the 1997 paper's: T to T + T/10 steps, each sequence its
own) return them right-padded with all-zero steps (`Task.variable_length`, `sequence_lengths`).
A model never sees the padding, because rnnbench groups by length instead of masking:

- A model that says it takes lengths (`accepts_lengths = True`, as numpy-lstm1997 does) gets the
  padded chunk and each sequence's length, and reads each target at its own last step.
- Any other model gets mini-batches whose sequences share one length, cut to that length. Online
  (batch size 1) that is each sequence on its own, exactly the paper's protocol; in mini-batches
  the sequences of one update share a length, each drawn from the task's distribution.

Why grouping rather than padding with masking: grouping asks nothing of the model, so a
third-party model, the NumPy loops and Keras all see exactly the sequences the task defines;
masking would have to be trusted to be exact in every model (Keras skips masked steps, a plain
NumPy loop would run its bias through them).

A task scored at every step (`Task.steps_scored = "every"`) also has per-step targets and a mask
of scored steps (`Task.score_mask`): they are cut with `x`, the mask reaches the model's `train` as
`mask=`, and per-step outputs of groups of one length are right-padded back to the chunk's steps
(the padding is never scored: the mask is False there).

Mini-batches are formed in the chunk's order: each sequence joins the open batch of its length,
and a batch is trained when it is full (the rest at the end of the chunk, in the order their first
sequence came). So training sees the chunk in nearly its drawn order, with no short-to-long
curriculum.

The paper's stopping rules judge each training sequence by the output the net gave it before
the update that used it. `train_chunk` returns those outputs, from a model's
`train_with_outputs` if it has one, else from `predict` just before each mini-batch's `train`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnbench.validation import check_loss


@dataclass
class TrainedChunk:
    """What training on one chunk gave: the mean loss, and per sequence in training order."""

    loss: float
    order: np.ndarray  # (n,) indices into the chunk, in the order the model trained on them
    outputs: np.ndarray | None  # (n, ...) outputs before the update that used each sequence
    update: np.ndarray  # (n,) the 1-based update (within the chunk) that used each sequence


def chunk_lengths(task: Any, x: np.ndarray) -> np.ndarray | None:
    """Each sequence's own length for a variable-length task, else None (all are x.shape[1])."""
    if not getattr(task, "variable_length", False):
        return None
    lengths = np.asarray(task.sequence_lengths(x), dtype=np.int64)
    if lengths.shape != (len(x),) or (lengths < 1).any() or (lengths > x.shape[1]).any():
        raise ValueError(
            f"task {task.name!r} gave sequence lengths outside 1..{x.shape[1]} "
            f"(or not one per sequence: shape {lengths.shape})"
        )
    return lengths


def same_length_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Indices of mini-batches whose sequences share one length, formed in the chunk's order.

    Each sequence joins the open batch of its length; a full batch is closed at once, and the
    batches still open at the end follow in the order of their first sequence.
    """
    closed: list[tuple[int, list[int]]] = []  # (position the batch closed at, its indices)
    open_batches: dict[int, list[int]] = {}
    for i, length in enumerate(lengths.tolist()):
        batch = open_batches.setdefault(length, [])
        batch.append(i)
        if len(batch) == batch_size:
            closed.append((i, batch))
            del open_batches[length]
    leftovers = sorted(open_batches.values(), key=lambda b: b[0])
    return [np.asarray(b) for _, b in closed] + [np.asarray(b) for b in leftovers]


def _train_with_outputs(
    model: Any, x: np.ndarray, y: np.ndarray, kw: dict[str, Any], mask: dict[str, Any]
) -> tuple[float, Any]:
    hook = getattr(model, "train_with_outputs", None)
    if callable(hook):
        loss, outputs = hook(x, y, **kw, **mask)
        return check_loss(loss), outputs
    outputs = model.predict(x, **kw)  # before the update: the paper's rules judge these
    return check_loss(model.train(x, y, **kw, **mask)), outputs


def train_chunk(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    lengths: np.ndarray | None,
    batch_size: int,
    with_outputs: bool,
    mask: np.ndarray | None = None,
) -> TrainedChunk:
    """Train `model` on one chunk, whole or grouped by length; see the module docstring.

    `mask` (n, steps), for a task scored at every step: the scored steps (`Task.score_mask`),
    given to the model's `train` (and `train_with_outputs`) as `mask=`, cut with `x` and `y`.
    """
    n = len(x)
    takes_lengths = lengths is not None and getattr(model, "accepts_lengths", False)
    hook = callable(getattr(model, "train_with_outputs", None))
    if (lengths is None or takes_lengths) and (hook or not with_outputs):
        # the model takes the whole chunk in its own mini-batches
        kw = {"lengths": lengths} if takes_lengths else {}
        masked = {} if mask is None else {"mask": mask}
        if with_outputs:
            loss, outputs = _train_with_outputs(model, x, y, kw, masked)
            outputs = np.asarray(outputs)
        else:
            loss, outputs = check_loss(model.train(x, y, **kw, **masked)), None
        return TrainedChunk(loss, np.arange(n), outputs, np.arange(n) // batch_size + 1)

    if lengths is None or takes_lengths:  # predict before each mini-batch's own update
        batches: list[Any] = [slice(s, s + batch_size) for s in range(0, n, batch_size)]
    else:  # mini-batches of one length each, cut to it
        batches = same_length_batches(lengths, batch_size)
    total, outs, sizes = 0.0, [], []
    for b in batches:
        yb, mb = y[b], None if mask is None else mask[b]
        if lengths is None:
            xb, kw = x[b], {}
        elif takes_lengths:
            xb, kw = x[b], {"lengths": lengths[b]}
        else:
            steps = int(lengths[b[0]])
            xb, kw = x[b, :steps], {}  # (k, L, D): the batch's own length
            if mb is not None:  # per-step targets and mask are cut with x
                yb, mb = yb[:, :steps], mb[:, :steps]
        masked = {} if mb is None else {"mask": mb}
        if with_outputs:
            loss, out = _train_with_outputs(model, xb, yb, kw, masked)
            outs.append(_padded(np.asarray(out), x.shape[1]) if mb is not None else out)
        else:
            loss = check_loss(model.train(xb, yb, **kw, **masked))
        sizes.append(len(xb))
        total += loss * len(xb)
    order = np.arange(n) if isinstance(batches[0], slice) else np.concatenate(batches)
    update = np.repeat(np.arange(1, len(batches) + 1), sizes)
    outputs = np.concatenate([np.asarray(o) for o in outs]) if with_outputs else None
    return TrainedChunk(total / n, order, outputs, update)


def _padded(out: np.ndarray, steps: int) -> np.ndarray:
    """Per-step outputs (k, L, ...) right-padded with zeros to (k, steps, ...)."""
    if out.ndim < 2 or out.shape[1] == steps:
        return out
    pad = [(0, 0)] * out.ndim
    pad[1] = (0, steps - out.shape[1])
    return np.pad(out, pad)


def predict_all(
    model: Any, x: np.ndarray, lengths: np.ndarray | None, batch: int = 4096,
    per_step: bool = False,
) -> Any:
    """The model's outputs for every sequence of `x`, in order, grouped by length if need be.

    With `per_step` (a task scored at every step), a group's outputs (k, L, ...) are right-padded
    with zeros to x's steps.
    """
    if lengths is None:
        return model.predict(x)
    if getattr(model, "accepts_lengths", False):
        return model.predict(x, lengths=lengths)
    out: np.ndarray | None = None
    for b in same_length_batches(lengths, batch):
        pred = np.asarray(model.predict(x[b, : int(lengths[b[0]])]))
        if per_step:
            pred = _padded(pred, x.shape[1])
        if out is None:
            out = np.empty((len(x), *pred.shape[1:]), pred.dtype)
        out[b] = pred
    return out


def probabilities(task: Any, model: Any, outputs: Any) -> np.ndarray:
    """Outputs as a task's criterion reads them: class probabilities, or regression values.

    A classifier's outputs are logits (softmaxed here, over the classes: the last axis) unless
    the model says they are already probabilities (`outputs = "probabilities"`, as the 1997
    net's logistic output units). Regression values come as (n,), or (n, steps) per step.
    """
    per_step = getattr(task, "steps_scored", "last") == "every"
    if task.kind != "classification":  # regression values as they are (their own precision)
        out = np.asarray(outputs)
        return out.reshape(out.shape[:2]) if per_step else out.reshape(len(out))
    out = np.asarray(outputs, dtype=np.float64)
    if getattr(model, "outputs", "logits") == "probabilities":
        return out
    z = out - out.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
