"""Frames: the tables of one sweep directory (runs, layers, steps, hist, manifest), in memory,
or their per-configuration aggregates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from gradscope.analysis.aggregates import HistSummary, LayerSummary, StepSummary


@dataclass(frozen=True)
class Frames:
    """The tables of one sweep directory (None for a CSV that is absent), the mean-field
    prediction of the delta_norm profile computed from them."""

    runs: pd.DataFrame
    layers: pd.DataFrame | None = None
    steps: pd.DataFrame | None = None
    hist: pd.DataFrame | None = None
    manifest: Mapping[str, Any] = field(default_factory=dict)
    predicted: pd.DataFrame | None = None  # run_id, layer, predicted_log10 (gradscope.compare)
    # the report's per-configuration aggregates (`gradscope.analysis.aggregates`); when set,
    # layers / steps / hist hold only their header and the plots draw from these
    layer_summary: LayerSummary | None = None
    step_summary: StepSummary | None = None
    hist_summary: HistSummary | None = None
