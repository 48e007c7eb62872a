"""Feeding the watched model's numbers into a GradientRecorder (the same table as any recorder)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gradscope.recording import recorder as _r
from gradscope.recording.recorder import GradientRecorder


class RecorderSink:
    """Writes each recorded step's per-layer fields into `rec`'s buffer."""

    def __init__(self, rec: GradientRecorder) -> None:
        self.rec = rec

    def declare(self, layers: Sequence[tuple[str, str, int, int]]) -> None:
        """The recorded modules in layer order: (name, kind, fan_in, fan_out)."""
        slots = self.rec._slots
        for name, kind, fan_in, fan_out in layers[len(slots):]:
            slots.append(_r._Slot(name, kind, (fan_in, fan_out)))
            self.rec._pending.append(None)

    def write(self, step: int, fields: Sequence[str], values: np.ndarray) -> None:
        """One recorded step: `values` (n_layers, len(fields))."""
        f = {name: values[:, i] for i, name in enumerate(fields)}
        row = self.rec._row(step)
        n = values.shape[0]
        row[:n, _r._G_NORM] = f["grad.norm"]
        with np.errstate(all="ignore"):
            row[:n, _r._G_RMS] = np.where(f["grad.size"] > 0, f["grad.norm"]
                                          / np.sqrt(f["grad.size"]), 0.0)
        row[:n, _r._G_MAX] = f["grad.max_abs"]
        row[:n, _r._B_NORM] = f["bias_grad.norm"]
        row[:n, _r._D_NORM] = f["delta.norm"]
        row[:n, _r._W_NORM] = f["weight.norm"]
        row[:n, _r._A_MEAN] = f["act.mean"]
        row[:n, _r._A_STD] = f["act.std"]
        row[:n, _r._SAT] = f["act.saturated"]
        row[:n, _r._DEAD] = f["act.dead"]
        row[:n, _r._NF_W] = f["grad.nonfinite"]
        row[:n, _r._NF_B] = f["bias_grad.nonfinite"]
        row[:n, _r._PRESENT] = 1.0

    def write_updates(self, step: int, norms: np.ndarray) -> None:
        """‖ΔW‖ per layer of recorded step `step`."""
        row = self.rec._rows.get(step)
        if row is not None:
            row[: len(norms), _r._U_NORM] = norms
