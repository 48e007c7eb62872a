"""The hooks' fast reductions: the common path of `stats` for one array, with no np.errstate
and no per-call bookkeeping, and None where that path does not hold (the caller then runs the
`quantities.SOURCES` reduction itself, which gives the same numbers on the common path).

Each function is the fast path of the function it names, operation for operation (so the
result is bit-identical): BLAS dots (which never set floating-point flags), max/min and Python
float arithmetic, none of which warns. A sum of squares that over/underflows, an empty array or
another dtype returns None.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from gradscope.nn.layers.activation import Activation
from gradscope.recording import stats
from gradscope.recording.quantities import SOURCES, _activation

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_LOW = {dt: float(np.finfo(dt).tiny) / float(np.finfo(dt).eps) for dt in _DTYPES}
_INF = math.inf
_MAX, _MIN = np.maximum.reduce, np.minimum.reduce  # what x.max()/x.min() run, minus a wrapper

Fields = tuple[float, ...] | None


def _sumsq(x: Any) -> tuple[np.ndarray, float] | None:
    """(flat x, Σx²) when x is a non-empty float32/64 array whose Σx² is safe to use."""
    if type(x) is not np.ndarray or x.dtype not in _LOW or not x.size:
        return None
    flat = x.reshape(-1)
    s = float(np.dot(flat, flat))
    return (flat, s) if _LOW[x.dtype] <= s < _INF else None


def grad_fields(x: Any) -> Fields:
    """`stats.grad_fields` (‖g‖, ‖g‖/√size, max |g|, nonfinite) on its common path."""
    got = _sumsq(x)
    if got is None:
        return None
    flat, s = got
    norm, hi, lo = math.sqrt(s), float(_MAX(flat)), float(_MIN(flat))
    return norm, norm / math.sqrt(x.size), max(hi, -lo), 0


def norm_fields(x: Any) -> Fields:
    """`stats.norm_fields` (‖x‖, nonfinite) on its common path."""
    got = _sumsq(x)
    return None if got is None else (math.sqrt(got[1]), 0)


def norm_field(x: Any) -> Fields:
    """`stats.norm_field` (‖x‖,) on its common path."""
    got = _sumsq(x)
    return None if got is None else (math.sqrt(got[1]),)


def _relu_dead(z: Any) -> float | None:
    """`stats.dead_fraction(z <= 0)` of a 2-D z: a unit is inactive for the whole batch exactly
    when its largest z is ≤ 0 (a NaN is ≤ 0 neither way)."""
    if type(z) is not np.ndarray or z.ndim != 2 or not z.size:
        return None
    return float(np.count_nonzero(_MAX(z, 0) <= 0)) / max(z.shape[1], 1)


def activation_fields(a: Any, z: Any, act: Any) -> Fields:
    """`quantities._activation(a, z, act)` (mean, std, saturated, dead) on its common path, for
    no activation or a library `Activation` whose mask methods are its own."""
    if type(a) is not np.ndarray or a.dtype not in _LOW or not a.size:
        return None
    flat = a.reshape(-1)
    n = flat.size
    mean = float(np.dot(flat, stats._ones(n, flat.dtype))) / n
    sumsq = float(np.dot(flat, flat))
    var = sumsq / n - mean * mean
    if not (var > 1e-6 * sumsq / n and _LOW[a.dtype] <= sumsq < _INF):
        return None
    std = math.sqrt(var)
    if act is None:
        return mean, std, stats.NAN, stats.NAN
    family = act.act.family
    if family == "relu":
        dead = _relu_dead(z)
        return None if dead is None else (mean, std, stats.NAN, dead)
    if family == "saturating":
        with np.errstate(all="ignore"):  # φ'(z) of an extreme z may overflow: a result
            return mean, std, stats.mask_fraction(act.saturated(z, a)), stats.NAN
    return mean, std, stats.NAN, stats.NAN


def library_activation(act: Any) -> bool:
    """True for no activation or an `Activation` whose mask methods are the library's."""
    if act is None:
        return True
    cls = type(act)
    return (isinstance(act, Activation) and cls.saturated is Activation.saturated
            and cls.inactive is Activation.inactive
            and not {"saturated", "inactive"} & vars(act).keys())


_FAST: dict[str, tuple[Callable[..., Any], Callable[..., Fields]]] = {
    "grad": (stats.grad_fields, grad_fields),
    "bias_grad": (stats.norm_fields, norm_fields),
    "delta": (stats.norm_field, norm_field),
    "weight": (stats.norm_field, norm_field),
    "bias": (stats.norm_field, norm_field),
    "activation": (_activation, activation_fields),
}


def fast_reduction(source: str) -> Callable[..., Fields] | None:
    """The fast path of `SOURCES[source].reduce`, or None if that reduction is not the one
    this module mirrors (e.g. replaced by a plug-in)."""
    mirrored, fast = _FAST.get(source, (None, None))
    return fast if SOURCES[source].reduce is mirrored else None
