"""Finite-difference checking shared by the NumPy model tests."""

from __future__ import annotations

import numpy as np


def assert_param_gradients_match(model, x, y, eps: float = 1e-6, rtol: float = 1e-5) -> None:
    """Every parameter gradient of `model.loss_and_grads` equals central differences of its loss."""
    _, grads, _ = model.loss_and_grads(x, y)
    for name, p in model.params.items():
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + eps
            up, _, _ = model.loss_and_grads(x, y)
            p[i] = old - eps
            down, _, _ = model.loss_and_grads(x, y)
            p[i] = old
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, rtol=rtol, atol=1e-8, err_msg=name)
