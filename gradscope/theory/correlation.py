"""How two inputs' correlation propagates: the correlation map, its fixed point c* and ξ_c.

Schoenholz et al. (2017, "Deep information propagation", ICLR), §3: two inputs whose
pre-activations have variance q* and correlation c map to
    c' = (σ_w²·E[φ(u₁)φ(u₂)] + σ_b²) / q*,   u₁ = √q*·z₁, u₂ = √q*·(c·z₁ + √(1 − c²)·z₂),
with a stable fixed point c*: 1 in the ordered phase (χ₁ < 1: every input ends up alike), below
1 in the chaotic phase (χ₁ > 1: nearby inputs decorrelate). Near c* the distance decays as
e^(−l/ξ_c) with χ_c = σ_w²·E[φ'(u₁)φ'(u₂)] at c* and ξ_c = −1/ln χ_c; at c* = 1, χ_c = χ₁. A
network trains only if its depth is below about 6 ξ_c (their Fig. 5–6), which diverges on the
critical line χ₁ = 1 (tanh, σ_b² = 0.05: σ_w² ≈ 1.76).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradscope.core.errors import ConfigError
from gradscope.theory.meanfield import chi, fixed_point
from gradscope.theory.moments import Moments, PiecewiseLinear
from gradscope.theory.quadrature import gauss_hermite

Array = np.ndarray
Moment = Moments | PiecewiseLinear
NODES = 120  # per dimension of the 2-D Gauss–Hermite grid (c* to ~1e-9 for tanh at q* ≤ 3)


@dataclass(frozen=True)
class Correlation:
    """The correlation fixed point c*, χ_c at it and ξ_c = −1/ln χ_c (∞ on the critical line;
    None where q* = ∞, or q* = 0 in the chaotic phase: no fixed variance to correlate at)."""

    c_star: float | None
    chi_c: float | None
    xi_c: float | None


def _pair_expectation(f: Callable[[Array], Array], q: float, c: float) -> float:
    """E[f(u₁)·f(u₂)], (u₁, u₂) Gaussian with variances q and correlation c (2-D Gauss–Hermite)."""
    z, w = gauss_hermite(NODES)
    s = math.sqrt(q)
    u1 = s * z[:, None]
    u2 = s * (c * z[:, None] + math.sqrt(max(1.0 - c * c, 0.0)) * z[None, :])
    return float(w @ (f(u1) * f(u2)) @ w)


def _phi_and_dphi(m: Moment) -> tuple[Callable[[Array], Array], Callable[[Array], Array]]:
    if isinstance(m, PiecewiseLinear):
        a = m.slope
        return (lambda h: np.where(h > 0, h, a * h)), (lambda h: np.where(h > 0, 1.0, a))
    return m.act.fn, (lambda h: m.act.grad(h, m.act.fn(h)))


def correlation_map(m: Moment, sigma_w2: float, sigma_b2: float, q: float, c: float) -> float:
    """c' = (σ_w²·E[φ(u₁)φ(u₂)] + σ_b²)/q at the fixed variance q = q*."""
    phi, _ = _phi_and_dphi(m)
    return (sigma_w2 * _pair_expectation(phi, q, c) + sigma_b2) / q


def correlation(m: Moment, sigma_w2: float, sigma_b2: float) -> Correlation:
    """c*, χ_c and ξ_c for weights of variance σ_w²/fan_in and biases of variance σ_b²."""
    q = fixed_point(m, sigma_w2, sigma_b2)
    if not math.isfinite(q):
        return Correlation(None, None, None)
    chi_1 = chi(m, sigma_w2, q)
    if chi_1 <= 1.0:
        c_star, chi_c = 1.0, chi_1
    elif q == 0.0:
        return Correlation(None, None, None)
    else:
        c_star = _chaotic_fixed_point(m, sigma_w2, sigma_b2, q)
        _, dphi = _phi_and_dphi(m)
        chi_c = sigma_w2 * _pair_expectation(dphi, q, c_star)
    return Correlation(c_star, chi_c, correlation_depth(chi_c))


def _chaotic_fixed_point(m: Moment, sigma_w2: float, sigma_b2: float, q: float) -> float:
    """The stable c* < 1 of the correlation map (χ₁ > 1 makes c = 1 unstable): the root of
    g(c) = c' − c, which is ≥ 0 at c = 0 and < 0 just below 1, by Newton steps (g'(c) =
    σ_w²·E[φ'(u₁)φ'(u₂)] − 1) kept inside a bisection bracket."""
    _, dphi = _phi_and_dphi(m)

    def g(c: float) -> float:
        return correlation_map(m, sigma_w2, sigma_b2, q, c) - c

    if g(0.0) <= 0.0:
        return 0.0
    hi = 1.0 - 1e-3
    while g(hi) >= 0.0:
        hi = 1.0 - (1.0 - hi) / 10.0
        if 1.0 - hi < 1e-12:
            return 1.0  # so close to critical that c* is 1 to within the quadrature
    lo, c = 0.0, 0.5 * hi
    for _ in range(100):
        value = g(c)
        if value >= 0.0:
            lo = c
        else:
            hi = c
        slope = sigma_w2 * _pair_expectation(dphi, q, c) - 1.0
        step = c - value / slope if slope < 0.0 else math.nan
        if abs(step - c) < 1e-13 or hi - lo < 1e-13:
            return step if lo <= step <= hi else c
        c = step if lo <= step <= hi else 0.5 * (lo + hi)
    return c


def correlation_depth(chi_c: float) -> float:
    """ξ_c = −1/ln χ_c (∞ at χ_c = 1); ConfigError for χ_c > 1, where c* would be unstable."""
    if chi_c > 1.0 + 1e-9:
        raise ConfigError(f"χ_c = {chi_c:.6g} > 1: the correlation fixed point is unstable, so "
                          "there is no correlation depth scale.")
    if chi_c <= 0.0:
        return 0.0
    log = math.log(min(chi_c, 1.0))
    return math.inf if log == 0.0 else -1.0 / log
