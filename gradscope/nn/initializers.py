"""Weight initialisers by name (`normal:0.01`, `xavier`, `he`, `orthogonal:GAIN`, `glorot2010`...).

Each entry is an `Initializer`: a factory `draw(param) -> init(shape, rng, dtype)` and the
variance it draws with (what the mean-field theory reads). Randomness always comes from an
explicit `np.random.Generator`. Adding an initialiser is one `INITIALIZERS.add` here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradscope.core.registry import Registry, Spec

InitFn = Callable[[tuple[int, int], np.random.Generator, np.dtype], np.ndarray]


@dataclass(frozen=True)
class Initializer:
    """A registered initialiser: how it draws weights and the variance it draws them with.

    `draw(param)` returns `init(shape, rng, dtype)`; `variance(param, fan_in, fan_out)` is the
    entries' variance Var(W_ij), which the mean-field theory reads (as σ_w² = Var(W)·fan_in);
    `param` is the number after the colon, `default` when none is given. `family` is the
    distribution of a single entry ("normal" or "uniform"; None for a matrix-only initialiser
    such as orthogonal): a bias vector drawn by this name (`bias_init`) comes from it.
    `norm_preserving`: the drawn W keeps ‖W v‖ = gain·‖v‖ exactly when fan_in ≥ fan_out
    (orthogonal), which removes one source of the finite-width spread of the gradient
    (`gradscope.theory.finite_width`).
    """

    draw: Callable[[float | None], InitFn]
    variance: Callable[[float | None, int, int], float]
    default: float | None = None
    family: str | None = "normal"
    norm_preserving: bool = False

    def make(self, param: float | None = None) -> InitFn:
        """The init function for `param` (None: the default)."""
        return self.draw(self.default if param is None else param)

    def sigma_w2(self, param: float | None, fan_in: int, fan_out: int) -> float:
        """σ_w² = Var(W_ij)·fan_in for a (fan_in, fan_out) layer (param None: the default)."""
        p = self.default if param is None else param
        return float(self.variance(p, int(fan_in), int(fan_out)) * int(fan_in))


INITIALIZERS: Registry[Initializer] = Registry("initialiser")


def _fan(mode: str, fan_in: int, fan_out: int) -> float:
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


def variance_scaling(scale: float, mode: str, distribution: str) -> InitFn:
    """Weights with variance `scale / n` (n = fan_in, fan_out or their mean), normal or uniform."""

    def init(shape: tuple[int, int], rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
        var = scale / _fan(mode, *shape)
        if distribution == "normal":
            return (rng.standard_normal(shape) * np.sqrt(var)).astype(dtype)
        limit = np.sqrt(3.0 * var)
        return rng.uniform(-limit, limit, size=shape).astype(dtype)

    return init


def _scaled(scale: float, mode: str, distribution: str) -> Initializer:
    return Initializer(lambda param: variance_scaling(scale, mode, distribution),
                       lambda param, fan_in, fan_out: scale / _fan(mode, fan_in, fan_out),
                       family=distribution)


def _normal(std: float) -> InitFn:
    return lambda shape, rng, dtype: (rng.standard_normal(shape) * std).astype(dtype)


def _uniform(limit: float) -> InitFn:
    return lambda shape, rng, dtype: rng.uniform(-limit, limit, size=shape).astype(dtype)


def _orthogonal(gain: float) -> InitFn:
    def init(shape: tuple[int, int], rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
        rows, cols = shape
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))  # make the decomposition unique (Haar-distributed)
        q = q if rows >= cols else q.T
        return (gain * q[:rows, :cols]).astype(dtype)

    return init


def _glorot2010(param: float | None) -> InitFn:
    def init(shape: tuple[int, int], rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
        limit = 1.0 / np.sqrt(shape[0])
        return rng.uniform(-limit, limit, size=shape).astype(dtype)

    return init


INITIALIZERS.add("normal", Initializer(_normal, lambda std, fi, fo: std**2, 0.01),
                 "N(0, std²); normal:STD (default 0.01)", param=True, shown="normal:STD")
INITIALIZERS.add("uniform", Initializer(_uniform, lambda limit, fi, fo: limit**2 / 3.0, 0.05,
                                        "uniform"),
                 "U[-limit, limit]; uniform:LIMIT (default 0.05)", param=True,
                 shown="uniform:LIMIT")
INITIALIZERS.add("xavier", _scaled(1.0, "fan_avg", "uniform"), "Glorot uniform, var 2/(in+out)")
INITIALIZERS.add("xavier_uniform", _scaled(1.0, "fan_avg", "uniform"), "same as xavier")
INITIALIZERS.add("xavier_normal", _scaled(1.0, "fan_avg", "normal"),
                 "Glorot normal, var 2/(in+out)")
INITIALIZERS.add("he", _scaled(2.0, "fan_in", "normal"), "He normal, var 2/fan_in")
INITIALIZERS.add("he_normal", _scaled(2.0, "fan_in", "normal"), "same as he")
INITIALIZERS.add("he_uniform", _scaled(2.0, "fan_in", "uniform"), "He uniform, var 2/fan_in")
INITIALIZERS.add("lecun", _scaled(1.0, "fan_in", "normal"), "LeCun normal, var 1/fan_in")
# the mean field's own parameter: variance_scaling:1.76 draws N(0, 1.76/fan_in), σ_w² = 1.76
INITIALIZERS.add("variance_scaling",
                 Initializer(lambda s2: variance_scaling(s2, "fan_in", "normal"),
                             lambda s2, fan_in, fan_out: s2 / fan_in, 1.0),
                 "N(0, S/fan_in): the mean-field σ_w² = S directly; variance_scaling:S "
                 "(default 1)", param=True, shown="variance_scaling:S")
# orthonormal columns (fan_in ≥ fan_out) or rows: entry variance 1/max(fan_in, fan_out)
INITIALIZERS.add("orthogonal", Initializer(_orthogonal,
                                           lambda gain, fi, fo: gain**2 / max(fi, fo), 1.0,
                                           None, norm_preserving=True),
                 "random orthogonal matrix × gain; orthogonal:GAIN (default 1)", param=True,
                 shown="orthogonal:GAIN")
INITIALIZERS.add("glorot2010", Initializer(_glorot2010, lambda p, fi, fo: 1.0 / (3.0 * fi),
                                           family="uniform"),
                 "U[-1/sqrt(fan_in), 1/sqrt(fan_in)] (Glorot & Bengio 2010)")


def get_initializer(spec: str | Spec) -> InitFn:
    """The init function for `spec`, e.g. `get_initializer("normal:0.01")`."""
    parsed = spec if isinstance(spec, Spec) else INITIALIZERS.parse(spec, "init")
    return INITIALIZERS.get(parsed.name).make(parsed.param)


def initialize(
    spec: str | Spec,
    shape: tuple[int, int],
    *,
    rng: np.random.Generator,
    dtype: str | np.dtype = "float64",
) -> np.ndarray:
    """A (fan_in, fan_out) weight matrix drawn by initialiser `spec` from `rng`."""
    return get_initializer(spec)(shape, rng, np.dtype(dtype))
