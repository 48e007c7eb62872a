"""Finite-difference gradient checks (HIPS/autograd style): element-wise and random-direction."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradscope import Layer, gradcheck

EPS = 1e-6


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """‖a − b‖ / max(‖a‖ + ‖b‖, tiny): 0 when equal, ~1 when unrelated."""
    denom = max(np.linalg.norm(a) + np.linalg.norm(b), 1e-30)
    return float(np.linalg.norm(a - b) / denom)


def numeric_grad(f: Callable[[], float], arr: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Central differences of the scalar f() w.r.t. every entry of `arr` (changed in place)."""
    grad = np.zeros_like(arr)
    flat, gflat = arr.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad


def check_layer(layer: Layer, x: np.ndarray, rng: np.random.Generator, tol: float = 1e-6) -> None:
    """Check dL/dx and dL/dparams of L = sum(R ⊙ layer(x)) element-wise against central FD."""
    out = layer(x)
    r = rng.standard_normal(out.shape)

    def f() -> float:
        return float(np.sum(layer(x) * r))

    layer(x)
    grad_x = layer.backward(r)
    analytic = {k: v.copy() for k, v in layer.grads.items()}
    err = rel_error(grad_x, numeric_grad(f, x))
    assert err < tol, f"dL/dx of {layer!r}: relative error {err:.2e}"
    for key, value in layer.params.items():
        err = rel_error(analytic[key], numeric_grad(f, value))
        assert err < tol, f"dL/d{key} of {layer!r}: relative error {err:.2e}"


def check_vjp_directional(
    net: Layer, x: np.ndarray, rng: np.random.Generator, n_dirs: int = 3, tol: float = 1e-6
) -> None:
    """Random-direction check of x and of every param (gradscope.gradcheck, raises if wrong)."""
    gradcheck(net, x, rng=rng, n_directions=n_dirs, rtol=tol)
