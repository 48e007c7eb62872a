"""The edge of chaos: the σ_w² at which χ₁ = 1 for a given σ_b² (Schoenholz et al. 2017, Fig. 1)."""

from __future__ import annotations

from gradscope.core.errors import ConfigError
from gradscope.theory.meanfield import chi1
from gradscope.theory.moments import moments
from gradscope.theory.solve import log_bisect


def critical_sigma_w2(
    activation: str, sigma_b2: float = 0.0, lo: float = 0.1, hi: float = 100.0
) -> float:
    """σ_w² in [lo, hi] with χ₁(σ_w², σ_b²) = 1, by bisection in log σ_w² (tanh, σ_b² = 0.05: 1.76).

    On the critical line gradients neither vanish nor explode: ‖δ‖² keeps its size over depth.
    """
    m = moments(activation)

    def excess(sigma_w2: float) -> float:
        return chi1(m, sigma_w2, sigma_b2) - 1.0

    f_lo, f_hi = excess(lo), excess(hi)
    if f_lo * f_hi > 0.0:
        raise ConfigError(
            f'activation = "{activation}", sigma_b2 = {sigma_b2:g}: χ₁ − 1 has the same sign at '
            f"σ_w² = {lo:g} ({f_lo:+.3g}) and σ_w² = {hi:g} ({f_hi:+.3g}), so there is no critical "
            "σ_w² in between; try another sigma_b2 or range."
        )
    return log_bisect(lambda x: (excess(x) > 0.0) == (f_hi > 0.0), lo, hi, rel_tol=1e-10,
                      max_iter=100)
