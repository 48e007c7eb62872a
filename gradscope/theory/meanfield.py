"""The mean field of a deep fully connected net: the length map, its fixed point q*, χ and ξ.

Weights i.i.d. with variance σ_w²/fan_in, biases with variance σ_b² (Poole et al. 2016;
Schoenholz et al. 2017). The pre-activation variance obeys the length map
q^{l+1} = σ_w²·E[φ(h)²] + σ_b², h ~ N(0, q^l) — a second moment, so a sigmoid's mean of 1/2
counts. Going backwards, ‖δ_l‖²/‖δ_{l+1}‖² ≈ χ(q^l) = σ_w²·E[φ'(h)²]: χ is a ratio of SQUARED
norms; the norms themselves shrink or grow by √χ per layer.
"""

from __future__ import annotations

import math

from gradscope.theory.moments import Moments, PiecewiseLinear
from gradscope.theory.solve import log_bisect

Moment = Moments | PiecewiseLinear
Q_INFINITE = 1e12  # a length map still growing past this has q* = ∞ (an unbounded activation)


def length_map(m: Moment, sigma_w2: float, sigma_b2: float, q: float) -> float:
    """q' = σ_w²·E[φ(h)²] + σ_b² with h ~ N(0, q)."""
    return float(sigma_w2 * m.second(q) + sigma_b2)


def chi(m: Moment, sigma_w2: float, q: float) -> float:
    """χ(q) = σ_w²·E[φ'(h)²], h ~ N(0, q): the ratio of squared norms ‖δ_l‖²/‖δ_{l+1}‖²
    (q beyond Q_INFINITE, up to ∞, is evaluated at Q_INFINITE, where E[φ'²] has converged)."""
    return float(sigma_w2 * m.deriv2(min(q, Q_INFINITE)))


def fixed_point(m: Moment, sigma_w2: float, sigma_b2: float, q0: float = 1.0) -> float:
    """q* with q* = σ_w²·E[φ(√q*·z)²] + σ_b² (the stable one); math.inf if q grows without bound.

    Piecewise-linear activations (E[φ²] = c·q): q* = σ_b²/(1 − c·σ_w²), ∞ when c·σ_w² ≥ 1, and
    the starting q0 itself in the marginal case c·σ_w² = 1, σ_b² = 0. Others: bisection in log q
    on F(q) = length_map(q) − q, whose sign goes from + to − across the stable fixed point.
    """
    c = m.second_coeff
    if c is not None:
        gain = c * sigma_w2
        if math.isclose(gain, 1.0, rel_tol=1e-12) and sigma_b2 == 0.0:
            return float(q0)
        return sigma_b2 / (1.0 - gain) if gain < 1.0 else math.inf

    def excess(q: float) -> float:
        return length_map(m, sigma_w2, sigma_b2, q) - q

    lo = 1e-300
    if excess(lo) <= 0.0:  # q = 0 is a stable fixed point (φ(0) = 0, σ_b² = 0, χ(0) ≤ 1)
        return 0.0
    hi = 1.0
    while excess(hi) > 0.0:
        hi *= 4.0
        if hi > Q_INFINITE:
            return math.inf
    lo = hi / 4.0 if hi > 1.0 else lo
    return log_bisect(lambda x: excess(x) <= 0.0, lo, hi, rel_tol=1e-14)


def chi1(m: Moment, sigma_w2: float, sigma_b2: float, q0: float = 1.0) -> float:
    """χ₁ = χ(q*): the per-layer ratio of ‖δ‖² deep in the net (q* = ∞: its limit, at q = 1e12)."""
    q = fixed_point(m, sigma_w2, sigma_b2, q0)
    return chi(m, sigma_w2, q)


def depth_scale(chi_1: float) -> float:
    """ξ = −1/ln χ₁: ‖δ‖² changes by a factor e every |ξ| layers (ξ > 0 vanishing, ξ < 0
    exploding, ∞ at criticality χ₁ = 1)."""
    if chi_1 <= 0.0:
        return 0.0
    log = math.log(chi_1)
    return math.inf if log == 0.0 else -1.0 / log

