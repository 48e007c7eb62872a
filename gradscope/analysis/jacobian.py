"""Input–output Jacobians and their singular values (dynamical isometry, Pennington et al. 2017).

`input_output_jacobian` builds each example's Jacobian dy/dx with the layers' own backward
passes: every example is repeated out_dim times and one backward pass of the identity rows gives
all rows at once (batched; no finite differences). A net is dynamically isometric when all
singular values of J are ≈ 1: then every direction of the gradient survives the trip back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gradscope.core.errors import ShapeError
from gradscope.nn.layers import Layer
from gradscope.nn.mlp import mlp

MAX_ROWS = 8192  # rows per forward/backward chunk (examples × out_dim)


def input_output_jacobian(net: Layer, X: np.ndarray) -> np.ndarray:
    """(batch, out_dim, in_dim): J[i] = ∂net(x_i)/∂x_i, from backward passes of `net`.

    The net is run as it is (its mode, its hooks); its `grads` are restored afterwards. In
    training mode a BatchNorm layer's batch statistics couple the examples: the small O(1/batch)
    cross terms are then included in each example's Jacobian.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ShapeError(f"X must have shape (batch, in_dim), got {X.shape}.")
    saved = [(layer, dict(layer.grads)) for _, layer in net.named_layers()]
    out_dim = net.forward(X[:1]).shape[1]
    per_chunk = max(1, MAX_ROWS // out_dim)
    eye = np.eye(out_dim)
    blocks = []
    try:
        for start in range(0, len(X), per_chunk):
            xb = X[start:start + per_chunk]
            tiled = np.repeat(xb, out_dim, axis=0)  # (n·out, in): example i, output row k
            net.forward(tiled)
            rows = net.backward(np.tile(eye, (len(xb), 1)))  # row (i, k) = ∂y_k/∂x of example i
            blocks.append(rows.reshape(len(xb), out_dim, X.shape[1]))
    finally:
        for layer, grads in saved:
            layer.grads = grads
    return np.concatenate(blocks)


@dataclass(frozen=True)
class JacobianSpectrum:
    """Singular values of each example's input–output Jacobian, shape (batch, min(in, out))."""

    singular_values: np.ndarray

    @property
    def squared(self) -> np.ndarray:
        """All squared singular values (the eigenvalues of JJᵀ), flattened."""
        return self.singular_values.ravel() ** 2

    @property
    def mean_sq(self) -> float:
        """Mean of the squared singular values (= ‖J‖_F²/n: the average gain)."""
        return float(self.squared.mean())

    @property
    def var_sq(self) -> float:
        """Variance of the squared singular values (0 under perfect dynamical isometry)."""
        return float(self.squared.var())


def jacobian_spectrum(net: Layer, X: np.ndarray) -> JacobianSpectrum:
    """The singular values of the input–output Jacobian of `net` at every example of `X`."""
    with np.errstate(over="ignore", invalid="ignore"):
        jac = input_output_jacobian(net, X)
    if not np.isfinite(jac).all():
        return JacobianSpectrum(np.full((len(X), min(jac.shape[1:])), np.nan))
    return JacobianSpectrum(np.linalg.svd(jac, compute_uv=False))


def spectrum_vs_depth(
    depths: Sequence[int],
    inits: Iterable[str],
    *,
    activation: str = "linear",
    width: int = 64,
    n_examples: int = 8,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean and variance of the squared singular values against depth, one row per (init, depth).

    Each net is `mlp(width, width, depth, width, activation, init, seed=seed)` (square, so J is
    width × width), probed at `n_examples` standard-normal inputs. Columns: init, activation,
    depth, width, mean_sq, var_sq, spread (= var_sq / mean_sq², scale-free), sv_min,
    sv_max, sv_median.
    """
    X = np.random.default_rng(seed).standard_normal((n_examples, width))
    rows = []
    for init in inits:
        for depth in depths:
            net = mlp(width, width, depth, width, activation, init, seed=seed)
            spec = jacobian_spectrum(net, X)
            sv = spec.singular_values
            rows.append({
                "init": init, "activation": activation, "depth": int(depth), "width": width,
                "mean_sq": spec.mean_sq, "var_sq": spec.var_sq,
                "spread": spec.var_sq / spec.mean_sq**2 if spec.mean_sq > 0 else np.nan,
                "sv_min": float(sv.min()),
                "sv_max": float(sv.max()), "sv_median": float(np.median(sv)),
            })
    return pd.DataFrame(rows)
