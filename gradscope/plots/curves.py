"""Training curves: loss and accuracy against step, one line per configuration (He et al. 2015)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gradscope.analysis.configurations import select
from gradscope.plots.base import NoData, finite, require, suptitle
from gradscope.plots.facets import (
    constants,
    draw_lines,
    facet_figure,
    finish_legend,
    has_values,
    panel_title,
)
from gradscope.plots.layout import MAX_STYLED_LINES, layout
from gradscope.plots.profile import style_for, with_params
from gradscope.plots.style import Style

MAX_PANELS = 8  # each panel is a loss and an accuracy axes


def smoothing_window(steps: pd.DataFrame) -> int:
    """Steps in the running mean of the curves: about 1/25 of the longest run (1 = none)."""
    return max(1, int(steps["step"].max() + 1) // 25) if len(steps) else 1


def training_curves(steps: pd.DataFrame, runs: pd.DataFrame, *,
                    style: Style | None = None) -> Figure:
    """Loss (and accuracy when recorded) against training step: one line per activation × init
    (mean over seeds, min–max band), one row of panels per value of the other parameters."""
    require(steps, "steps.csv", ["run_id", "step", "loss"])
    require(runs, "runs.csv", ["run_id"])
    style = style_for(runs, style)
    frame = with_params(steps, runs)
    frame = frame.assign(loss=finite(pd.to_numeric(frame["loss"], errors="coerce")))
    if not has_values(frame, "loss"):
        raise NoData("no finite loss in steps.csv")
    metrics = ["loss"]
    if "accuracy" in frame.columns and has_values(frame, "accuracy"):
        frame = frame.assign(accuracy=finite(pd.to_numeric(frame["accuracy"], errors="coerce")))
        metrics.append("accuracy")
    window = smoothing_window(frame)
    if window > 1:  # a running mean per run: mini-batch noise hides the trend otherwise
        frame = frame.sort_values(["run_id", "step"])
        for metric in metrics:
            frame[metric] = (frame.groupby("run_id")[metric]
                             .transform(lambda v: v.rolling(window, min_periods=1).mean()))
    lay = layout(runs[runs["run_id"].isin(frame["run_id"])], line_first=("activation", "init"),
                 max_lines=MAX_STYLED_LINES)
    fig, values, blocks, note = facet_figure(frame, lay.facets, extra_cols=len(metrics),
                                             limit=MAX_PANELS)
    legend: dict[str, Line2D] = {}
    positive = bool((frame["loss"].dropna() > 0).all())
    span = frame["loss"].dropna()
    log_loss = positive and float(span.max()) / max(float(span.min()), 1e-300) > 10
    for vals, axes in zip(values, blocks, strict=True):
        sub = select(frame, lay.facets, vals)
        for ax, metric in zip(axes, metrics, strict=True):
            draw_lines(ax, sub, x="step", y=metric, line_keys=lay.lines, style=style,
                       legend=legend)
            prefix = metric + (": " if lay.facets else "")
            panel_title(ax, constants(sub, lay.facets), lay.facets, prefix=prefix)
            if metric == "loss" and log_loss:
                ax.set_yscale("log")
                # explicit limits: an exploding run's loss (1e266...) must not push matplotlib's
                # log-axis margins past the float range
                ax.set_ylim(float(span.min()) / 2, min(float(span.max()) * 2, 1e300))
            if metric == "accuracy":
                ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel("training step", fontsize=8)
            ax.set_ylabel(metric + (" (log scale)" if metric == "loss" and log_loss else ""),
                          fontsize=8)
            ax.tick_params(labelsize=8)
            ax.grid(alpha=0.3)
    smooth = f"running mean over {window} steps, " if window > 1 else ""
    suptitle(fig, f"Training curves ({smooth}mean over seeds, band = min–max; "
                 f"a line stops where a run diverged){note}")
    finish_legend(fig, legend)
    return fig



