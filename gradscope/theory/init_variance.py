"""σ_w² of every initialiser: the weight variance times fan_in, Var(W_ij)·fan_in.

The mean field (and the back-propagated signal: E‖δ Wᵀ‖² = σ_w²·‖δ‖²) only sees this number.
One table entry per registered initialiser, each a function (param, fan_in, fan_out) → σ_w²;
`param` is the number after the colon (None when absent, then the initialiser's default).
"""

from __future__ import annotations

from collections.abc import Callable

from gradscope.core.errors import ConfigError
from gradscope.core.registry import Spec
from gradscope.nn.initializers import INITIALIZERS

SigmaW2 = Callable[[float | None, int, int], float]


def _xavier(param: float | None, fan_in: int, fan_out: int) -> float:
    return 2.0 * fan_in / (fan_in + fan_out)  # variance 2/(in+out); 1 on square layers


def _he(param: float | None, fan_in: int, fan_out: int) -> float:
    return 2.0


def _orthogonal(param: float | None, fan_in: int, fan_out: int) -> float:
    gain = 1.0 if param is None else param
    # orthonormal columns (fan_in ≥ fan_out) or rows: entry variance 1/max(fan_in, fan_out)
    return gain**2 * fan_in / max(fan_in, fan_out)


SIGMA_W2: dict[str, SigmaW2] = {
    "normal": lambda p, fi, fo: (0.01 if p is None else p) ** 2 * fi,
    "uniform": lambda p, fi, fo: (0.05 if p is None else p) ** 2 / 3.0 * fi,
    "xavier": _xavier,
    "xavier_uniform": _xavier,
    "xavier_normal": _xavier,
    "he": _he,
    "he_normal": _he,
    "he_uniform": _he,
    "lecun": lambda p, fi, fo: 1.0,
    "orthogonal": _orthogonal,
    "glorot2010": lambda p, fi, fo: 1.0 / 3.0,  # U[-1/√n, 1/√n] has variance 1/(3n)
}


def sigma_w2_of(init: str | Spec, fan_in: int, fan_out: int) -> float:
    """σ_w² = Var(W)·fan_in of initialiser `init` for a (fan_in, fan_out) layer."""
    spec = init if isinstance(init, Spec) else INITIALIZERS.parse(init, "init")
    if spec.name not in SIGMA_W2:
        raise ConfigError(
            f'init = "{spec}": the mean-field theory has no weight variance for this initialiser '
            f"yet. Initialisers it knows: {', '.join(SIGMA_W2)}."
        )
    return float(SIGMA_W2[spec.name](spec.param, int(fan_in), int(fan_out)))
