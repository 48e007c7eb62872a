"""Bisection in log space, shared by the fixed-point and critical-line solvers."""

from __future__ import annotations

import math
from collections.abc import Callable


def log_bisect(upper_side: Callable[[float], bool], lo: float, hi: float, *,
               rel_tol: float, max_iter: int = 200) -> float:
    """The boundary in (lo, hi) (both > 0) where `upper_side(x)` turns True, halving the
    interval geometrically until it is `rel_tol` wide relative to hi."""
    for _ in range(max_iter):
        mid = math.sqrt(lo * hi)
        if upper_side(mid):
            hi = mid
        else:
            lo = mid
        if hi - lo <= rel_tol * hi:
            break
    return math.sqrt(lo * hi)
