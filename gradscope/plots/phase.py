"""Trainability phase diagram: final accuracy over (σ_w², depth) with the 6 ξ_c line on top."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from gradscope.plots.base import LABEL_PT, TICK_PT, NoData, new_figure, suptitle

MAX_TEXT_CELLS = 120  # write the accuracy into each cell up to this many cells


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges halfway between sorted grid values (the outer cells as wide as their
    neighbour's half-gap)."""
    mid = (values[1:] + values[:-1]) / 2.0
    first = values[0] - (mid[0] - values[0])
    last = values[-1] + (values[-1] - mid[-1])
    return np.concatenate([[first], mid, [last]])


def phase_diagram(table: pd.DataFrame, curve: pd.DataFrame, *, threshold: float = math.nan,
                  critical: float = math.nan) -> Figure:
    """Cells: the mean final accuracy (over seeds) of each (σ_w², depth) in `table`
    (`gradscope.analysis.phase.phase_table`); line: `curve`'s trainable_depth = 6 ξ_c against
    sigma_w2; dotted: the critical σ_w². `threshold` outlines the cells counted as trained."""
    if table.empty or table["accuracy"].notna().sum() == 0:
        raise NoData("no final accuracy to draw")
    sw = np.sort(table["sigma_w2"].unique()).astype(float)
    depths = np.sort(table["depth"].unique()).astype(float)
    grid = np.full((len(depths), len(sw)), np.nan)
    cell = table.set_index(["depth", "sigma_w2"])["accuracy"]
    for (d, s), acc in cell.items():
        grid[np.searchsorted(depths, d), np.searchsorted(sw, s)] = acc
    fig, axes = new_figure(1, 1, panel=(8.0, 5.0), extra_w=1.2)
    ax = axes[0, 0]
    norm = Normalize(vmin=float(np.nanmin(grid)), vmax=max(float(np.nanmax(grid)), 1e-9 +
                                                          float(np.nanmin(grid))))
    cmap = colormaps["viridis"].with_extremes(bad="#bbbbbb")
    mesh = ax.pcolormesh(_edges(sw), _edges(depths), np.ma.masked_invalid(grid), cmap=cmap,
                         norm=norm, shading="flat")
    if grid.size <= MAX_TEXT_CELLS:
        for i, d in enumerate(depths):
            for j, s in enumerate(sw):
                if np.isfinite(grid[i, j]):
                    bright = norm(grid[i, j]) > 0.6
                    ax.text(s, d, f"{100 * grid[i, j]:.0f}", ha="center", va="center",
                            fontsize=TICK_PT - 1, color="black" if bright else "white",
                            fontweight="bold" if grid[i, j] >= threshold else "normal")
    finite = curve[np.isfinite(curve["trainable_depth"])]
    ax.plot(finite["sigma_w2"], finite["trainable_depth"], color="#ff4040", lw=2.2,
            label="6 ξ_c (mean-field theory)")
    if math.isfinite(critical):
        ax.axvline(critical, color="#ff4040", lw=1.0, ls=":",
                   label=f"critical σ_w² = {critical:.3g} (χ₁ = 1)")
    top = _edges(depths)[-1]
    ax.set_ylim(_edges(depths)[0], top)
    ax.set_xlim(_edges(sw)[0], _edges(sw)[-1])
    ax.set_xlabel("σ_w² (weight variance × fan_in)", fontsize=LABEL_PT)
    ax.set_ylabel("depth (hidden layers)", fontsize=LABEL_PT)
    ax.tick_params(labelsize=TICK_PT)
    ax.legend(fontsize=TICK_PT, loc="upper right", framealpha=0.85)
    bar = fig.colorbar(mesh, ax=ax, pad=0.02)
    bar.set_label("final training accuracy (mean over seeds)", fontsize=LABEL_PT)
    bar.ax.tick_params(labelsize=TICK_PT)
    act = table["activation"].iloc[0]
    sb2 = float(table["sigma_b2"].iloc[0])
    suptitle(fig, f"Trainability of {act} nets, σ_b² = {sb2:g}: nets deeper than about 6 ξ_c "
                  "do not train (Schoenholz et al. 2017); cell text = accuracy in %, bold = "
                  "counted as trained")
    return fig
