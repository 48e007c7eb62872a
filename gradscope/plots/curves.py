"""Training curves: loss and accuracy against step, one line per configuration (He et al. 2015)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gradscope.analysis.aggregates import StepSummary, summarise_steps
from gradscope.analysis.configurations import combos, select
from gradscope.plots.base import LABEL_PT, TICK_PT, NoData, require, suptitle
from gradscope.plots.facets import (
    constants,
    draw_lines,
    facet_figure,
    finish_legend,
    line_stats,
    panel_title,
)
from gradscope.plots.layout import MAX_STYLED_LINES, layout
from gradscope.plots.profile import style_for, with_params
from gradscope.plots.style import Style

MAX_PANELS = 8  # each panel is a loss and an accuracy axes


def smoothing_window(steps: pd.DataFrame) -> int:
    """Steps in the running mean of the curves: about 1/25 of the longest run (1 = none)."""
    return window_for(float(steps["step"].max())) if len(steps) else 1


def window_for(last_step: float) -> int:
    """`smoothing_window` of curves whose longest run ends at `last_step`."""
    return max(1, int(last_step + 1) // 25)


def coinciding_ends(frame: pd.DataFrame, metric: str,
                    line_keys: tuple[str, ...]) -> list[tuple[int, float]]:
    """(how many lines, value) for each group of ≥ 2 lines that end at the same value (within
    0.2% of it), i.e. lines drawn on top of each other."""
    ends = []
    for values in combos(frame, line_keys):
        mean = line_stats(select(frame, line_keys, values), "step", metric)["mean"].dropna()
        if len(mean):
            ends.append(float(mean.iloc[-1]))
    if len(ends) < 2:
        return []
    ends.sort()
    groups: list[list[float]] = [[ends[0]]]
    for v in ends[1:]:
        if abs(v - groups[-1][-1]) <= 2e-3 * max(abs(v), abs(groups[-1][-1]), 1e-12):
            groups[-1].append(v)
        else:
            groups.append([v])
    return [(len(g), float(np.mean(g))) for g in groups if len(g) > 1]


def coinciding_note(frame: pd.DataFrame, metric: str, line_keys: tuple[str, ...]) -> str:
    """"3 lines at 0.693" (where they end) for lines drawn on top of each other ('' if none)."""
    return "\n".join(f"{count} lines at {value:.3g}"
                     for count, value in coinciding_ends(frame, metric, line_keys))


def step_summary(steps: pd.DataFrame | StepSummary, runs: pd.DataFrame) -> StepSummary:
    """`steps` itself when it is already a StepSummary, else its summary over `runs`."""
    if isinstance(steps, StepSummary):
        return steps
    window = smoothing_window(steps[steps["run_id"].isin(runs["run_id"])])
    return summarise_steps([steps], steps.columns, runs, window)


def training_curves(steps: pd.DataFrame | StepSummary, runs: pd.DataFrame, *,
                    style: Style | None = None) -> Figure:
    """Loss (and accuracy when recorded) against training step: one line per activation × init
    (mean over seeds, min–max band), one row of panels per value of the other parameters."""
    if not isinstance(steps, StepSummary):
        require(steps, "steps.csv", ["run_id", "step", "loss"])
    require(runs, "runs.csv", ["run_id"])
    style = style_for(runs, style)
    # loss and accuracy (non-finite dropped) as a running mean per run (mini-batch noise hides
    # the trend otherwise), then mean / min / max over each configuration's seeds
    summary = step_summary(steps, runs)
    if not summary.loss_finite:
        raise NoData("no finite loss in steps.csv")
    metrics = ["loss"] + (["accuracy"] if summary.accuracy_finite else [])
    window = summary.window
    frame = with_params(summary.curves, runs)
    lay = layout(runs[runs["run_id"].isin(summary.present)], line_first=("activation", "init"),
                 max_lines=MAX_STYLED_LINES)
    fig, values, blocks, note = facet_figure(frame, lay.facets, extra_cols=len(metrics),
                                             limit=MAX_PANELS)
    legend: dict[str, Line2D] = {}
    lo, hi = summary.loss_span
    log_loss = summary.loss_positive and hi / max(lo, 1e-300) > 10
    for vals, axes in zip(values, blocks, strict=True):
        sub = select(frame, lay.facets, vals)
        for ax, metric in zip(axes, metrics, strict=True):
            draw_lines(ax, sub, x="step", y=metric, line_keys=lay.lines, style=style,
                       legend=legend, stagger=True)
            prefix = metric + (": " if lay.facets else "")
            panel_title(ax, constants(sub, lay.facets), lay.facets, prefix=prefix)
            hidden = coinciding_note(sub, metric, lay.lines)
            if hidden:
                ax.set_title(f"{ax.get_title()}\n({hidden})", fontsize=TICK_PT,
                             color=ax.title.get_color())
            if metric == "loss" and log_loss:
                ax.set_yscale("log")
                # explicit limits: an exploding run's loss (1e266...) must not push matplotlib's
                # log-axis margins or tick decades past the float range (1e250 leaves room for both)
                ax.set_ylim(lo / 2, min(hi * 2, 1e250))
            if metric == "accuracy":
                ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel("training step", fontsize=LABEL_PT)
            ax.set_ylabel(metric + (" (log scale)" if metric == "loss" and log_loss else ""),
                          fontsize=LABEL_PT)
            ax.tick_params(labelsize=TICK_PT)
            ax.grid(alpha=0.3)
    smooth = f"running mean over {window} steps, " if window > 1 else ""
    stops = ("; a line stops where a run diverged"
             if "status" in runs.columns and (runs["status"] == "diverged").any() else "")
    suptitle(fig, f"Training curves ({smooth}mean over seeds, band = min–max{stops}){note}")
    finish_legend(fig, legend)
    return fig
