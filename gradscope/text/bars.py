"""Log-scale text bars for the terminal: '<' per quarter decade below 1, '>' above 1."""

from __future__ import annotations

import math

PER_DECADE = 4  # characters of bar per factor of 10


def direction_bar(log10_value: float, limit: int = 40) -> str:
    """'<' per quarter decade below 1 (vanishing), '>' above 1 (exploding), '|' at 1."""
    if not math.isfinite(log10_value):
        return "?"
    n = min(limit, round(abs(log10_value) * PER_DECADE))
    return ("<" if log10_value < 0 else ">") * n + ("…" if n == limit else "") or "|"


def value_bar(value: float, limit: int = 48) -> str:
    """`direction_bar` of log10(value), with words for zero and non-finite values."""
    if not (value > 0 and math.isfinite(value)):
        return "(0)" if value == 0 else "(not finite)"
    return direction_bar(math.log10(value), limit)
