"""One validator for scalar arguments (after scikit-learn's `check_scalar`), and one truthy parser.

Every public function that takes a number checks it here, so the message is the same
everywhere: the name, the value, its type, and the range it must lie in.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from gradscope.core.errors import ConfigError

_KIND = {int: ("a whole number", numbers.Integral), float: ("a number", numbers.Real)}


def check_scalar(
    value: Any,
    name: str,
    target_type: type = int,
    *,
    min_val: float | None = None,
    max_val: float | None = None,
    include_boundaries: str = "both",
    hint: str = "",
) -> Any:
    """`value` as `target_type` (int or float) if it is one and lies in [min_val, max_val];
    ConfigError naming `name`, the value and the valid range otherwise.

    `include_boundaries` is "both", "left", "right" or "neither". Booleans are never numbers
    here; an int is accepted for a float, and a float with no fractional part for an int.
    """
    what, _ = _KIND[target_type]
    valid = f"{name} must be {what}{_range_text(min_val, max_val, include_boundaries)}"
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok and target_type is int and not isinstance(value, numbers.Integral):
        ok = math.isfinite(value) and float(value).is_integer()
    if ok and target_type is float:
        ok = math.isfinite(value)
    if not ok:
        raise ConfigError(f"{valid}, got {value!r} ({type(value).__name__}).{_hint(hint)}")
    value = target_type(value)
    low_ok = min_val is None or (value >= min_val if include_boundaries in ("both", "left")
                                 else value > min_val)
    high_ok = max_val is None or (value <= max_val if include_boundaries in ("both", "right")
                                  else value < max_val)
    if not (low_ok and high_ok):
        raise ConfigError(f"{valid}, got {value!r}.{_hint(hint)}")
    return value


def _range_text(low: float | None, high: float | None, inclusive: str) -> str:
    lo_sign = "≥" if inclusive in ("both", "left") else ">"
    hi_sign = "≤" if inclusive in ("both", "right") else "<"
    parts = ([f"{lo_sign} {low:g}"] if low is not None else []) + (
        [f"{hi_sign} {high:g}"] if high is not None else [])
    return " " + " and ".join(parts) if parts else ""


def _hint(hint: str) -> str:
    return f" {hint}" if hint else ""


def as_bool(value: object) -> bool:
    """A flag read from a CSV cell, a TOML value or Python: "true"/"1"/"yes" (any case), True,
    and non-zero numbers are True; NaN, None, "false", "0", "" are False."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "1.0", "yes")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return bool(value)
