"""`RunRows`: one run's layers rows as numpy columns, indexed by recorded step — what the
diagnosis reads, without a per-run DataFrame.

Built from the recorder's columns (`RunRows.from_columns`, the sweep's hot path) or from a
layers frame (`RunRows.from_frame`, e.g. one run's rows of layers.csv). Only the columns the
diagnosis reads are kept (`READ`), as float64; a column the frame does not have stays absent
(which is not the same as present and all NaN: see evidence.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

# the layers.csv columns the diagnosis reads (besides step and layer)
READ = ("delta_norm", "grad_norm", "bias_grad_norm", "update_ratio", "saturated_frac",
        "dead_frac", "nonfinite", "fan_in", "fan_out", "weight_norm", "bias_norm")
_EMPTY = np.zeros(0)


class RunRows:
    """One run's (step, layer) rows; `at(step, column)`: a column at one step, in layer order."""

    def __init__(self, step: Any, layer: Any, columns: Mapping[str, Any],
                 kind: Any = None) -> None:
        step, layer = np.asarray(step), np.asarray(layer)
        self.kind = None if kind is None else np.asarray(kind, dtype=object)  # layer kinds
        self.columns = {k: np.asarray(v, dtype=np.float64) for k, v in columns.items()}
        self.n = len(step)
        order = np.lexsort((layer, step))  # by step, then layer (stable)
        self.steps = np.unique(step)  # sorted
        bounds = np.searchsorted(step[order], self.steps, side="left").tolist() + [self.n]
        # per recorded step: the row positions in layer order, and in the frame's own order
        self._by_layer = {int(s): order[bounds[i]:bounds[i + 1]]
                          for i, s in enumerate(self.steps.tolist())}
        self._step = step

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any]) -> RunRows:
        """From a mapping of column name → 1-D array (e.g. the recorder's columns)."""
        return cls(columns["step"], columns["layer"], {k: columns[k] for k in READ
                                                       if k in columns}, columns.get("kind"))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> RunRows:
        """From a layers frame (any subset of the recorder's columns besides step and layer)."""
        if len(frame) == 0:
            return cls(_EMPTY, _EMPTY, {k: _EMPTY for k in READ if k in frame.columns})
        return cls(frame["step"].to_numpy(), frame["layer"].to_numpy(),
                   {k: _numeric(frame[k]) for k in READ if k in frame.columns},
                   frame["kind"].to_numpy() if "kind" in frame.columns else None)

    def __len__(self) -> int:
        return self.n

    def __contains__(self, column: str) -> bool:
        return column in self.columns

    def recorded(self) -> list[int]:
        """The recorded steps in increasing order."""
        return [int(s) for s in self.steps.tolist()]

    def count(self, step: int) -> int:
        """Number of rows at `step`."""
        rows = self._by_layer.get(step)
        return 0 if rows is None else len(rows)

    def at(self, step: int, column: str) -> np.ndarray:
        """`column` at `step` in layer order (empty when the step or the column is absent)."""
        rows = self._by_layer.get(step)
        values = self.columns.get(column)
        if rows is None or values is None:
            return _EMPTY
        return values[rows]

    def kinds(self, step: int) -> np.ndarray | None:
        """The layer kinds at `step` in layer order (None when not recorded)."""
        rows = self._by_layer.get(step)
        return None if self.kind is None or rows is None else self.kind[rows]

    def in_frame_order(self, step: int, column: str) -> np.ndarray:
        """`column` at `step` in the rows' own order (as a boolean filter of the frame gives)."""
        rows = self._by_layer.get(step)
        values = self.columns.get(column)
        if rows is None or values is None:
            return _EMPTY
        return values[np.sort(rows)]

    def first_step_with(self, column: str) -> int | None:
        """The smallest step with a positive value of `column` (None when there is none)."""
        values = self.columns.get(column)
        if values is None:
            return None
        hit = self._step[values > 0]
        return int(hit.min()) if hit.size else None

    def dims(self, step: int) -> tuple[int, int] | None:
        """(in_dim, out_dim) of the net: fan_in of the first layer and fan_out of the last at
        `step` (None when the fans are not recorded)."""
        fan_in, fan_out = self.at(step, "fan_in"), self.at(step, "fan_out")
        if not (len(fan_in) and "fan_in" in self and "fan_out" in self):
            return None
        fi, fo = fan_in[0], fan_out[-1]
        if not (np.isfinite(fi) and np.isfinite(fo)):
            return None
        return int(fi), int(fo)


def _numeric(series: pd.Series) -> np.ndarray:
    """A column as float64 (text that is not a number: NaN)."""
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def as_rows(layers: pd.DataFrame | RunRows) -> RunRows:
    """`layers` as RunRows (a frame is converted once)."""
    return layers if isinstance(layers, RunRows) else RunRows.from_frame(layers)


def first_loss(steps: pd.DataFrame | Mapping[str, Any] | None) -> float:
    """The loss of the first training step (by step number) of a steps table; nan if unknown."""
    if steps is None or "loss" not in steps:
        return np.nan
    if isinstance(steps, pd.DataFrame):
        if steps.empty:
            return np.nan
        loss, step = _numeric(steps["loss"]), steps["step"].to_numpy()
    else:
        loss = np.asarray(steps["loss"], dtype=np.float64)
        step = np.asarray(steps.get("step", np.arange(len(loss))))
    if not len(loss):
        return np.nan
    return float(loss[np.argsort(step, kind="stable")[0]])
