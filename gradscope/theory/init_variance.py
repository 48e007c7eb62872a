"""σ_w² of an initialiser: the weight variance times fan_in, Var(W_ij)·fan_in.

The mean field (and the back-propagated signal: E‖δ Wᵀ‖² = σ_w²·‖δ‖²) only sees this number.
Each registered `Initializer` declares its variance (`gradscope.nn.initializers`), so there is
no copy of the initialisers' defaults here.
"""

from __future__ import annotations

from gradscope.core.registry import Spec
from gradscope.nn.initializers import INITIALIZERS


def sigma_w2_of(init: str | Spec, fan_in: int, fan_out: int) -> float:
    """σ_w² = Var(W)·fan_in of initialiser `init` (e.g. "normal:0.01") for a (fan_in, fan_out)
    layer."""
    spec = init if isinstance(init, Spec) else INITIALIZERS.parse(init, "init")
    return INITIALIZERS.get(spec.name).sigma_w2(spec.param, fan_in, fan_out)
