"""GroupStats: mean, min and max per group, fed rows chunk by chunk, as pandas' groupby gives them.

A plot's line is `frame.groupby(x)[y].agg(["mean", "min", "max"])` over one configuration's rows.
pandas sums a group with `np.add.reduceat` when the frame's rows are already sorted by x and the
column holds no NaN, and with a Kahan sum in row order otherwise; to give the same bits, each
group keeps its values (in row order) up to `cap` of them and the mean is taken at the end, by
the same rule over the group's `scope` (its configuration: the first item of its key, the
second being x).
Past `cap` values a group keeps only a Kahan sum, so memory stays bounded; its mean can then
differ from pandas' in the last bit."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

CAP = 64  # values kept per group for a bit-exact mean (seeds per configuration are few)


class _Group:
    __slots__ = ("comp", "max", "min", "nan", "nobs", "parts", "sum")

    def __init__(self, k: int) -> None:
        self.parts: list[np.ndarray] | None = []
        self.sum, self.comp = np.zeros(k), np.zeros(k)
        self.nobs = np.zeros(k, dtype=np.int64)
        self.min, self.max = np.full(k, np.nan), np.full(k, np.nan)
        self.nan = np.zeros(k, dtype=bool)


def _kahan(values: np.ndarray, s: float = 0.0, c: float = 0.0) -> tuple[float, float]:
    """pandas' compensated group sum over the non-NaN `values`, from the state (s, c)."""
    for v in values.tolist():  # Python floats: inf - inf is nan without a warning
        if v != v:
            continue
        y = v - c
        t = s + y
        c = (t - s) - y
        if c != c:  # an infinite value: pandas resets the compensation
            c = 0.0
        s = t
    return s, c


class GroupStats:
    """Running mean / min / max of some value columns per group key (a tuple whose first item
    is the group's scope: the configuration whose NaNs decide how pandas would sum it)."""

    def __init__(self, columns: Sequence[str], cap: int = CAP) -> None:
        self.columns = list(columns)
        self.cap = cap
        self._groups: dict[Hashable, _Group] = {}
        self._last_x: dict[Hashable, object] = {}  # per scope: the x of its latest row
        self._unsorted: set[Hashable] = set()  # scopes whose rows came in an unsorted x order

    def add(self, keys: pd.DataFrame, values: np.ndarray) -> None:
        """Feed rows: a frame of key columns and an (n, len(columns)) float array, in row order."""
        if len(keys) == 0:
            return
        vals = np.asarray(values, dtype=float).reshape(len(keys), len(self.columns))
        self._track_order(keys)
        codes, uniq = pd.factorize(pd.MultiIndex.from_frame(keys), use_na_sentinel=False)
        order = np.argsort(codes, kind="stable")
        bounds = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0, True])
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            rows = order[a:b]
            key = uniq[codes[rows[0]]]
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group(len(self.columns))
            self._feed(group, vals[rows])

    def _track_order(self, keys: pd.DataFrame) -> None:
        """Note the scopes whose x values are not non-decreasing in row order."""
        scope, x = keys.iloc[:, 0], keys.iloc[:, 1]
        prev = x.groupby(scope, sort=False, dropna=False).shift(1)
        first = ~scope.duplicated()
        falling = (x < prev) & ~first
        self._unsorted.update(scope[falling].tolist())
        for s, xs in zip(scope[first].tolist(), x[first].tolist(), strict=True):
            last = self._last_x.get(s)
            if last is not None and xs < last:
                self._unsorted.add(s)
        self._last_x.update(zip(scope.tolist(), x.tolist(), strict=True))

    def _feed(self, group: _Group, v: np.ndarray) -> None:
        nan = np.isnan(v)
        group.nan |= nan.any(axis=0)
        group.nobs += (~nan).sum(axis=0)
        group.min = np.fmin(group.min, np.where(nan, np.inf, v).min(axis=0))
        group.max = np.fmax(group.max, np.where(nan, -np.inf, v).max(axis=0))
        all_nan = group.nobs == 0
        group.min[all_nan], group.max[all_nan] = np.nan, np.nan
        if group.parts is not None:
            group.parts.append(v)
            if sum(len(p) for p in group.parts) <= self.cap:
                return
            v, group.parts = np.concatenate(group.parts), None
        for j in range(len(self.columns)):
            group.sum[j], group.comp[j] = _kahan(v[:, j], group.sum[j], group.comp[j])

    def frame(self, key_names: Sequence[str]) -> pd.DataFrame:
        """One row per group (in order of first appearance): the key columns, then `col:mean`,
        `col:min`, `col:max` and `col:n` (the count of non-NaN values)."""
        keys = list(self._groups)
        scope_nan: dict[Hashable, np.ndarray] = {}
        for key, g in self._groups.items():
            scope_nan[key[0]] = scope_nan.get(key[0], np.zeros(len(self.columns), bool)) | g.nan
        out = pd.DataFrame(keys, columns=list(key_names)) if keys else pd.DataFrame(
            columns=list(key_names))
        stats = np.full((len(keys), len(self.columns), 4), np.nan)
        for i, key in enumerate(keys):
            g = self._groups[key]
            for j in range(len(self.columns)):
                stats[i, j, 1:] = g.min[j], g.max[j], g.nobs[j]
                if not g.nobs[j]:
                    continue
                if g.parts is None:
                    total = g.sum[j]
                else:
                    v = np.ascontiguousarray(np.concatenate(g.parts)[:, j])
                    kahan = scope_nan[key[0]][j] or key[0] in self._unsorted
                    with np.errstate(invalid="ignore"):
                        total = _kahan(v)[0] if kahan else float(np.add.reduceat(v, [0])[0])
                stats[i, j, 0] = total / g.nobs[j]
        for j, col in enumerate(self.columns):
            out[f"{col}:mean"], out[f"{col}:min"] = stats[:, j, 0], stats[:, j, 1]
            out[f"{col}:max"], out[f"{col}:n"] = stats[:, j, 2], stats[:, j, 3]
        return out
