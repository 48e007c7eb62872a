"""The `log()` calls of one open step, accumulated per layer into the mini-batch's arrays.

Per-example backprop logs one example at a time; the step's statistics must be those of the
mini-batch. For each (layer, source) logged more than once in a step:
- grad, bias_grad: averaged (accumulate="mean", for a mean loss) or summed ("sum");
- delta: the examples' rows stacked, divided by the number of calls for "mean" (dL/dz of a mean
  loss is each example's delta / B);
- activation, preactivation: rows stacked;
- update: summed (the total change of W during the step); a scalar update norm once per step;
- weight, bias: the last one (they do not change within a step).
A source logged once is used exactly as given. Arrays are copied when logged (the caller may
update W in place before the step is complete).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradscope.core.errors import ConfigError

SUMMED = ("grad", "bias_grad", "update")
STACKED = ("delta", "activation", "preactivation")
ACCUMULATE = {"mean": "repeated logs of a step average grad/bias_grad (mean loss)",
              "sum": "repeated logs of a step sum grad/bias_grad (summed loss)"}


@dataclass
class LayerLog:
    """What one layer logged in the open step."""

    sums: dict[str, np.ndarray] = field(default_factory=dict)
    rows: dict[str, list[np.ndarray]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    last: dict[str, np.ndarray] = field(default_factory=dict)  # weight, bias
    update_norm: float | None = None
    act: Any = None

    def add(self, arrays: dict[str, np.ndarray], update_norm: float | None, act: Any,
            where: str) -> None:
        for key, arr in arrays.items():
            self.calls[key] = self.calls.get(key, 0) + 1
            if key in SUMMED:
                if key in self.sums:
                    self.sums[key] = self.sums[key] + arr
                else:
                    self.sums[key] = np.array(arr, copy=True)
            elif key in STACKED:
                self.rows.setdefault(key, []).append(np.array(arr, copy=True))
            else:  # weight, bias
                self.last[key] = np.array(arr, copy=True)
        if update_norm is not None:
            if self.update_norm is not None:
                raise ConfigError(
                    f"log({where}, update=<a number>) was given twice for the same step: a "
                    "scalar update is the norm of the step's whole update. Log it once per "
                    "step, or log the update arrays (they are summed)."
                )
            self.update_norm = update_norm
        if act is not None:
            self.act = act

    def combined(self, mean: bool) -> dict[str, np.ndarray]:
        """The mini-batch arrays: sums averaged (mean) or not, rows stacked."""
        out: dict[str, np.ndarray] = {}
        for key, total in self.sums.items():
            n = self.calls[key]
            out[key] = total / n if mean and n > 1 and key != "update" else total
        for key, parts in self.rows.items():
            stacked = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
            if key == "delta" and mean and len(parts) > 1:
                stacked = stacked / len(parts)
            out[key] = stacked
        out.update(self.last)
        return out


class OpenStep:
    """The step being logged: per layer, what was logged, until the step is complete."""

    def __init__(self) -> None:
        self.step: int | None = None
        self.layers: dict[int, LayerLog] = {}

    def add(self, step: int, layer: int, arrays: dict[str, np.ndarray],
            update_norm: float | None, act: Any, where: str) -> None:
        """Record one log() call of `step` (the caller completes a different open step first)."""
        self.step = step
        self.layers.setdefault(layer, LayerLog()).add(arrays, update_norm, act, where)

    def take(self) -> tuple[int | None, dict[int, LayerLog]]:
        """The open step and its layers; the step is closed."""
        step, layers = self.step, self.layers
        self.step, self.layers = None, {}
        return step, layers
