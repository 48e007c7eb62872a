"""Per-array statistics for the recorder: norms, max |x|, non-finite counts, mean/std, fractions.

The common path of every function is a few BLAS/numpy reductions with no temporaries
(`np.dot(x, x)` for a squared norm, `np.dot(x, ones)` for a sum, `x.max()`/`x.min()` for max |x|),
and the result is exact where the naive form is not: a sum of squares that overflows (exploding
gradients, |x| > 1e154) or underflows (vanishing gradients, |x| < 1e-154) is recomputed on
x / max|x|, so that a gradient of 1e-200 is measured as 1e-200 and not flushed to 0. Non-finite
inputs give inf/nan results and never a numpy warning (everything runs under
`np.errstate(all="ignore")`).
"""

from __future__ import annotations

import math

import numpy as np

NAN = float("nan")

_SAFE_LOW: dict[np.dtype, float] = {}
_ONES: dict[tuple[int, np.dtype], np.ndarray] = {}


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1)  # a view for contiguous arrays


def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    """A cached vector of ones: np.dot(x, ones) is a fast, temporary-free sum."""
    key = (n, dtype)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 32:
            _ONES.clear()
        ones = _ONES[key] = np.ones(n, dtype=dtype)
    return ones


def _sumsq_is_safe(s: float, dtype: np.dtype) -> bool:
    """True if a sum of squares `s` neither overflowed nor lost precision to underflow."""
    low = _SAFE_LOW.get(dtype)
    if low is None:
        info = np.finfo(dtype if np.issubdtype(dtype, np.floating) else np.float64)
        low = _SAFE_LOW[dtype] = float(info.tiny) / float(info.eps)
    return low <= s < math.inf


def _max_abs(flat: np.ndarray) -> float:
    """max |x| in two passes without a temporary (nan if any entry is nan)."""
    hi, lo = float(flat.max()), float(flat.min())
    if math.isnan(hi) or math.isnan(lo):
        return NAN
    return max(hi, -lo)


def _rescaled_norm(flat: np.ndarray, max_abs: float) -> float:
    """‖x‖ for finite x whose sum of squares over/underflows: max|x| · ‖x / max|x|‖."""
    if max_abs == 0.0 or not math.isfinite(max_abs):
        return max_abs
    scaled = flat / max_abs
    return max_abs * math.sqrt(float(np.dot(scaled, scaled)))


def _count_nonfinite(flat: np.ndarray) -> int:
    return int(flat.size - np.count_nonzero(np.isfinite(flat)))


def _slow_norm(flat: np.ndarray, s: float) -> tuple[float, int]:
    """(‖x‖, number of nan/inf) when the sum of squares `s` is not safe to use."""
    if math.isnan(s) or s == math.inf:
        nonfinite = _count_nonfinite(flat)
        if nonfinite:  # inf entries alone give s = inf; any nan gives nan
            return (NAN if math.isnan(s) else math.inf), nonfinite
    return _rescaled_norm(flat, _max_abs(flat)), 0


def _norm_nonfinite(x: np.ndarray) -> tuple[float, int]:
    if x.size == 0:
        return 0.0, 0
    flat = _flat(x)
    s = float(np.dot(flat, flat))
    if _sumsq_is_safe(s, x.dtype):
        return math.sqrt(s), 0
    return _slow_norm(flat, s)


def _norm_max_nonfinite(x: np.ndarray) -> tuple[float, float, int]:
    if x.size == 0:
        return 0.0, 0.0, 0
    flat = _flat(x)
    s = float(np.dot(flat, flat))
    max_abs = _max_abs(flat)
    if _sumsq_is_safe(s, x.dtype):  # the common case: 3 fast reductions, no temporaries
        return math.sqrt(s), max_abs, 0
    if max_abs == 0.0:
        return 0.0, 0.0, 0
    norm, nonfinite = _slow_norm(flat, s)
    return norm, max_abs, nonfinite


def l2_norm(x: np.ndarray | None) -> float:
    """Euclidean (Frobenius) norm of `x`; nan for None; inf/nan if `x` holds inf/nan."""
    return norm_nonfinite(x)[0] if x is not None else NAN


def norm_nonfinite(x: np.ndarray) -> tuple[float, int]:
    """(‖x‖, number of nan/inf entries) of an array, from one pass in the common case."""
    with np.errstate(all="ignore"):
        return _norm_nonfinite(x)


def grad_stats(grad: np.ndarray) -> tuple[float, float, float, int]:
    """(‖g‖, ‖g‖/√size, max |g|, number of nan/inf) of a weight gradient, one fused pass."""
    with np.errstate(all="ignore"):
        return grad_fields(grad)


def norm_only(x: np.ndarray) -> tuple[float]:
    """(‖x‖,) as a 1-tuple (the reduction of a source with a single field)."""
    with np.errstate(all="ignore"):
        return (_norm_nonfinite(x)[0],)


# -- the same without an errstate of their own: for a caller that runs many of them under one
# `np.errstate(all="ignore")` (the recorder's hooks, the optimiser), where entering and leaving
# numpy's error state per array would cost as much as the reductions at small width


def grad_fields(grad: np.ndarray) -> tuple[float, float, float, int]:
    """`grad_stats` without its own errstate (call it under np.errstate(all="ignore"))."""
    g_norm, g_max, nonfinite = _norm_max_nonfinite(grad)
    return g_norm, g_norm / math.sqrt(grad.size) if grad.size else 0.0, g_max, nonfinite


def norm_fields(x: np.ndarray) -> tuple[float, int]:
    """`norm_nonfinite` without its own errstate (call it under np.errstate(all="ignore"))."""
    return _norm_nonfinite(x)


def norm_field(x: np.ndarray) -> tuple[float]:
    """`norm_only` without its own errstate (call it under np.errstate(all="ignore"))."""
    return (_norm_nonfinite(x)[0],)


def mean_std(a: np.ndarray | None) -> tuple[float, float]:
    """Mean and (population) standard deviation of all entries of `a`; nan for None.

    One BLAS pass each for Σa and Σa²; falls back to the two-pass formula when the variance is
    small relative to the mean (cancellation), e.g. saturated sigmoid outputs all close to 1.
    """
    with np.errstate(all="ignore"):
        return mean_std_fields(a)


def mean_std_fields(a: np.ndarray | None) -> tuple[float, float]:
    """`mean_std` without its own errstate (call it under np.errstate(all="ignore"))."""
    if a is None or a.size == 0:
        return NAN, NAN
    flat = _flat(a)
    n = flat.size
    mean = float(np.dot(flat, _ones(n, flat.dtype))) / n
    sumsq = float(np.dot(flat, flat))
    var = sumsq / n - mean * mean
    if var > 1e-6 * sumsq / n and _sumsq_is_safe(sumsq, a.dtype):
        return mean, math.sqrt(var)
    if not math.isfinite(mean):
        return mean, NAN
    return mean, _norm_nonfinite(flat - mean)[0] / math.sqrt(n)  # two-pass, exact


def mask_fraction(mask: np.ndarray | None) -> float:
    """Share of True entries of a boolean mask (nan for None, the "not applicable" answer)."""
    if mask is None:
        return NAN
    mask = np.asarray(mask)
    return float(np.count_nonzero(mask)) / mask.size if mask.size else NAN


def dead_fraction(mask: np.ndarray | None) -> float:
    """Share of units (axes 1..) whose mask is True for every example (axis 0); nan for None."""
    if mask is None:
        return NAN
    mask = np.asarray(mask)
    if mask.size == 0:
        return NAN
    dead = mask.all(axis=0)
    return float(np.count_nonzero(dead)) / max(dead.size, 1)
