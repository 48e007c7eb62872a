"""The Gaussian moments of an activation that the mean field needs: E[φ], E[φ²], E[φ'²], E[φ'⁴].

Every registered activation gets them by quadrature; the piecewise-linear ones (those that
declare a `negative_slope`: relu, leaky_relu, linear) use exact closed forms (`PiecewiseLinear`),
because quadrature converges slowly across their kink at 0 and because their second moments are
linear in q, which gives the fixed point q* in closed form too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradscope.nn.activations import ActivationFn, get_activation
from gradscope.theory.quadrature import gaussian_expectation, kinked_expectation

Array = np.ndarray
SQRT_2PI = float(np.sqrt(2.0 * np.pi))


class Moments:
    """E[φ(h)], E[φ(h)²], E[φ'(h)²] for h ~ N(0, q), computed by quadrature (Gauss–Hermite
    where it is accurate; the ReLU family's kink at 0 gets `kinked_expectation`)."""

    #: c with E[φ(h)²] = c·q exactly (piecewise-linear activations), else None
    second_coeff: float | None = None

    def __init__(self, act: ActivationFn) -> None:
        self.act = act
        self.name = act.name
        self._expect = kinked_expectation if act.family == "relu" else gaussian_expectation

    def _phi(self, h: Array) -> Array:
        return self.act.fn(h)

    def _dphi(self, h: Array) -> Array:
        return self.act.grad(h, self.act.fn(h))

    def mean(self, q: float | Array) -> Array:
        """E[φ(h)], h ~ N(0, q)."""
        return self._expect(self._phi, q)

    def second(self, q: float | Array) -> Array:
        """E[φ(h)²], h ~ N(0, q): the length map before σ_w² and σ_b² (includes the mean²)."""
        return self._expect(lambda h: self._phi(h) ** 2, q)

    def deriv2(self, q: float | Array) -> Array:
        """E[φ'(h)²], h ~ N(0, q): the backward factor before σ_w²."""
        return self._expect(lambda h: self._dphi(h) ** 2, q)

    def deriv4(self, q: float | Array) -> Array:
        """E[φ'(h)⁴], h ~ N(0, q): what the finite-width spread of the backward factor needs."""
        return self._expect(lambda h: self._dphi(h) ** 4, q)

    def var(self, q: float | Array) -> Array:
        """Var[φ(h)], h ~ N(0, q)."""
        return self.second(q) - self.mean(q) ** 2


@dataclass(frozen=True)
class PiecewiseLinear:
    """φ(h) = h for h > 0, slope·h for h ≤ 0: every moment in closed form."""

    name: str
    slope: float

    @property
    def second_coeff(self) -> float:
        """E[φ²] = c·q with c = (1 + slope²)/2."""
        return (1.0 + self.slope**2) / 2.0

    def mean(self, q: float | Array) -> Array:
        """E[φ(h)] = √q·(1 − slope)/√(2π)."""
        return np.sqrt(np.asarray(q, dtype=float)) * (1.0 - self.slope) / SQRT_2PI

    def second(self, q: float | Array) -> Array:
        """E[φ(h)²] = q·(1 + slope²)/2."""
        return self.second_coeff * np.asarray(q, dtype=float)

    def deriv2(self, q: float | Array) -> Array:
        """E[φ'(h)²] = (1 + slope²)/2, whatever q."""
        return np.full(np.shape(q), self.second_coeff)[()]

    def deriv4(self, q: float | Array) -> Array:
        """E[φ'(h)⁴] = (1 + slope⁴)/2, whatever q."""
        return np.full(np.shape(q), (1.0 + self.slope**4) / 2.0)[()]

    def var(self, q: float | Array) -> Array:
        """Var[φ(h)]."""
        return self.second(q) - self.mean(q) ** 2


def moments(activation: str) -> Moments | PiecewiseLinear:
    """The moments of a registered activation (closed form where it declares a slope)."""
    act = get_activation(activation)
    if act.negative_slope is not None:
        return PiecewiseLinear(act.name, act.negative_slope)
    return Moments(act)
