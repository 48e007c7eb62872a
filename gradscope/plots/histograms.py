"""Per-layer histograms of gradients and activations from hist.csv (Glorot & Bengio 2010)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from gradscope.analysis.aggregates import HistSummary
from gradscope.analysis.configurations import varying_params
from gradscope.plots.base import LABEL_PT, TICK_PT, NoData, new_figure, require, suptitle
from gradscope.plots.facets import panel_title
from gradscope.plots.heatmap import representative_runs

HIST_COLUMNS = ["run_id", "step", "layer", "quantity", "bin_lo", "bin_hi", "count"]
MAX_RUNS, MAX_LAYERS, MAX_QUANTITIES = 4, 6, 3


def pick_layers(layer_ids: np.ndarray, limit: int = MAX_LAYERS) -> list[int]:
    """At most `limit` layer indices spread evenly from the input side to the output side."""
    ids = np.unique(layer_ids)
    if len(ids) <= limit:
        return [int(i) for i in ids]
    return [int(ids[i]) for i in np.unique(np.linspace(0, len(ids) - 1, limit).round().astype(int))]


def is_magnitude(rows: pd.DataFrame) -> bool:
    """Whether a quantity's bins are magnitudes on log-spaced edges (|grad|, |delta|)."""
    lo = rows["bin_lo"].to_numpy(float)
    return bool(len(lo)) and bool((lo >= 0).all()) and bool((lo > 0).any())


def stair_steps(lo: np.ndarray, hi: np.ndarray, shares: np.ndarray, *,
                log_x: bool) -> tuple[np.ndarray, np.ndarray]:
    """Heights and edges for `stairs` from sorted, possibly non-adjacent bins: gaps between
    stored bins (empty bins are not stored) become zero-height steps; an open last edge (inf)
    is drawn one bin-width wide; on a log axis, bins at or below 0 are left out."""
    keep = (lo > 0) if log_x else np.ones(len(lo), bool)
    lo, hi, shares = lo[keep], hi[keep], shares[keep]
    if not len(lo):
        return np.empty(0), np.empty(0)
    hi = hi.copy()
    if not np.isfinite(hi[-1]):
        hi[-1] = lo[-1] * 10.0 if log_x else lo[-1] + (hi[-2] - lo[-2] if len(lo) > 1 else 1.0)
    heights, edges = [], [lo[0]]
    for i in range(len(lo)):
        if lo[i] > edges[-1]:  # a gap of empty bins
            heights.append(0.0)
            edges.append(lo[i])
        heights.append(shares[i])
        edges.append(hi[i])
    return np.asarray(heights), np.asarray(edges)


def hist_parts(hist: pd.DataFrame | HistSummary,
               runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[str], float]:
    """The runs with histograms, rows holding the drawn runs', the quantities, the top layer."""
    if isinstance(hist, HistSummary):
        return (runs[runs["run_id"].isin(hist.present)], hist.rows, list(hist.quantities),
                hist.max_layer)
    return (runs[runs["run_id"].isin(hist["run_id"])], hist,
            sorted(hist["quantity"].astype(str).unique()), float(hist["layer"].max()))


def layer_histograms(hist: pd.DataFrame | HistSummary, runs: pd.DataFrame, *,
                     step: str | int = "first", run_ids: list[str] | None = None) -> Figure:
    """One panel per representative run × quantity: each drawn layer's histogram as a step line,
    as a share of that layer's values, coloured from input (dark) to output (light) layers."""
    if not isinstance(hist, HistSummary):
        require(hist, "hist.csv", HIST_COLUMNS)
    require(runs, "runs.csv", ["run_id"])
    present, hist, quantities, max_layer = hist_parts(hist, runs)
    chosen = (present[present["run_id"].isin(run_ids)] if run_ids is not None
              else representative_runs(present, MAX_RUNS))
    if chosen.empty:
        raise NoData("no run of runs.csv has rows in hist.csv")
    quantities = quantities[:MAX_QUANTITIES]
    keys = varying_params(runs)
    if "depth" in chosen.columns and "depth" not in keys:
        keys.append("depth")
    fig, axes = new_figure(len(chosen), len(quantities), extra_w=1.0)
    max_layer = max_layer or 1.0
    cmap = colormaps["viridis"]
    norm = Normalize(0.0, max_layer)
    shown_step = {}
    for r, (_, run) in enumerate(chosen.iterrows()):
        own = hist[hist["run_id"] == run["run_id"]]
        steps = sorted(own["step"].unique())
        at = steps[0] if step == "first" else steps[-1] if step == "last" else step
        shown_step[run["run_id"]] = at
        own = own[own["step"] == at]
        for c, quantity in enumerate(quantities):
            ax = axes[r, c]
            rows = own[own["quantity"].astype(str) == quantity]
            log_x = is_magnitude(rows)
            for layer in pick_layers(rows["layer"].to_numpy()):
                bins = rows[rows["layer"] == layer].sort_values("bin_lo")
                counts = bins["count"].to_numpy(dtype=float)
                total = counts.sum()
                if total <= 0:
                    continue
                heights, edges = stair_steps(bins["bin_lo"].to_numpy(float),
                                             bins["bin_hi"].to_numpy(float), counts / total,
                                             log_x=log_x)
                if len(heights):
                    ax.stairs(heights, edges, color=cmap(norm(layer)), lw=1.3)
            if log_x:
                ax.set_xscale("log")
            panel_title(ax, {k: run[k] for k in keys}, keys, prefix=f"{quantity} at step {at}\n")
            ax.set_xlabel(f"|{quantity}| (log scale; exact zeros not drawn)" if log_x
                          else quantity, fontsize=LABEL_PT)
            ax.set_ylabel("share of values", fontsize=LABEL_PT)
            ax.tick_params(labelsize=TICK_PT)
            ax.grid(alpha=0.3)
    bar = fig.colorbar(ScalarMappable(norm, cmap), ax=axes.ravel().tolist(), shrink=0.8)
    bar.set_label("layer (0 = input side)", fontsize=LABEL_PT)
    bar.ax.tick_params(labelsize=TICK_PT)
    suptitle(fig, "Per-layer histograms (deepest net of each configuration, first seed; "
                 f"up to {MAX_LAYERS} layers each)")
    return fig
