"""Gradient profile: log10 of a per-layer gradient norm against layer index at step 0."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from gradscope.analysis.aggregates import LayerSummary, summarise_layers
from gradscope.analysis.configurations import combos, run_params, select
from gradscope.plots.base import (
    LABEL_PT,
    TICK_PT,
    MissingColumns,
    NoData,
    log10,
    new_figure,
    require,
    suptitle,
)
from gradscope.plots.facets import constants, draw_lines, facet_figure, finish_legend, panel_title
from gradscope.plots.layout import layout
from gradscope.plots.style import Style

QUANTITY_TEXT = {
    "delta_norm": "back-propagated gradient ‖∂L/∂z‖",
    "grad_norm": "weight gradient ‖∂L/∂W‖",
}


def first_step(layers: pd.DataFrame) -> pd.DataFrame:
    """The rows of each run's first recorded step (step 0 when it was recorded)."""
    return layers[layers["step"] == layers.groupby("run_id")["step"].transform("min")]


def with_params(frame: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """`frame` joined with the run parameters of runs.csv on run_id."""
    cols = ["run_id", *[c for c in run_params(runs) if c not in frame.columns]]
    return frame.merge(runs[cols], on="run_id", how="inner")


def style_for(runs: pd.DataFrame, style: Style | None) -> Style:
    """The given style, or one built from the initialisers of `runs`."""
    if style is not None:
        return style
    return Style.for_inits(runs["init"]) if "init" in runs.columns else Style()


MIN_SEEDS_FOR_BAND = 3
SPREAD_LABEL = "predicted seed range\n(this width, one\nexample per δ)"


def draw_predicted(ax: Axes, frame: pd.DataFrame, line_keys: tuple[str, ...], style: Style,
                   legend: dict[str, Line2D]) -> None:
    """The precomputed mean-field line of each configuration in `frame` (dashed, thin) and,
    where it has ≥ 3 seeds and a finite-width law, the band those seeds are expected to span
    (hatched; `gradscope.analysis.measured_vs_theory.predicted_profile`)."""
    for values in combos(frame, line_keys):
        sub = select(frame, line_keys, values)
        one = sub[sub["run_id"] == sub["run_id"].iloc[0]].sort_values("layer")
        colour = style.line(constants(sub, ("activation", "init")))["color"]
        ax.plot(one["layer"], one["predicted_log10"], color=colour, lw=1.0, ls=(0, (4, 2)),
                alpha=0.9)
        legend.setdefault("mean-field theory", Line2D([], [], color="#555555", lw=1.0,
                                                      ls=(0, (4, 2))))
        if not {"spread_lo_log10", "spread_hi_log10", "seeds"} <= set(one.columns):
            continue
        lo = pd.to_numeric(one["spread_lo_log10"], errors="coerce")
        hi = pd.to_numeric(one["spread_hi_log10"], errors="coerce")
        if one["seeds"].iloc[0] >= MIN_SEEDS_FOR_BAND and np.isfinite(lo).all() and (
                np.isfinite(hi).all()):
            ax.fill_between(one["layer"], lo, hi, facecolor="none", edgecolor=colour,
                            hatch="////", lw=0.0, alpha=0.45)
            legend.setdefault(SPREAD_LABEL, Patch(facecolor="none", edgecolor="#555555",
                                                  hatch="////", lw=0.0))


def layer_summary(layers: pd.DataFrame | LayerSummary, runs: pd.DataFrame,
                  **chosen: object) -> LayerSummary:
    """`layers` itself when it is already a LayerSummary, else its summary over `runs`."""
    if isinstance(layers, LayerSummary):
        return layers
    return summarise_layers([layers], layers.columns, runs, runs, **chosen)


def gradient_profile(layers: pd.DataFrame | LayerSummary, runs: pd.DataFrame,
                     quantity: str = "delta_norm", *, style: Style | None = None,
                     predicted: pd.DataFrame | None = None) -> Figure:
    """log10 `quantity` (delta_norm or grad_norm) per layer at step 0: one line per
    configuration (mean over seeds, min–max band), one panel per activation × init. For
    delta_norm, `predicted` (from `gradscope.compare.predicted_profile`) adds the theory's
    line, dashed, and where a configuration has ≥ 3 seeds the band its seeds are expected to
    span at this width, hatched."""
    if not isinstance(layers, LayerSummary):
        require(layers, "layers.csv", ["run_id", "step", "layer", quantity])
    require(runs, "runs.csv", ["run_id"])
    summary = layer_summary(layers, runs)
    if quantity not in summary.columns:
        raise MissingColumns("layers.csv", [quantity])
    style = style_for(runs, style)
    frame = with_params(summary.profile, runs)
    frame = frame.rename(columns={f"{quantity}:{s}": f"value:{s}" for s in ("mean", "min",
                                                                              "max", "n")})
    if frame["value:n"].sum() == 0:
        raise NoData(f"no finite positive {quantity} at the first step")
    lay = layout(runs[runs["run_id"].isin(summary.present)], facet_first=("activation", "init"))
    fig, values, blocks, note = facet_figure(frame, lay.facets, sharey=True)
    legend: dict[str, Line2D] = {}
    theory = None
    if quantity == "delta_norm" and predicted is not None and len(predicted):
        theory = with_params(predicted, runs)
        theory = theory[theory["predicted_log10"].map(np.isfinite)]
    for vals, (ax,) in zip(values, blocks, strict=True):
        sub = select(frame, lay.facets, vals)
        draw_lines(ax, sub, x="layer", y="value", line_keys=lay.lines, style=style,
                   legend=legend, markers=True)
        if theory is not None:
            mine = select(theory, lay.facets, vals)
            if len(mine):
                draw_predicted(ax, mine, lay.lines, style, legend)
        panel_title(ax, constants(sub, lay.facets), lay.facets)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.set_xlabel("layer (0 = input side)", fontsize=LABEL_PT)
        ax.set_ylabel(f"log10 {quantity}", fontsize=LABEL_PT)
        ax.tick_params(labelsize=TICK_PT, labelleft=True)
    text = QUANTITY_TEXT.get(quantity, quantity)
    suptitle(fig, f"{text[0].upper()}{text[1:]} per layer at step 0\n"
                 f"(mean over seeds, band = min–max){note}")
    finish_legend(fig, legend)
    return fig


def recording_profile(frame: pd.DataFrame) -> Figure:
    """One recording's δ profile (what `rec.plot()` shows): log10 delta_norm and grad_norm
    against layer, at the first recorded step (solid) and the last one (dashed)."""
    require(frame, "the recorder frame", ["step", "layer", "delta_norm"])
    if len(frame) == 0:
        raise NoData("nothing recorded yet")
    steps = sorted(frame["step"].unique())
    moments = [steps[0]] + ([steps[-1]] if len(steps) > 1 else [])
    quantities = [q for q in ("delta_norm", "grad_norm") if q in frame.columns]
    colours = {"delta_norm": "#ff7f0e", "grad_norm": "#1f77b4"}
    fig, axes = new_figure(1, 1, panel=(6.5, 3.6))
    ax = axes[0, 0]
    drawn = 0
    for quantity in quantities:
        for k, step in enumerate(moments):
            at = frame[frame["step"] == step].groupby("layer")[quantity].mean().sort_index()
            values = log10(at)
            if values.notna().sum() == 0:
                continue
            ax.plot(at.index, values, color=colours[quantity], ls="-" if k == 0 else "--",
                    marker="o" if k == 0 else "s", ms=4, lw=1.6,
                    label=f"{QUANTITY_TEXT[quantity]}, step {int(step)}")
            drawn += 1
    if not drawn:
        raise NoData("no finite positive delta_norm or grad_norm recorded")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.set_xlabel("layer (0 = input side)", fontsize=LABEL_PT)
    ax.set_ylabel("log10 norm", fontsize=LABEL_PT)
    ax.tick_params(labelsize=TICK_PT)
    ax.legend(fontsize=TICK_PT, loc="best")
    suptitle(fig, "Gradient per layer: a line falling towards layer 0 is a vanishing gradient, "
                  "a rising one an exploding gradient")
    return fig
