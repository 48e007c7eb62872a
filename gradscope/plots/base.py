"""Shared pieces of every plot: headless figures, column checks and the MissingColumns error."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 110
PANEL_W, PANEL_H = 3.4, 2.5  # inches per facet panel
MIN_WIDTH = 10.0  # inches (1100 px): every figure about fills the report's column ...
MAX_WIDTH = 10.5  # inches (1155 px): ... and is shown there at about its own size
MIN_PANEL_W = 2.2  # inches: a panel is never squeezed below this to respect MAX_WIDTH
# font sizes in points: at DPI 110 and the report's column width, 9.5 pt is ≥ 10 px on screen
TICK_PT, LABEL_PT, TITLE_PT, SUPTITLE_PT = 9.5, 10.0, 10.5, 11.5


class PlotSkipped(Exception):
    """A plot cannot be drawn from these frames; the message says why (the report shows it)."""


class MissingColumns(PlotSkipped):
    """A plot needs columns (or a whole CSV) that its input lacks."""

    def __init__(self, frame: str, missing: Iterable[str]) -> None:
        self.frame = frame
        self.missing = sorted(missing)
        super().__init__(f"needs columns {', '.join(self.missing)} in {frame}")


class NoData(PlotSkipped):
    """The frames have the columns but no rows this plot can use (e.g. all NaN)."""


def require(frame: pd.DataFrame | None, name: str, columns: Iterable[str]) -> pd.DataFrame:
    """Return `frame` if it has every column in `columns`, else raise MissingColumns."""
    columns = list(columns)
    if frame is None:
        raise MissingColumns(name, columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumns(name, missing)
    return frame


def new_figure(nrows: int, ncols: int, *, panel: tuple[float, float] = (PANEL_W, PANEL_H),
               extra_w: float = 0.0, extra_h: float = 0.6,
               **subplot_kw: object) -> tuple[Figure, np.ndarray]:
    """A headless (Agg) figure with an nrows × ncols grid of axes, as a 2-D array."""
    panel_w = panel[0]
    if panel_w * ncols + extra_w > MAX_WIDTH:  # narrower panels rather than a shrunken picture
        panel_w = max(MIN_PANEL_W, (MAX_WIDTH - extra_w) / ncols)
    width = max(panel_w * ncols + extra_w, MIN_WIDTH)
    fig = Figure(figsize=(width, panel[1] * nrows + extra_h), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # explicit Agg canvas: never opens a window, never touches pyplot
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)
    return fig, axes


def finite(values: pd.Series) -> pd.Series:
    """The same series with ±inf turned into NaN, so matplotlib leaves a gap."""
    return values.replace([np.inf, -np.inf], np.nan)


def log10(values: pd.Series) -> pd.Series:
    """log10 of a non-negative series for display; zeros and non-finite values become NaN."""
    v = pd.to_numeric(values, errors="coerce").astype(float)
    v = v.where(np.isfinite(v) & (v > 0))
    return np.log10(v)


def hide_unused(axes: np.ndarray, used: int) -> None:
    """Switch off the axes of a facet grid beyond the first `used` panels."""
    for ax in axes.flat[used:]:
        ax.set_axis_off()


def suptitle(fig: Figure, text: str) -> None:
    """A figure title wrapped to the figure's width, so it is never cut off."""
    chars = max(40, int(fig.get_figwidth() * 10))
    lines = [textwrap.fill(line, chars) for line in text.split("\n")]
    fig.suptitle("\n".join(lines), fontsize=SUPTITLE_PT)
