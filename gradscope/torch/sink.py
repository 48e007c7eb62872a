"""Feeding the watched model's numbers into a GradientRecorder's buffer (the same table)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gradscope.recording.recorder import GradientRecorder


class RecorderSink:
    """Writes each recorded step's per-layer fields into `rec.buffer`, all layers at once."""

    def __init__(self, rec: GradientRecorder) -> None:
        self.rec = rec
        self.n = 0

    def declare(self, layers: Sequence[tuple[str, str, int, int]]) -> None:
        """The recorded modules in layer order: (name, kind, fan_in, fan_out)."""
        for name, kind, fan_in, fan_out in layers[self.n:]:
            self.rec.add_layer(name, kind, (int(fan_in), int(fan_out)))
        self.n = len(layers)

    def write(self, step: int, fields: Sequence[str], values: np.ndarray) -> None:
        """One recorded step: `values` (n_layers, len(fields)), fields named "source.field"."""
        self.rec.complete_before(step)  # earlier steps (and their updates) are complete
        col = {name: i for i, name in enumerate(fields)}
        buf = self.rec.buffer
        for source in ("grad", "bias_grad", "weight", "bias", "delta", "activation"):
            names = [f for f in fields if f.startswith(source + ".")]
            buf.write_layers(step, source, values[:, [col[f] for f in names]])

    def activation(self, index: int, name: str) -> None:
        """Layer `index` is followed by the registered activation `name`."""
        self.rec.note_activation(index, name)

    def write_updates(self, step: int, norms: np.ndarray) -> None:
        """‖ΔW‖ per layer of recorded step `step`."""
        buf = self.rec.buffer
        if buf.get(step) is not None:
            buf.write_layers(step, "update", np.asarray(norms, float)[:, None])

    def write_counts(self, step: int, counts: np.ndarray) -> None:
        """Histogram counts of one recorded step, (n_layers, 3, N_BINS), layers in order."""
        hist = self.rec.buffer.hist(step)
        hist[: counts.shape[0]] = counts
