"""Staging for the hook path's fused statistics: each recorded layer's arrays are copied into
preallocated stacked buffers, and every buffer is reduced with one stacked call per step.

A `Group` holds same-shaped arrays of one source (e.g. the (64, 64) weight gradients of 32
layers) as rows of one (capacity, *shape) buffer, allocated once and reused every recorded step;
each layer keeps its row. The hooks only copy (the copy also keeps the values of the moment, in
case a layer changes an array in place later); `Staging.flush` reduces each group with
`stacked.reduce_stacked`, which is bit-identical to the one-array reductions of
`quantities.SOURCES`, and scatters the fields into the step's buffer rows.

Only float32/float64 arrays with at least one entry are staged (`groupable`); anything else is
reduced on its own by the caller, as the per-layer path does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradscope.recording.quantities import SOURCES
from gradscope.recording.schema import SOURCE_SLICE
from gradscope.recording.stacked import own_reductions, reduce_stacked

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def groupable(array: Any) -> bool:
    """True for an array the stacked reductions handle exactly: float32/float64, not empty."""
    return isinstance(array, np.ndarray) and array.dtype in _DTYPES and array.size > 0


class Group:
    """Same-shaped arrays of one source, one buffer row per recorded layer (a "slot")."""

    def __init__(self, source: str, shape: tuple[int, ...], dtype: np.dtype,
                 act: Any = None, with_z: bool = False) -> None:
        self.source, self.shape, self.dtype, self.act = source, shape, dtype, act
        self.with_z = with_z  # activations: the pre-activation z too (for the masks)
        self.slots: list[int] = []
        self.ids = np.zeros(0, dtype=np.intp)
        self.mark: list[bool] = []  # rows to reduce at the next flush
        self.buf = np.empty((0, *shape), dtype)
        self.zbuf = np.empty((0, *shape), dtype) if with_z else None
        self.views: list[np.ndarray] = []
        self.zviews: list[np.ndarray] = []

    def add(self, slot: int) -> int:
        """A row for `slot` (the buffer doubles when full, keeping its rows); its position."""
        pos = len(self.slots)
        if pos == len(self.buf):
            self.buf = _grown(self.buf, pos)
            self.views = list(self.buf)
            if self.zbuf is not None:
                self.zbuf = _grown(self.zbuf, pos)
                self.zviews = list(self.zbuf)
        self.slots.append(slot)
        self.ids = np.array(self.slots, dtype=np.intp)
        self.mark.append(False)
        return pos

    def reduce(self) -> tuple[np.ndarray, np.ndarray, list[tuple[int, np.ndarray]]] | None:
        """(slot ids, fields (k, n_fields), own reductions) of the marked rows, which are then
        unmarked; None when no row is marked."""
        marked = [p for p, m in enumerate(self.mark) if m]
        if not marked:
            return None
        n = len(self.slots)
        rows: slice | list[int] = slice(0, n) if len(marked) == n else marked
        array = self.buf[rows]
        context: tuple = ()
        if self.source == "activation":
            context = (None if self.zbuf is None else self.zbuf[rows], self.act)
        if len(array) == 1:  # a group of one: the one-array reduction itself (less overhead)
            member = [c[0] if isinstance(c, np.ndarray) else c for c in context]
            values = np.array([SOURCES[self.source].reduce(array[0], *member)], np.float64)
        else:
            values = reduce_stacked(self.source, array, *context)
        self.mark = [False] * n
        return self.ids[rows], values, own_reductions(self.source, array)


def _grown(buf: np.ndarray, used: int) -> np.ndarray:
    new = np.empty((max(2 * used, 1), *buf.shape[1:]), buf.dtype)
    new[:used] = buf[:used]
    return new


class Staging:
    """Every group of one recorder, which rows are due, and the step they belong to."""

    def __init__(self) -> None:
        self.groups: dict[tuple, Group] = {}
        self.where: dict[tuple[int, str], tuple[Group, int]] = {}  # (slot, source) -> its row
        self.step: int | None = None  # the step of the marked rows (None: nothing marked)

    def row_of(self, slot: int, source: str, array: np.ndarray, act_key: Any = None,
               act: Any = None, with_z: bool = False) -> tuple[Group, int]:
        """The (group, position) of `slot`'s `source` for an array like `array` (a row is
        added the first time a slot shows a shape)."""
        here = self.where.get((slot, source))
        if here is not None:
            group = here[0]
            if group.shape == array.shape and group.dtype == array.dtype:
                return here
        key = (source, array.shape, array.dtype, act_key)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(source, array.shape, array.dtype, act, with_z)
        here = self.where[(slot, source)] = (group, group.add(slot))
        return here

    def flush(self, rows: np.ndarray) -> None:
        """Reduce the marked rows of every group into `rows` (the step's (n_layers, N_FIELDS)
        buffer array; call under np.errstate(all="ignore")) and unmark them."""
        for group in self.groups.values():
            out = group.reduce()
            if out is None:
                continue
            ids, values, own = out
            rows[ids, SOURCE_SLICE[group.source]] = values
            for index, column in own:
                rows[ids, index] = column
        self.step = None
