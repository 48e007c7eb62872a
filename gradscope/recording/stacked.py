"""The recorder's statistics for an ensemble: every member's fields of a source in one pass.

An ensemble stacks E same-shaped arrays along axis 0 (e.g. weight gradients (E, fan_in,
fan_out)). `reduce_stacked(source, array, ...)` returns the (E, n_fields) fields of
`quantities.SOURCES[source]` for every member, **bit-identical** to reducing each member alone:

- sums of squares and plain sums are `np.matmul` of (E, 1, n) by (E, n, 1), which numpy runs as
  the same BLAS dot per slice as `np.dot(flat, flat)` on one member (its `DOUBLE_dot`);
- max/min, counts and element-wise arithmetic do not depend on the order of evaluation;
- a member outside the fast path (a sum of squares that over/underflows, a non-finite entry, a
  variance lost to cancellation) is reduced by the one-run function itself.

`StackedRows` holds the fields of every member, recorded step and layer in one array per step,
and hands each member its own `StatBuffer` at the end (what `GradientRecorder` would hold).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from gradscope.nn.layers.activation import Activation
from gradscope.recording import stats
from gradscope.recording.buffer import StatBuffer
from gradscope.recording.histograms import N_BINS
from gradscope.recording.histograms import QUANTITIES as HIST_QUANTITIES
from gradscope.recording.quantities import SOURCES
from gradscope.recording.schema import N_FIELDS, OWN_REDUCTIONS, PRESENT, SOURCE_SLICE

NAN = float("nan")


def _rows(x: np.ndarray) -> np.ndarray:
    """(E, ...) as (E, n): one row per member (a view for contiguous arrays)."""
    return x.reshape(x.shape[0], -1)


def dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-row dot products of (E, n) arrays as float64 (E,), each the BLAS dot of np.dot."""
    return np.matmul(a[:, None, :], b[:, :, None])[:, 0, 0].astype(np.float64, copy=False)


def sum_rows(flat: np.ndarray) -> np.ndarray:
    """Per-row sums, as `np.dot(row, ones)` computes them (float64 (E,))."""
    ones = np.ones(flat.shape[1], dtype=flat.dtype)
    return np.matmul(flat[:, None, :], ones[None, :, None])[:, 0, 0].astype(np.float64,
                                                                           copy=False)


@functools.cache
def _safe_low(dtype: np.dtype) -> float:
    info = np.finfo(dtype if np.issubdtype(dtype, np.floating) else np.float64)
    return float(info.tiny) / float(info.eps)


def _safe(s: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Where a sum of squares neither overflowed nor lost precision to underflow."""
    return (s >= _safe_low(dtype)) & (s < math.inf)


def _max_abs(flat: np.ndarray) -> np.ndarray:
    """max |x| per row (nan where a row holds a nan), from max and min."""
    hi = flat.max(axis=1).astype(np.float64)
    lo = flat.min(axis=1).astype(np.float64)
    out = np.where(hi >= -lo, hi, -lo)
    out[np.isnan(hi) | np.isnan(lo)] = NAN
    return out


def _norm_fields(x: np.ndarray, n_fields: int) -> tuple[np.ndarray, np.ndarray]:
    """(‖x‖, nonfinite=0)[:n_fields] per member, and where that fast path holds."""
    flat = _rows(x)
    s = dots(flat, flat)
    out = np.zeros((len(s), n_fields))
    with np.errstate(all="ignore"):
        out[:, 0] = np.sqrt(s)
    return out, _safe(s, x.dtype)


def _grad_fields(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(‖g‖, ‖g‖/√size, max |g|, nonfinite=0) per member, and where that fast path holds."""
    flat = _rows(x)
    s = dots(flat, flat)
    out = np.zeros((len(s), 4))
    with np.errstate(all="ignore"):
        out[:, 0] = np.sqrt(s)
        out[:, 1] = out[:, 0] / math.sqrt(flat.shape[1])
    out[:, 2] = _max_abs(flat)
    return out, _safe(s, x.dtype)


def _fraction(mask: np.ndarray | None, n: int) -> np.ndarray | float:
    """Per-member share of True entries of (E, ...) `mask` over `n` entries (NaN for None)."""
    if mask is None:
        return NAN
    return np.count_nonzero(_rows(mask), axis=1) / n


def _activation_fields(a: np.ndarray, z: np.ndarray | None = None,
                       act: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std, saturated, dead) per member (see `quantities._activation`), and where the
    one-pass mean/std is the one the single run takes."""
    flat = _rows(a)
    n = flat.shape[1]
    out = np.empty((len(flat), 4))
    with np.errstate(all="ignore"):
        mean = sum_rows(flat) / n
        sumsq = dots(flat, flat)
        var = sumsq / n - mean * mean
        fast = (var > 1e-6 * sumsq / n) & _safe(sumsq, a.dtype)
        out[:, 0], out[:, 1] = mean, np.sqrt(var)
    out[:, 2] = out[:, 3] = NAN
    if act is not None:
        saturated = getattr(act, "saturated", None)
        inactive = getattr(act, "inactive", None)
        if callable(saturated):
            out[:, 2] = _fraction(saturated(z, a), n)
        if _inactive_is_nonpositive(act) and isinstance(z, np.ndarray) and z.ndim == 3:
            # z ≤ 0 for the whole batch ⟺ max over the batch ≤ 0 (a NaN is not ≤ 0 either
            # way): the same count as the mask's, from one reduction and no mask
            out[:, 3] = np.count_nonzero(z.max(axis=1) <= 0, axis=1) / a.shape[2]
        elif callable(inactive):
            mask = inactive(z)
            out[:, 3] = NAN if mask is None else _fraction(mask.all(axis=1), a.shape[2])
    return out, fast


def _inactive_is_nonpositive(act: Any) -> bool:
    """True when `act.inactive(z)` is the library's z ≤ 0 (a ReLU-family `Activation`)."""
    return (isinstance(act, Activation) and type(act).inactive is Activation.inactive
            and "inactive" not in vars(act) and act.act.family == "relu")


_FAST = {
    "grad": _grad_fields,
    "bias_grad": lambda x: _norm_fields(x, 2),
    "delta": lambda x: _norm_fields(x, 1),
    "weight": lambda x: _norm_fields(x, 1),
    "bias": lambda x: _norm_fields(x, 1),
    "update": lambda x: _norm_fields(x, 1),
    "activation": _activation_fields,
}


def reduce_stacked(source: str, array: np.ndarray, *context: Any) -> np.ndarray:
    """The fields of `source` for every member of stacked `array` (E, ...), shape
    (E, n_fields), each row equal to `SOURCES[source].reduce(array[e], *context[e])`.

    Context arrays (the activation's pre-activation) are stacked like `array`; an activation
    layer object is shared by all members."""
    with np.errstate(all="ignore"):  # as in the one-run hooks: overflow is a result
        if source in _FAST:
            values, fast = _FAST[source](array, *context)
        else:  # a source without a stacked form: member by member, exactly
            values = np.full((len(array), len(SOURCES[source].fields)), NAN)
            fast = np.zeros(len(array), dtype=bool)
        for e in np.flatnonzero(~fast):  # rare: the one-run function, exactly
            member = [c[e] if isinstance(c, np.ndarray) else c for c in context]
            values[e] = SOURCES[source].reduce(array[e], *member)
    return values


def l2_norms(array: np.ndarray) -> np.ndarray:
    """‖array[e]‖ for every member (float64 (E,)), each equal to `stats.l2_norm(array[e])`."""
    with np.errstate(all="ignore"):
        values, fast = _norm_fields(array, 1)
    norms = values[:, 0]
    for e in np.flatnonzero(~fast):
        norms[e] = stats.l2_norm(array[e])
    return norms


def own_reductions(source: str, array: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(field index, per-member values) of the quantities with their own reduction of
    `source` (member by member: such a reduction is an arbitrary function)."""
    return [(index, np.array([reduce(member) for member in array], dtype=np.float64))
            for index, reduce in OWN_REDUCTIONS[source]]


class StackedRows:
    """Recorded fields of all members: per step, one (n_members, n_layers, N_FIELDS) array."""

    def __init__(self, n_members: int, n_layers: int, hist: bool = False) -> None:
        self.n_members, self.n_layers = n_members, n_layers
        self._rows: dict[int, np.ndarray] = {}
        self._hists: dict[int, np.ndarray] | None = {} if hist else None

    def step(self, t: int) -> np.ndarray:
        """The array of step t, created (NaN, not present) on first use."""
        rows = self._rows.get(t)
        if rows is None:
            rows = self._rows[t] = np.full((self.n_members, self.n_layers, N_FIELDS), NAN)
            rows[:, :, PRESENT] = 0.0
        return rows

    def write(self, t: int, members: np.ndarray, layer: int, source: str,
              values: np.ndarray) -> None:
        """Store `values` (len(members), n_fields) of `source` for `members` at one layer."""
        self.step(t)[members, layer, SOURCE_SLICE[source]] = values

    def write_field(self, t: int, members: np.ndarray, layer: int, index: int,
                    values: np.ndarray) -> None:
        """Store one field (by index) of `members` at one layer."""
        self.step(t)[members, layer, index] = values

    def mark(self, t: int, members: np.ndarray, layer: int) -> None:
        """The rows of `members` at (t, layer) exist."""
        self.step(t)[members, layer, PRESENT] = 1.0

    def counts(self, t: int) -> np.ndarray:
        """The (n_members, n_layers, 3, N_BINS) histogram counts of step t, zeros at first."""
        assert self._hists is not None, "StackedRows was created with hist=False"
        counts = self._hists.get(t)
        if counts is None:
            counts = self._hists[t] = np.zeros(
                (self.n_members, self.n_layers, len(HIST_QUANTITIES), N_BINS), dtype=np.int64)
        return counts

    def buffers(self) -> list[StatBuffer]:
        """Each member's `StatBuffer`, holding exactly the rows that member wrote."""
        out = []
        for e in range(self.n_members):
            buf = StatBuffer(self.n_layers)
            for t, rows in self._rows.items():
                if rows[e, :, PRESENT].any():
                    buf.row(t)[:] = rows[e]
            for t, counts in (self._hists or {}).items():
                if counts[e].any():  # an all-zero step gives no hist.csv rows either way
                    buf.hist(t)[:] = counts[e]
            out.append(buf)
        return out
