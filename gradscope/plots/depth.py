"""Depth summary: log10 of the layer-0 / last-layer gradient ratios against network depth."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

from gradscope.analysis.configurations import select
from gradscope.plots.base import LABEL_PT, TICK_PT, NoData, finite, require, suptitle
from gradscope.plots.facets import constants, draw_lines, facet_figure, finish_legend, panel_title
from gradscope.plots.layout import MAX_STYLED_LINES, layout
from gradscope.plots.profile import style_for
from gradscope.plots.style import Style

RATIOS = {"delta_ratio_log10": "back-propagated ‖∂L/∂z‖", "grad_ratio_log10": "weight ‖∂L/∂W‖"}


def depth_summary(runs: pd.DataFrame, *, style: Style | None = None) -> Figure:
    """delta_ratio_log10 and grad_ratio_log10 against depth, one line per activation × init
    (mean over seeds, min–max band); other varying parameters become panels."""
    require(runs, "runs.csv", ["run_id", "depth", *RATIOS])
    style = style_for(runs, style)
    frame = runs.assign(**{c: finite(pd.to_numeric(runs[c], errors="coerce")) for c in RATIOS})
    if frame[list(RATIOS)].notna().sum().sum() == 0:
        raise NoData("no finite gradient ratios in runs.csv")
    lay = layout(frame, line_first=("activation", "init"), exclude=("depth",),
                 max_lines=MAX_STYLED_LINES)
    fig, values, blocks, note = facet_figure(frame, lay.facets, extra_cols=len(RATIOS),
                                             sharey=True)
    legend: dict[str, Line2D] = {}
    depths = sorted(frame["depth"].dropna().unique())
    for vals, axes in zip(values, blocks, strict=True):
        sub = select(frame, lay.facets, vals)
        for ax, (col, text) in zip(axes, RATIOS.items(), strict=True):
            draw_lines(ax, sub, x="depth", y=col, line_keys=lay.lines, style=style,
                       legend=legend, markers=True)
            ax.axhline(0.0, color="black", lw=0.8, alpha=0.6)
            prefix = (f"{text}" + ("\n" if lay.facets else ""))
            panel_title(ax, constants(sub, lay.facets), lay.facets, prefix=prefix)
            if len(depths) > 1 and depths[-1] / max(depths[0], 1) >= 4:
                ax.set_xscale("log", base=2)
            ax.xaxis.set_major_locator(FixedLocator(depths))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.set_xlabel("depth (hidden layers)", fontsize=LABEL_PT)
            ax.set_ylabel("log10(layer 0 / last layer)", fontsize=LABEL_PT)
            ax.tick_params(labelsize=TICK_PT, labelleft=True)
            ax.grid(alpha=0.3)
    suptitle(fig, "Gradient at layer 0 relative to the last layer, at step 0\n"
                 f"(0 = no decay; mean over seeds, band = min–max){note}")
    finish_legend(fig, legend)
    return fig
