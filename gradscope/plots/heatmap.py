"""Heatmap of log10 grad_norm over layer × training step, for representative runs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import Colormap
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from gradscope.analysis.aggregates import LayerSummary
from gradscope.analysis.configurations import combos, select, varying_params
from gradscope.plots.base import (
    LABEL_PT,
    TICK_PT,
    NoData,
    hide_unused,
    log10,
    new_figure,
    require,
    suptitle,
)
from gradscope.plots.facets import panel_title
from gradscope.plots.layout import layout

MAX_RUNS = 6


def representative_runs(runs: pd.DataFrame, limit: int = MAX_RUNS) -> pd.DataFrame:
    """One run per configuration of the non-depth varying parameters: the deepest, first seed."""
    lay = layout(runs, exclude=("depth",))
    keys = [*lay.facets, *lay.lines]
    order = [c for c in ("depth", "seed") if c in runs.columns]
    picked = []
    for vals in combos(runs, keys)[:limit]:
        sub = select(runs, keys, vals)
        if order:
            sub = sub.sort_values(order, ascending=[False, True][: len(order)])
        picked.append(sub.iloc[0])
    return pd.DataFrame(picked)


def drawn_rows(layers: pd.DataFrame | LayerSummary,
               runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs of `runs` that have rows, and rows holding those of the representative runs
    (a LayerSummary keeps only those)."""
    if isinstance(layers, LayerSummary):
        return runs[runs["run_id"].isin(layers.present)], layers.rows
    return runs[runs["run_id"].isin(layers["run_id"])], layers


def gradient_heatmap(layers: pd.DataFrame | LayerSummary, runs: pd.DataFrame, *,
                     quantity: str = "grad_norm", run_ids: list[str] | None = None) -> Figure:
    """log10 `quantity` coloured over (training step, layer), one panel per representative run
    (a LayerSummary must hold their rows: `summarise_layers(full_rows=...)`)."""
    if not isinstance(layers, LayerSummary):
        require(layers, "layers.csv", ["run_id", "step", "layer", quantity])
    require(runs, "runs.csv", ["run_id"])
    present, layers = drawn_rows(layers, runs)
    chosen = (present[present["run_id"].isin(run_ids)] if run_ids is not None
              else representative_runs(present))
    if chosen.empty:
        raise NoData("no run of runs.csv has rows in layers.csv")
    frame = layers[layers["run_id"].isin(chosen["run_id"])]
    frame = frame.assign(value=log10(frame[quantity]))
    finite_vals = frame["value"].dropna()
    if finite_vals.empty:
        raise NoData(f"no finite positive {quantity}")
    vmin, vmax = float(finite_vals.min()), float(finite_vals.max())
    if vmin == vmax:
        vmin, vmax = vmin - 0.5, vmax + 0.5
    keys = varying_params(runs)
    if "depth" in chosen.columns and "depth" not in keys:
        keys.append("depth")
    ncols = min(len(chosen), max(1, math.ceil(math.sqrt(len(chosen)))))
    nrows = math.ceil(len(chosen) / ncols)
    pos = [divmod(i, ncols) for i in range(len(chosen))]
    fig, axes = new_figure(nrows, ncols, extra_w=0.9)
    cmap = _cmap()
    image = None
    for (r, c), (_, run) in zip(pos, chosen.iterrows(), strict=True):
        ax = axes[r, c]
        table = select(frame, ["run_id"], [run["run_id"]]).pivot_table(
            index="layer", columns="step", values="value", aggfunc="mean", dropna=False)
        table = table.reindex(columns=sorted(table.columns))
        steps = np.asarray(table.columns, dtype=float)
        layer_ids = np.asarray(table.index, dtype=float)
        cells = np.ma.masked_invalid(table.to_numpy(dtype=float))
        image = ax.pcolormesh(_step_edges(steps), _edges(layer_ids), cells, cmap=cmap,
                              vmin=vmin, vmax=vmax, shading="flat")
        panel_title(ax, {k: run[k] for k in keys}, keys)
        ax.set_xlabel("training step", fontsize=LABEL_PT)
        ax.set_ylabel("layer (0 = input side)", fontsize=LABEL_PT)
        ax.tick_params(labelsize=TICK_PT)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    hide_unused(axes, len(chosen))
    if image is not None:
        bar = fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.9)
        bar.set_label(f"log10 {quantity} (grey: zero or non-finite)", fontsize=LABEL_PT)
        bar.ax.tick_params(labelsize=TICK_PT)
    suptitle(fig, f"log10 {quantity} per layer during training\n(one run per configuration: "
                 "the deepest net, first seed)")
    return fig


def _step_edges(steps: np.ndarray) -> np.ndarray:
    """Cell edges for recorded steps: each cell runs from its step to the next recorded one."""
    last = steps[-1] + (steps[-1] - steps[-2] if len(steps) > 1 else 1.0)
    return np.append(steps, last)


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges around sorted centres (half-way between neighbours)."""
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mid = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


def _cmap() -> Colormap:
    return colormaps["viridis"].with_extremes(bad="#bbbbbb")
