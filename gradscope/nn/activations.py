"""Activation functions by name: value, derivative, and which statistics apply to them.

Definitions follow PyTorch's defaults: leaky_relu slope 0.01, elu alpha 1, gelu with the tanh
approximation, softplus with beta 1 and threshold 20. Derivatives reuse the stored output where
possible (sigmoid' = a(1 − a), tanh' = 1 − a²).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradscope.core.registry import Registry

Array = np.ndarray
SQRT_2_OVER_PI = float(np.sqrt(2.0 / np.pi))
GELU_C = 0.044715
LEAKY_SLOPE = 0.01  # PyTorch's default negative_slope


@dataclass(frozen=True)
class ActivationFn:
    """An activation: `fn(z)`, `grad(z, a)` = dφ/dz, and what the statistics and theory need.

    family "saturating" (sigmoid, tanh): saturated_frac applies (φ' < 1% of max φ');
    family "relu" (relu, leaky_relu, elu): dead_frac applies (z ≤ 0 for the whole batch).
    max_grad: the maximum of φ'. negative_slope: for a piecewise-linear φ (z for z > 0, slope·z
    otherwise) its slope, which gives the mean-field moments in closed form; None otherwise.
    backprop: `backprop(g, z, a)` = g · φ'(z) with fewer temporaries, bit-identical to
    `g * grad(z, a)` (None: that product itself); `delta` picks whichever applies.
    """

    name: str
    fn: Callable[[Array], Array]
    grad: Callable[[Array, Array], Array]
    family: str = "smooth"
    max_grad: float = 1.0
    negative_slope: float | None = None
    backprop: Callable[[Array, Array, Array], Array] | None = None

    def delta(self, g: Array, z: Array, a: Array) -> Array:
        """g · φ'(z): the gradient w.r.t. the pre-activation from `g` = dL/da."""
        if self.backprop is not None:
            return self.backprop(g, z, a)
        return g * self.grad(z, a)


def piecewise_linear(name: str, slope: float, family: str) -> ActivationFn:
    """φ(z) = z for z > 0, slope·z otherwise (relu: 0, leaky_relu: 0.01, linear: 1)."""
    if slope == 1.0:
        return ActivationFn(name, lambda z: z, lambda z, a: np.ones_like(z), family,
                            negative_slope=1.0)
    if slope == 0.0:
        return ActivationFn(name, lambda z: np.maximum(z, 0.0),
                            lambda z, a: (z > 0).astype(z.dtype), family, negative_slope=0.0,
                            backprop=_relu_backprop)
    return ActivationFn(name, lambda z: np.where(z > 0, z, slope * z),
                        lambda z, a: np.where(z > 0, 1.0, slope).astype(z.dtype), family,
                        negative_slope=slope)


def _relu_backprop(g: Array, z: Array, a: Array) -> Array:
    """g · 1[z > 0]: numpy casts the bool mask to 1.0/0.0 as `astype` would, without the copy."""
    if getattr(g, "dtype", None) != z.dtype:  # mixed dtypes: the product's dtype follows the mask's
        return g * (z > 0).astype(z.dtype)
    return g * (z > 0)


def _same(g: Array, out: Array) -> Array | None:
    """`out` when g · out can be written into it (same shape and dtype as g), else None."""
    same = isinstance(g, np.ndarray) and g.shape == out.shape and g.dtype == out.dtype
    return out if same else None


def _tanh_backprop(g: Array, z: Array, a: Array) -> Array:
    """g · (1 − a²) in one buffer (the same element-wise operations, in the same order)."""
    out = np.multiply(a, a)
    np.subtract(1.0, out, out=out)
    return np.multiply(g, out, out=_same(g, out))


def _sigmoid_backprop(g: Array, z: Array, a: Array) -> Array:
    """g · a(1 − a) in one buffer (the same element-wise operations, in the same order)."""
    out = np.subtract(1.0, a)
    np.multiply(a, out, out=out)
    return np.multiply(g, out, out=_same(g, out))


def _sigmoid(z: Array) -> Array:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free form of 1 / (1 + e^-z)


def _gelu(z: Array) -> Array:
    return 0.5 * z * (1.0 + np.tanh(SQRT_2_OVER_PI * (z + GELU_C * z**3)))


def _gelu_grad(z: Array, a: Array) -> Array:
    t = np.tanh(SQRT_2_OVER_PI * (z + GELU_C * z**3))
    return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3 * GELU_C * z * z)


def _softplus(z: Array) -> Array:
    return np.where(z > 20.0, z, np.logaddexp(0.0, np.minimum(z, 20.0)))


ACTIVATIONS: Registry[ActivationFn] = Registry("activation")
for _act, _help in [
    (ActivationFn("sigmoid", _sigmoid, lambda z, a: a * (1.0 - a), "saturating", 0.25,
                  backprop=_sigmoid_backprop),
     "1 / (1 + e^-z)"),
    (ActivationFn("tanh", np.tanh, lambda z, a: 1.0 - a * a, "saturating", 1.0,
                  backprop=_tanh_backprop), "tanh(z)"),
    (piecewise_linear("relu", 0.0, "relu"), "max(z, 0)"),
    (piecewise_linear("leaky_relu", LEAKY_SLOPE, "relu"), f"z if z > 0 else {LEAKY_SLOPE:g} z"),
    (ActivationFn("elu", lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
                  lambda z, a: np.where(z > 0, 1.0, a + 1.0).astype(z.dtype), "relu"),
     "z if z > 0 else e^z − 1"),
    (ActivationFn("gelu", _gelu, _gelu_grad, "smooth", 1.13),
     "0.5 z (1 + tanh(√(2/π)(z + 0.044715 z³)))"),
    (ActivationFn("softplus", _softplus, lambda z, a: _sigmoid(z), "smooth", 1.0),
     "log(1 + e^z)"),
    (piecewise_linear("linear", 1.0, "linear"), "identity"),
]:
    ACTIVATIONS.add(_act.name, _act, _help)


def get_activation(name: str) -> ActivationFn:
    """The `ActivationFn` registered as `name`."""
    return ACTIVATIONS.get(ACTIVATIONS.parse(name, "activation").name, "activation")
