"""Finite-difference checking shared by the NumPy model tests, and their float64 models."""

from __future__ import annotations

import numpy as np


def assert_param_gradients_match(
    model, x, y, eps: float = 1e-6, rtol: float = 1e-5, **mask
) -> None:
    """Every parameter gradient of `model.loss_and_grads` equals central differences of its loss
    (`mask=` the scored steps of a per-step model)."""
    _, grads, _ = model.loss_and_grads(x, y, **mask)
    for name, p in model.params.items():
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + eps
            up, _, _ = model.loss_and_grads(x, y, **mask)
            p[i] = old - eps
            down, _, _ = model.loss_and_grads(x, y, **mask)
            p[i] = old
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, rtol=rtol, atol=1e-8, err_msg=name)


def in_float64(model, seed: int = 0):
    """`model` with float64 params, fit for finite differences, and its biases (the 1-D params)
    made non-zero so that their gradients are exercised too."""
    model.params = {k: v.astype(np.float64) for k, v in model.params.items()}
    rng = np.random.default_rng(seed + 1)
    for p in model.params.values():
        if p.ndim == 1:
            p += rng.normal(0, 0.3, p.shape)
    return model
