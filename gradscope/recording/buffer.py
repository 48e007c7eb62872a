"""`StatBuffer`: the one place every recording path writes reduced values and histogram counts.

The recorder's hook path (gradscope layers), its `log()` path (hand-written backprop) and a
framework adapter (e.g. PyTorch, with its own reductions) all reduce a layer's source arrays to
the fields of `recording.quantities.SOURCES` and hand them to the same buffer:

    buf = StatBuffer()
    buf.write(step, layer, "grad", (norm, rms, max_abs, nonfinite))  # one source of one layer
    buf.write_layers(step, "delta", norms[:, None])                   # one source, every layer
    buf.write_counts(step, layer, "grad", counts)                     # a fixed-bin histogram
    buf.table()  # -> steps, layer indices and fields of every written (step, layer)

Values are plain floats (or a float array for `write_layers`): an adapter converts its tensors
once per recorded step. Storage is one (n_layers, N_FIELDS) float64 array per recorded step and
one (n_layers, 3, N_BINS) int64 array per histogram step — no per-step pandas work.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gradscope.recording.histograms import N_BINS
from gradscope.recording.histograms import QUANTITIES as HIST_QUANTITIES
from gradscope.recording.schema import FIELD_INDEX, N_FIELDS, PRESENT, SOURCE_SLICE

NAN = float("nan")
_HIST_INDEX = {q: i for i, q in enumerate(HIST_QUANTITIES)}


class StatBuffer:
    """Reduced values per (step, layer, source field) and histogram counts per (step, layer)."""

    def __init__(self, n_layers: int = 0) -> None:
        self.n_layers = n_layers
        self._rows: dict[int, np.ndarray] = {}  # step -> (n_layers, N_FIELDS) float64
        self._hists: dict[int, np.ndarray] = {}  # step -> (n_layers, 3, N_BINS) int64

    def add_layers(self, n: int) -> None:
        """Make room for `n` layers in total (existing steps grow on their next write)."""
        self.n_layers = max(self.n_layers, n)

    # -- writing ---------------------------------------------------------------------------------
    def write(self, step: int, layer: int, source: str, values: Sequence[float | None], *,
              mark: bool = True) -> None:
        """Store the fused fields of `source` (in `SOURCES[source].fields` order) for one layer;
        a None value leaves that field as it is. `mark`: the (step, layer) row now exists."""
        row = self.row(step)[layer]
        sl = SOURCE_SLICE[source]
        if None in values:
            for i, value in zip(range(sl.start, sl.stop), values, strict=True):
                if value is not None:
                    row[i] = value
        else:
            row[sl] = values
        if mark:
            row[PRESENT] = 1.0

    def write_field(self, step: int, layer: int, field: str, value: float, *,
                    mark: bool = True) -> None:
        """Store one field ("source.field", e.g. "update.norm") of one layer."""
        row = self.row(step)[layer]
        row[FIELD_INDEX[field]] = value
        if mark:
            row[PRESENT] = 1.0

    def mark(self, step: int, layer: int) -> None:
        """The (step, layer) row exists (its unwritten fields stay NaN)."""
        self.row(step)[layer, PRESENT] = 1.0

    def write_layers(self, step: int, source: str, values: np.ndarray) -> None:
        """Store `source`'s fields for every layer at once: values (n_layers, n_fields); rows
        that are all NaN are skipped (that layer did not provide the source)."""
        values = np.asarray(values, dtype=np.float64)
        given = ~np.isnan(values).all(axis=1)
        rows = self.row(step)
        rows[: values.shape[0], SOURCE_SLICE[source]][given] = values[given]
        rows[: values.shape[0], PRESENT][given] = 1.0

    def write_counts(self, step: int, layer: int, quantity: str, counts: np.ndarray) -> None:
        """Store the fixed-bin histogram counts of "grad", "delta" or "activation"."""
        self.hist(step)[layer, _HIST_INDEX[quantity], : counts.size] = counts

    # -- storage ---------------------------------------------------------------------------------
    def row(self, step: int) -> np.ndarray:
        """The (n_layers, N_FIELDS) array of `step`, created (NaN, not present) on first use."""
        rows = self._rows.get(step)
        if rows is None or rows.shape[0] < self.n_layers:
            new = np.full((self.n_layers, N_FIELDS), NAN)
            new[:, PRESENT] = 0.0
            if rows is not None:
                new[: rows.shape[0]] = rows
            rows = self._rows[step] = new
        return rows

    def hist(self, step: int) -> np.ndarray:
        """The (n_layers, 3, N_BINS) count array of `step`, zeros on first use."""
        counts = self._hists.get(step)
        if counts is None or counts.shape[0] < self.n_layers:
            new = np.zeros((self.n_layers, len(HIST_QUANTITIES), N_BINS), dtype=np.int64)
            if counts is not None:
                new[: counts.shape[0]] = counts
            counts = self._hists[step] = new
        return counts

    def get(self, step: int) -> np.ndarray | None:
        """The array of `step` if it was written, else None."""
        return self._rows.get(step)

    # -- reading ---------------------------------------------------------------------------------
    @property
    def steps(self) -> list[int]:
        """Steps with values, in increasing order."""
        return sorted(self._rows)

    def table(self, only: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(step, layer, fields) of every written row (of step `only` when given), ordered by
        step then layer; fields is (n_rows, N_FIELDS) with the columns of `schema.FIELDS`."""
        chosen = self.steps if only is None else [only] if only in self._rows else []
        steps = np.array(chosen, dtype=np.int64)
        if steps.size == 0 or self.n_layers == 0:
            return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, N_FIELDS)))
        data = np.stack([self.row(int(s)) for s in steps])  # (n_steps, n_layers, N_FIELDS)
        s_idx, l_idx = np.nonzero(data[:, :, PRESENT] == 1.0)
        return steps[s_idx], l_idx.astype(np.int64), data[s_idx, l_idx]

    def counts(self, only: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(steps, counts (n_steps, n_layers, 3, N_BINS)) of every histogram step (of step
        `only` when given)."""
        chosen = sorted(self._hists) if only is None else [only] if only in self._hists else []
        steps = np.array(chosen, dtype=np.int64)
        if steps.size == 0:
            return steps, np.zeros((0, self.n_layers, len(HIST_QUANTITIES), N_BINS), np.int64)
        return steps, np.stack([self.hist(int(s)) for s in steps])
