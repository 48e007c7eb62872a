"""Frames: the tables of one sweep directory, as the plots and captions of a report read them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .style import Style


@dataclass(frozen=True)
class Frames:
    """The tables of one sweep directory (None for a CSV that is absent), the mean-field
    prediction of the delta_norm profile computed from them, and its plot style."""

    runs: pd.DataFrame
    layers: pd.DataFrame | None = None
    steps: pd.DataFrame | None = None
    hist: pd.DataFrame | None = None
    manifest: Mapping[str, Any] = field(default_factory=dict)
    predicted: pd.DataFrame | None = None  # run_id, layer, predicted_log10 (gradscope.compare)

    @property
    def style(self) -> Style:
        """One line style per initialiser of the whole sweep, shared by every plot."""
        inits = self.runs["init"] if "init" in self.runs.columns else []
        return Style.for_inits(inits)
