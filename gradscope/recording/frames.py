"""The recorder's results as tidy frames: layers.csv rows and hist.csv rows, from its buffer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from gradscope.recording.buffer import StatBuffer
from gradscope.recording.histograms import tidy_counts
from gradscope.recording.quantities import QUANTITIES
from gradscope.recording.schema import COLUMNS, FIELD_INDEX, HIST_COLUMNS, empty_dtype
from gradscope.recording.slots import Slot


def empty_frame(columns: tuple[str, ...]) -> pd.DataFrame:
    """A frame with no rows and the right dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=empty_dtype(c)) for c in columns})


def layer_frame(buf: StatBuffer, slots: list[Slot], order: list[int],
                only: int | None = None) -> pd.DataFrame:
    """One row per written (step, layer) (of step `only` when given), layers numbered by
    `order` (slot indices input → output); each quantity's column made from its fields,
    vectorised over all rows."""
    cols = layer_columns(buf, slots, order, only)
    if cols is None:
        return empty_frame(COLUMNS)
    return pd.DataFrame(cols, columns=list(COLUMNS))


def layer_arrays(buf: StatBuffer, slots: list[Slot], order: list[int]) -> dict[str, Any]:
    """`layer_columns`, with empty arrays of the right dtypes when nothing was recorded."""
    cols = layer_columns(buf, slots, order)
    return cols if cols is not None else {c: np.zeros(0, dtype=empty_dtype(c)) for c in COLUMNS}


def layer_columns(buf: StatBuffer, slots: list[Slot], order: list[int],
                  only: int | None = None) -> dict[str, Any] | None:
    """The columns of `layer_frame` as numpy arrays (None when nothing was recorded)."""
    steps, slot_idx, fields = buf.table(only)
    if steps.size == 0:
        return None
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    layer = position[slot_idx]
    sort = np.lexsort((layer, steps))
    steps, slot_idx, layer, fields = steps[sort], slot_idx[sort], layer[sort], fields[sort]
    fans = np.array([slot.fans for slot in slots]).reshape(len(slots), 2)
    cols: dict[str, Any] = {
        "step": steps,
        "layer": layer,
        "name": np.array([s.name for s in slots], dtype=object)[slot_idx],
        "kind": np.array([s.kind for s in slots], dtype=object)[slot_idx],
        "fan_in": int_if_complete(fans[slot_idx, 0]),
        "fan_out": int_if_complete(fans[slot_idx, 1]),
    }
    for q in QUANTITIES:
        values = [fields[:, FIELD_INDEX[f]] for f in q.fields]
        column = q.combine(*values) if q.combine is not None else values[0]
        cols[q.name] = int_if_complete(column) if q.integer else column
    return cols


def hist_frame(buf: StatBuffer, order: list[int], only: int | None = None) -> pd.DataFrame:
    """Tidy histogram rows (of step `only` when given), layers numbered by `order`, zero bins
    left out."""
    steps, counts = buf.counts(only)
    if steps.size == 0:
        return empty_frame(HIST_COLUMNS)
    return pd.DataFrame(tidy_counts(steps, counts[:, order]), columns=list(HIST_COLUMNS))


def int_if_complete(values: np.ndarray) -> np.ndarray:
    """int64 when no value is missing, else float64 with NaN."""
    return values.astype(np.int64) if not np.isnan(values).any() else values
