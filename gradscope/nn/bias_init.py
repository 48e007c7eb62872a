"""Bias initialisers by name (`bias_init`): `zeros` (default) or an entry-wise weight initialiser.

`bias_init = "NAME[:PARAM]"` uses the same names and syntax as `init` and draws each bias b_j
from that initialiser's entry distribution for the layer's fans, so Var(b_j) = the Var(W_ij) it
would give the weights: `normal:S` → N(0, S²), i.e. σ_b² = S² (S is a std, as for `init`);
`uniform:A` → U[−A, A], σ_b² = A²/3; `glorot2010` → U[±1/√fan_in] (PyTorch's default nn.Linear
bias); `he` → N(0, 2/fan_in). Matrix-only initialisers (orthogonal) are not bias initialisers.
The mean-field theory's σ_b² is this Var(b_j) itself (not multiplied by a fan).
"""

from __future__ import annotations

import numpy as np

from gradscope.core.registry import Registry, Spec
from gradscope.nn.initializers import INITIALIZERS, Initializer

ZEROS = "zeros"

BIAS_INITIALIZERS: Registry[Initializer] = Registry("bias initialiser")
BIAS_INITIALIZERS.add(ZEROS, Initializer(lambda param: None, lambda param, fi, fo: 0.0,
                                         family=None),
                      "every bias 0 (the default; σ_b² = 0)")
for _name in INITIALIZERS:
    _init = INITIALIZERS.get(_name)
    if _init.family is not None:  # a distribution per entry: it can draw a vector
        BIAS_INITIALIZERS.add(_name, _init, INITIALIZERS.help(_name), param=_init.default
                              is not None, shown=INITIALIZERS.shown(_name))


def parse_bias_init(spec: str | Spec, key: str = "bias_init") -> Spec:
    """The parsed `spec`; ConfigError naming the valid choices for an unknown one."""
    return spec if isinstance(spec, Spec) else BIAS_INITIALIZERS.parse(spec, key)


def bias_variance(spec: str | Spec, fan_in: int, fan_out: int) -> float:
    """σ_b² = Var(b_j) of bias initialiser `spec` for a (fan_in, fan_out) layer (0 for zeros)."""
    parsed = parse_bias_init(spec)
    init = BIAS_INITIALIZERS.get(parsed.name)
    param = init.default if parsed.param is None else parsed.param
    return float(init.variance(param, int(fan_in), int(fan_out)))


def is_zeros(spec: str | Spec) -> bool:
    """True when `spec` draws nothing (every bias 0)."""
    return parse_bias_init(spec).name == ZEROS


def initialize_bias(
    spec: str | Spec,
    fan_in: int,
    fan_out: int,
    *,
    rng: np.random.Generator | None,
    dtype: str | np.dtype = "float64",
) -> np.ndarray:
    """A (fan_out,) bias vector drawn by `spec` from `rng` (zeros draws nothing; rng may be None).

    Normal entries are `rng.standard_normal(fan_out)·σ_b`, uniform ones
    `rng.uniform(−√(3σ_b²), √(3σ_b²), fan_out)`.
    """
    parsed = parse_bias_init(spec)
    if parsed.name == ZEROS:
        return np.zeros(fan_out, dtype=dtype)
    var = bias_variance(parsed, fan_in, fan_out)
    if BIAS_INITIALIZERS.get(parsed.name).family == "uniform":
        limit = np.sqrt(3.0 * var)
        return rng.uniform(-limit, limit, size=fan_out).astype(dtype)
    return (rng.standard_normal(fan_out) * np.sqrt(var)).astype(dtype)
