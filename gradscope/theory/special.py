"""Digamma ψ and trigamma ψ' (vectorised, numpy only): the log-moments of χ² and Beta laws.

If X ~ χ²_k then E ln X = ψ(k/2) + ln 2 and Var ln X = ψ'(k/2); if U ~ Beta(α, β) then
E ln U = ψ(α) − ψ(α + β) and Var ln U = ψ'(α) − ψ'(α + β). Both functions shift x up by the
recurrences ψ(x) = ψ(x + 1) − 1/x, ψ'(x) = ψ'(x + 1) + 1/x² until x ≥ 10 and then sum their
asymptotic series (absolute error below 1e-14 for every x > 0).
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray
SHIFT = 10  # x + SHIFT ≥ 10: the asymptotic series below are accurate to ~1e-15 there


def digamma(x: float | Array) -> Array:
    """ψ(x) = d/dx ln Γ(x) for x > 0."""
    x = np.asarray(x, dtype=float)
    shift = sum(1.0 / (x + i) for i in range(SHIFT))
    y = x + SHIFT
    inv2 = 1.0 / (y * y)
    series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (
        1 / 240 - inv2 * (1 / 132 - inv2 * 691 / 32760)))))
    return np.log(y) - 0.5 / y - series - shift


def trigamma(x: float | Array) -> Array:
    """ψ'(x) = d²/dx² ln Γ(x) for x > 0."""
    x = np.asarray(x, dtype=float)
    shift = sum(1.0 / (x + i) ** 2 for i in range(SHIFT))
    y = x + SHIFT
    inv2 = 1.0 / (y * y)
    series = (1.0 + inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 * (1 / 42 - inv2 * (
        1 / 30 - inv2 * (5 / 66 - inv2 * 691 / 2730)))))) / y
    return series + 0.5 * inv2 + shift
