"""Finite-width spread: the seed-to-seed law of ln R_l, R_l = ‖δ_l‖²/‖δ_{l+1}‖², for one example.

The mean field predicts E R_l = χ; at width n each layer's factor is random. Going down one
Dense layer, δ_l = (δ_{l+1} Wᵀ) ⊙ φ'(h_l) with W of shape (n, fan_out) and variance σ_w²/n.

**ReLU family, exact** (φ' = 1 on K active units, `slope` on the other n − K; Hanin 2018,
Hanin & Nica 2019). The sign symmetry of Gaussian weights makes K ~ Binomial(n, ½) and
independent of the Gaussian vector g = δ_{l+1} Wᵀ, whose squared norm is (σ_w²/n)·‖δ_{l+1}‖²·χ²_n.
Splitting that χ²_n into its radius and direction,
    R_l = σ_w² · (χ²_n / n) · (slope² + (1 − slope²)·U),   U | K ~ Beta(K/2, (n − K)/2),
the three factors independent. So E ln R and Var ln R are sums: ln χ²_n has mean ψ(n/2) + ln 2
and variance ψ'(n/2); for ReLU (slope 0) ln U | K has mean ψ(K/2) − ψ(n/2) and variance
ψ'(K/2) − ψ'(n/2), averaged over K by the law of total variance (K = 0, probability 2⁻ⁿ, kills
δ below: the law is conditioned on K ≥ 1); for a leaky slope the Beta expectation is a 1-D
integral (Gauss–Legendre in U = sin²θ). Large n: Var ln R_l → 5/n (ReLU), the "5 Σ 1/n_l" law.
Norm-preserving weights (orthogonal, fan_in ≥ fan_out) have no χ²_n radius: Var → 3/n.
"Exact" up to one of the n directions: W is not independent of the forward pass along the layer's
input direction, an O(1/n²) effect on the variance.

**Other activations, heuristic** (delta method, units independent at the mean-field q_l):
Var ln R_l ≈ (3κ − 1)/n with κ = E[φ'⁴]/E[φ'²]² and E ln R_l ≈ ln χ(q_l) − Var/2. It
reproduces 5/n for ReLU and 2/n for a linear net, and is good where φ'² hardly varies over
N(0, q_l) (the near-linear regime). It leaves out the O(1/√n) fluctuation of q_l itself, which
moves φ'² in every later layer at once. Measured at depth 16, 300 seeds, one example, Gaussian
weights: sigmoid + xavier_normal within 5 %; tanh + xavier_normal 17–18 % and tanh +
normal:0.5 (chaotic) 15–22 % too small. With norm-preserving (orthogonal) weights that
fluctuation is nearly all of the spread (tanh: 3–8× the heuristic), so no law is given there.

Batches: a δ norm over a batch of B examples sums B per-example norms that share the weights;
this averages out part of the spread, between nothing (aligned δ's, e.g. two classes deep in a
ReLU net, where every example's mask is nearly the same) and a factor √B. The law here is the
single-example one: exact for runs with batch_size = 1, an upper bound above that (ReLU + He,
depth 16, spirals, batch 64: 0.73–0.76 of it, measured).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from gradscope.theory.moments import Moments, PiecewiseLinear
from gradscope.theory.special import digamma, trigamma

Array = np.ndarray
Moment = Moments | PiecewiseLinear
EXACT_MAX_N = 100_000  # ReLU: closed form up to here (n + 1 terms); then the asymptotic law
LEAKY_MAX_N = 2048  # leaky slope: quadrature up to here (n × LEGENDRE_POINTS); then asymptotic
LEGENDRE_POINTS = 512
LN2 = math.log(2.0)


@dataclass(frozen=True)
class LogMoments:
    """E ln R and Var ln R for one layer's R = ‖δ_l‖²/‖δ_{l+1}‖² and the law they come from:
    "exact" (ReLU family), "asymptotic" (its large-n limit), "heuristic" (other φ) or "none"
    (nan: smooth φ with norm-preserving weights)."""

    mean: float
    var: float
    law: str


def binomial_pmf(n: int) -> Array:
    """P(K = k), K ~ Binomial(n, ½), for k = 0..n (log-space, no overflow at large n)."""
    k = np.arange(1, n + 1)
    log_comb = np.concatenate([[0.0], np.cumsum(np.log((n - k + 1) / k))])
    return np.exp(log_comb - n * LN2)


def _radius(n: int, norm_preserving: bool) -> tuple[float, float]:
    """E and Var of ln(χ²_n / n); zero for norm-preserving weights."""
    if norm_preserving:
        return 0.0, 0.0
    return float(digamma(n / 2) + LN2 - math.log(n)), float(trigamma(n / 2))


def _total(p: Array, mean: Array, var: Array) -> tuple[float, float]:
    """Law of total variance over K with probabilities p."""
    p = p / p.sum()
    m = float(p @ mean)
    return m, float(p @ var + p @ (mean - m) ** 2)


def _relu_direction(n: int) -> tuple[float, float]:
    """E and Var of ln U, U | K ~ Beta(K/2, (n − K)/2), K ~ Bin(n, ½) conditioned on K ≥ 1."""
    k = np.arange(1, n + 1) / 2.0
    return _total(binomial_pmf(n)[1:], digamma(k) - digamma(n / 2), trigamma(k) - trigamma(n / 2))


@lru_cache(maxsize=4)
def _legendre(points: int) -> tuple[Array, Array]:
    """Gauss–Legendre nodes θ and weights on [0, π/2]."""
    x, w = np.polynomial.legendre.leggauss(points)
    return (x + 1.0) * math.pi / 4.0, w * math.pi / 4.0


def _leaky_direction(n: int, slope: float) -> tuple[float, float]:
    """E and Var of ln(slope² + (1 − slope²)·U) over K and U | K ~ Beta(K/2, (n − K)/2), by
    quadrature in U = sin²θ (density ∝ sin^(K−1)θ cos^(n−K−1)θ, bounded for K, n − K ≥ 1)."""
    theta, w = _legendre(LEGENDRE_POINTS)
    a2 = slope * slope
    f = np.log(a2 + (1.0 - a2) * np.sin(theta) ** 2)  # (points,)
    k = np.arange(1, n)[:, None]  # (n − 1, 1): the mixed cases 1 ≤ K ≤ n − 1
    log_density = (k - 1) * np.log(np.sin(theta)) + (n - k - 1) * np.log(np.cos(theta))
    dens = np.exp(log_density - log_density.max(axis=1, keepdims=True)) * w
    dens /= dens.sum(axis=1, keepdims=True)  # (n − 1, points)
    mean_k = np.concatenate([[math.log(a2)], dens @ f, [0.0]])  # K = 0: U = 0; K = n: U = 1
    var_k = np.concatenate([[0.0], dens @ f**2 - (dens @ f) ** 2, [0.0]])
    return _total(binomial_pmf(n), mean_k, np.maximum(var_k, 0.0))


def asymptotic_var(kappa: float, n: int, norm_preserving: bool) -> float:
    """Var ln R ≈ (3κ − 1)/n, κ = E[φ'⁴]/E[φ'²]² (3(κ − 1)/n without the χ²_n radius)."""
    return (3.0 * kappa - 3.0 if norm_preserving else 3.0 * kappa - 1.0) / n


def layer_log_moments(m: Moment, sigma_w2: float, q: float, n: int, *,
                      norm_preserving: bool = False) -> LogMoments:
    """The law of ln R_l for a hidden layer of width n whose pre-activations have mean-field
    variance q, under weights of variance σ_w²/n (see the module docstring)."""
    d2, d4 = float(m.deriv2(q)), float(m.deriv4(q))
    if d2 <= 0.0 or sigma_w2 <= 0.0:
        return LogMoments(-math.inf, 0.0, "exact")
    kappa = d4 / (d2 * d2)
    if isinstance(m, PiecewiseLinear):
        slope = float(m.slope)
        exact = n <= (EXACT_MAX_N if slope in (0.0, 1.0) else LEAKY_MAX_N)
        if exact:
            r_mean, r_var = _radius(n, norm_preserving)
            if slope == 1.0:
                u_mean, u_var = 0.0, 0.0
            elif slope == 0.0:
                u_mean, u_var = _relu_direction(n)
            else:
                u_mean, u_var = _leaky_direction(n, slope)
            return LogMoments(math.log(sigma_w2) + r_mean + u_mean, r_var + u_var, "exact")
        var = asymptotic_var(kappa, n, norm_preserving)
        return LogMoments(math.log(sigma_w2 * d2) - var / 2.0, var, "asymptotic")
    if norm_preserving:
        return LogMoments(math.nan, math.nan, "none")
    var = asymptotic_var(kappa, n, False)
    return LogMoments(math.log(sigma_w2 * d2) - var / 2.0, var, "heuristic")


def combine_law(laws: list[str]) -> str:
    """The weakest law among the layers: none < heuristic < asymptotic < exact."""
    for law in ("none", "heuristic", "asymptotic", "exact"):
        if law in laws:
            return law
    return "none"


@lru_cache(maxsize=64)
def expected_range(samples: int) -> float:
    """E[max − min] of `samples` independent standard normals (1.128 for 2, 1.693 for 3, 3.078
    for 10): the width, in standard deviations, of a min–max band over that many seeds."""
    if samples < 2:
        return 0.0
    x = np.linspace(-9.0, 9.0, 6001)
    cdf = 0.5 * (1.0 + np.frompyfunc(math.erf, 1, 1)(x / math.sqrt(2.0)).astype(float))
    density = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    e_max = float(np.sum(x * samples * density * cdf ** (samples - 1)) * (x[1] - x[0]))
    return 2.0 * e_max
