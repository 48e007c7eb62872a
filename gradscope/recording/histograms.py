"""Fixed, run-independent histogram bins for |dL/dW|, |delta| and activations, binned in numpy.

Because the edges never depend on the data, counts from different runs, layers and steps can be
compared or summed directly (the tidy `hist.csv` rows of a sweep).

- Magnitudes (`LOG_LO`/`LOG_HI`, quantities "grad" and "delta"): |x| in 5 log-spaced bins per decade
  from 1e-20 to 1e5, plus an exact-zero bin [0, 0], an underflow bin (0, 1e-20) and an
  overflow bin [1e5, inf] that also holds inf and nan. 128 bins.
- Values (`LIN_LO`/`LIN_HI`, quantity "activation"): 24 bins of width 0.25 on [-3, 3), plus the
  catch-all bins [-inf, -3) and [3, inf] (the latter also holds nan). 26 bins.

Bins are half-open [lo, hi). The bin index is computed in float32 (log10 for magnitudes), so a
value within ~1e-7 (relative) of an edge may land in the neighbouring bin; counts always add up to
the number of entries.
"""

from __future__ import annotations

import threading

import numpy as np

QUANTITIES = ("grad", "delta", "activation")

LOG_MIN_DECADE, LOG_MAX_DECADE, LOG_PER_DECADE = -20, 5, 5
_N_LOG_REGULAR = (LOG_MAX_DECADE - LOG_MIN_DECADE) * LOG_PER_DECADE  # 125
_LOG_EDGES = 10.0 ** (LOG_MIN_DECADE + np.arange(_N_LOG_REGULAR + 1) / LOG_PER_DECADE)
_LOG_EDGES[0], _LOG_EDGES[-1] = 10.0**LOG_MIN_DECADE, 10.0**LOG_MAX_DECADE  # exact end points
N_LOG_BINS = _N_LOG_REGULAR + 3  # zero, underflow, regular..., overflow
LOG_LO = np.concatenate([[0.0, 0.0], _LOG_EDGES[:-1], [_LOG_EDGES[-1]]])
LOG_HI = np.concatenate([[0.0], _LOG_EDGES, [np.inf]])

LIN_MIN, LIN_MAX, LIN_WIDTH = -3.0, 3.0, 0.25
_N_LIN_REGULAR = round((LIN_MAX - LIN_MIN) / LIN_WIDTH)  # 24
_LIN_EDGES = np.linspace(LIN_MIN, LIN_MAX, _N_LIN_REGULAR + 1)
N_LIN_BINS = _N_LIN_REGULAR + 2  # below, regular..., above
LIN_LO = np.concatenate([[-np.inf], _LIN_EDGES])
LIN_HI = np.concatenate([_LIN_EDGES, [np.inf]])

N_BINS = max(N_LOG_BINS, N_LIN_BINS)  # width of the per-(layer, quantity) count arrays


def _padded(a: np.ndarray, fill: float) -> np.ndarray:
    return np.concatenate([a, np.full(N_BINS - a.size, fill)])


# bin edges by quantity index (rows follow QUANTITIES); padding is never counted into
BIN_LO = np.stack([LOG_LO, LOG_LO, _padded(LIN_LO, np.nan)])
BIN_HI = np.stack([LOG_HI, LOG_HI, _padded(LIN_HI, np.nan)])


_BIN_KEYS = np.arange(1, N_BINS + 1, dtype=np.int16)
_scratch = threading.local()  # reused work buffers: no fresh pages (and page faults) per call


def _buffers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 and int16 work buffers of length n (per thread)."""
    f32 = getattr(_scratch, "f32", None)
    if f32 is None or f32.size < n:
        _scratch.f32, _scratch.i16 = np.empty(n, np.float32), np.empty(n, np.int16)
    return _scratch.f32[:n], _scratch.i16[:n]


def _clipped_counts(t: np.ndarray, keys: np.ndarray, low: int, top: int) -> np.ndarray:
    """Counts of floor(t) clipped to [low, top], nan counted in `top`, as an array of
    length top + 1; t and keys are overwritten.

    Sorting small integers and locating each bin's start is about twice as fast as np.bincount
    here (numpy's vectorised integer sort); np.clip is much faster than np.fmin/np.maximum."""
    np.clip(t, low, top, out=t)  # t >= 0 now, so the integer cast below is floor()
    if np.isnan(np.add.reduce(t)):  # rare: nan entries, which clip keeps
        t[np.isnan(t)] = top
    np.copyto(keys, t, casting="unsafe")
    keys.sort()
    starts = np.searchsorted(keys, _BIN_KEYS[:top])  # entries below 1, 2, ..., top
    return np.diff(starts, prepend=0, append=keys.size).astype(np.int64)


def log_abs_counts(x: np.ndarray) -> np.ndarray:
    """Counts of |x| in the fixed magnitude bins (`LOG_LO`/`LOG_HI`), shape (N_LOG_BINS,)."""
    flat = np.asarray(x).reshape(-1)
    t, keys = _buffers(flat.size)
    with np.errstate(all="ignore"):
        np.abs(flat, out=t, casting="same_kind")  # |x| in float32, one pass
        np.clip(t, 1e-30, None, out=t)  # no log10(0), a slow path; 0 and 1e-30 share a bin
        np.log10(t, out=t)
        t *= LOG_PER_DECADE
        t += 2 - LOG_MIN_DECADE * LOG_PER_DECADE  # 1e-20 -> 2, the first regular bin
        counts = _clipped_counts(t, keys, 1, N_LOG_BINS - 1)  # 1: zero or underflow
        if counts[1]:  # split exact zeros from tiny non-zero values
            zeros = int(np.count_nonzero(flat == 0))
            counts[0], counts[1] = zeros, counts[1] - zeros
    return counts


def linear_counts(x: np.ndarray) -> np.ndarray:
    """Counts of x in the fixed value bins (`LIN_LO`/`LIN_HI`), shape (N_LIN_BINS,)."""
    flat = np.asarray(x).reshape(-1)
    t, keys = _buffers(flat.size)
    with np.errstate(all="ignore"):
        np.multiply(flat, 1.0 / LIN_WIDTH, out=t, casting="same_kind")
        t += 1 - LIN_MIN / LIN_WIDTH  # -3 -> 1, the first regular bin
        return _clipped_counts(t, keys, 0, N_LIN_BINS - 1)


def counts_into(out: np.ndarray, grad: np.ndarray | None, delta: np.ndarray | None,
                activation: np.ndarray | None) -> None:
    """Write the counts of whichever of grad / delta / activation is given into `out`
    (shape (3, N_BINS), rows in QUANTITIES order)."""
    if grad is not None:
        out[0, :N_LOG_BINS] = log_abs_counts(grad)
    if delta is not None:
        out[1, :N_LOG_BINS] = log_abs_counts(delta)
    if activation is not None:
        out[2, :N_LIN_BINS] = linear_counts(activation)


def tidy_counts(steps: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Columns step, layer, quantity, bin_lo, bin_hi, count of the non-zero entries of
    `counts` (shape (n_steps, n_layers, 3, N_BINS)), ordered by step, layer, quantity, bin."""
    s, layer, q, b = np.nonzero(counts)
    return {
        "step": np.asarray(steps, dtype=np.int64)[s],
        "layer": layer.astype(np.int64),
        "quantity": np.asarray(QUANTITIES, dtype=object)[q],
        "bin_lo": BIN_LO[q, b],
        "bin_hi": BIN_HI[q, b],
        "count": counts[s, layer, q, b].astype(np.int64),
    }
