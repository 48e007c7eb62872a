"""Saturated and dead share of units, and the update ratio, per layer at the first and last step."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from gradscope.analysis.aggregates import MOMENTS, LayerSummary
from gradscope.analysis.configurations import combos, select
from gradscope.plots.base import (
    LABEL_PT,
    TICK_PT,
    TITLE_PT,
    MissingColumns,
    NoData,
    new_figure,
    require,
    suptitle,
)
from gradscope.plots.facets import draw_lines, finish_legend
from gradscope.plots.layout import layout
from gradscope.plots.profile import layer_summary, style_for, with_params
from gradscope.plots.style import Style

METRICS = {"saturated_frac": "saturated share", "dead_frac": "dead share",
           "update_ratio": "log10 update ratio"}


def deepest_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs at the largest depth of each configuration of the other varying parameters."""
    if "depth" not in runs.columns:
        return runs
    keys = list(layout(runs, exclude=("depth",)).facets + layout(runs, exclude=("depth",)).lines)
    parts = [sub[sub["depth"] == sub["depth"].max()]
             for sub in (select(runs, keys, vals) for vals in combos(runs, keys))]
    return pd.concat(parts) if parts else runs


def saturation_summary(layers: pd.DataFrame | LayerSummary, runs: pd.DataFrame) -> LayerSummary:
    """`layers` itself when it is a LayerSummary, else its summary with the deepest runs."""
    if isinstance(layers, LayerSummary):
        return layers
    chosen = deepest_runs(runs[runs["run_id"].isin(layers["run_id"])])
    return layer_summary(layers, runs, deepest=chosen["run_id"],
                         caption_deepest=deepest_runs(runs)["run_id"])


def saturation_profile(layers: pd.DataFrame | LayerSummary, runs: pd.DataFrame, *,
                       style: Style | None = None) -> Figure:
    """saturated_frac, dead_frac and log10 update_ratio against layer, at each run's first and
    last recorded step; one line per configuration at its largest depth (mean over seeds)."""
    if not isinstance(layers, LayerSummary):
        require(layers, "layers.csv", ["run_id", "step", "layer"])
    require(runs, "runs.csv", ["run_id"])
    columns = layers.columns
    metrics = [m for m in METRICS if m in columns]
    if not metrics:
        raise MissingColumns("layers.csv", METRICS)
    style = style_for(runs, style)
    summary = saturation_summary(layers, runs)
    chosen = deepest_runs(runs[runs["run_id"].isin(summary.present)])
    metrics = [m for m in metrics if summary.saturation_any.get(m, False)]
    if not metrics:
        raise NoData("saturated_frac, dead_frac and update_ratio hold no finite value")
    frame = with_params(summary.saturation, runs)
    moments = {moment: frame["moment"] == moment for moment in MOMENTS}
    keys = [k for k in layout(chosen, exclude=("depth",)).facets
            + layout(chosen, exclude=("depth",)).lines]
    keys += ["depth"] if "depth" in chosen.columns else []
    fig, axes = new_figure(len(moments), len(metrics))
    legend: dict[str, Line2D] = {}
    for r, (moment, mask) in enumerate(moments.items()):
        for c, metric in enumerate(metrics):
            ax = axes[r, c]
            draw_lines(ax, frame[mask], x="layer", y=metric, line_keys=keys, style=style,
                       legend=legend, band=False)
            ax.set_title(f"{METRICS[metric]}\nat the {moment}", fontsize=TITLE_PT)
            if metric != "update_ratio":
                ax.set_ylim(-0.03, 1.03)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("layer (0 = input side)", fontsize=LABEL_PT)
            ax.set_ylabel(METRICS[metric], fontsize=LABEL_PT)
            ax.tick_params(labelsize=TICK_PT)
            ax.grid(alpha=0.3)
    suptitle(fig, "Saturated / dead units and update ratio per layer (largest depth of each "
                 "configuration, mean over seeds)")
    finish_legend(fig, legend)
    return fig
