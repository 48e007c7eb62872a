"""Weight initialisers by name (`normal:0.01`, `xavier`, `he`, `orthogonal:GAIN`, `glorot2010`...).

Each entry is a factory `f(param) -> init(shape, rng, dtype)`; randomness always comes from an
explicit `np.random.Generator`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradscope.core.registry import Registry, Spec

InitFn = Callable[[tuple[int, int], np.random.Generator, np.dtype], np.ndarray]
INITIALIZERS: Registry[Callable[[float | None], InitFn]] = Registry("initialiser")


def variance_scaling(scale: float, mode: str, distribution: str) -> InitFn:
    """Weights with variance `scale / n` (n = fan_in, fan_out or their mean), normal or uniform."""

    def init(shape: tuple[int, int], rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
        fan_in, fan_out = shape
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        var = scale / n
        if distribution == "normal":
            return (rng.standard_normal(shape) * np.sqrt(var)).astype(dtype)
        limit = np.sqrt(3.0 * var)
        return rng.uniform(-limit, limit, size=shape).astype(dtype)

    return init


def _normal(param: float | None) -> InitFn:
    std = 0.01 if param is None else param
    return lambda shape, rng, dtype: (rng.standard_normal(shape) * std).astype(dtype)


def _uniform(param: float | None) -> InitFn:
    limit = 0.05 if param is None else param
    return lambda shape, rng, dtype: rng.uniform(-limit, limit, size=shape).astype(dtype)


def _orthogonal(param: float | None) -> InitFn:
    gain = 1.0 if param is None else param

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


def _fixed(scale: float, mode: str, distribution: str) -> Callable[[float | None], InitFn]:
    return lambda param: variance_scaling(scale, mode, distribution)


INITIALIZERS.add("normal", _normal, "N(0, std²); normal:STD (default 0.01)", param=True)
INITIALIZERS.add("uniform", _uniform, "U[-limit, limit]; uniform:LIMIT (default 0.05)", param=True)
INITIALIZERS.add("xavier", _fixed(1.0, "fan_avg", "uniform"), "Glorot uniform, var 2/(in+out)")
INITIALIZERS.add("xavier_uniform", _fixed(1.0, "fan_avg", "uniform"), "same as xavier")
INITIALIZERS.add("xavier_normal", _fixed(1.0, "fan_avg", "normal"), "Glorot normal, var 2/(in+out)")
INITIALIZERS.add("he", _fixed(2.0, "fan_in", "normal"), "He normal, var 2/fan_in")
INITIALIZERS.add("he_normal", _fixed(2.0, "fan_in", "normal"), "same as he")
INITIALIZERS.add("he_uniform", _fixed(2.0, "fan_in", "uniform"), "He uniform, var 2/fan_in")
INITIALIZERS.add("lecun", _fixed(1.0, "fan_in", "normal"), "LeCun normal, var 1/fan_in")
INITIALIZERS.add(
    "orthogonal", _orthogonal, "random orthogonal matrix × gain; orthogonal:GAIN", param=True
)
INITIALIZERS.add(
    "glorot2010", _glorot2010, "U[-1/sqrt(fan_in), 1/sqrt(fan_in)] (Glorot & Bengio 2010)"
)


def get_initializer(spec: str | Spec) -> InitFn:
    """The init function for `spec`, e.g. `get_initializer("normal:0.01")`."""
    parsed = spec if isinstance(spec, Spec) else INITIALIZERS.parse(spec, "init")
    return INITIALIZERS.get(parsed.name)(parsed.param)


def initialize(
    spec: str | Spec,
    shape: tuple[int, int],
    *,
    rng: np.random.Generator,
    dtype: str | np.dtype = "float64",
) -> np.ndarray:
    """A (fan_in, fan_out) weight matrix drawn by initialiser `spec` from `rng`."""
    return get_initializer(spec)(shape, rng, np.dtype(dtype))
