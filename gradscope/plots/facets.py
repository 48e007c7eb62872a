"""Facet grids and seed-averaged lines with a min–max band, shared by the line plots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gradscope.analysis.configurations import combos, label, select
from gradscope.plots.base import LABEL_PT, TITLE_PT, NoData, hide_unused, new_figure
from gradscope.plots.layout import MAX_FACETS, MAX_STYLED_LINES
from gradscope.plots.style import Style, activation_colour, shade

MAX_COLS = 4


def panels(frame: pd.DataFrame, keys: Sequence[str],
           limit: int = MAX_FACETS) -> tuple[list[tuple], str]:
    """The panel value combinations (at most `limit`) and a note when some were left out."""
    found = combos(frame, keys)
    if not found:
        raise NoData("no rows to draw")
    note = f" (first {limit} of {len(found)} panels shown)" if len(found) > limit else ""
    return found[:limit], note


def grid(keys: Sequence[str], values: list[tuple],
         max_cols: int = MAX_COLS) -> tuple[int, int, list[tuple[int, int]]]:
    """Rows, columns and the (row, col) of each panel: a row × column grid for two full keys."""
    if len(keys) == 2:
        rows = list(dict.fromkeys(v[0] for v in values))
        cols = list(dict.fromkeys(v[1] for v in values))
        if len(rows) * len(cols) == len(values) and len(cols) <= max_cols + 1:
            return len(rows), len(cols), [(rows.index(a), cols.index(b)) for a, b in values]
    ncols = min(len(values), max_cols)
    nrows = -(-len(values) // ncols)
    return nrows, ncols, [divmod(i, ncols) for i in range(len(values))]


def facet_figure(frame: pd.DataFrame, keys: Sequence[str], *, extra_cols: int = 1,
                 limit: int = MAX_FACETS,
                 **kw: Any) -> tuple[Figure, list[tuple], list[list[Axes]], str]:
    """A figure with one block of `extra_cols` axes per panel; returns the axes of each panel."""
    values, note = panels(frame, keys, limit)
    nrows, ncols, pos = grid(keys, values, max(1, MAX_COLS // extra_cols))
    fig, axes = new_figure(nrows, ncols * extra_cols, **kw)
    used = [[axes[r, c * extra_cols + j] for j in range(extra_cols)] for r, c in pos]
    flat_used = {id(a) for block in used for a in block}
    for ax in axes.flat:
        if id(ax) not in flat_used:
            ax.set_axis_off()
    return fig, values, used, note


def panel_title(ax: Axes, params: dict, keys: Sequence[str], prefix: str = "") -> None:
    """Title a panel with its configuration, in the activation's colour when that is fixed."""
    text = prefix + (label(params, keys) if keys else "")
    colour = activation_colour(params["activation"]) if "activation" in params else "black"
    ax.set_title(text, fontsize=TITLE_PT, color=colour)


def constants(frame: pd.DataFrame, keys: Sequence[str]) -> dict[str, object]:
    """The first row's value of each key (for keys that are fixed inside `frame`)."""
    row = frame.iloc[0]
    return {k: row[k] for k in keys if k in frame.columns}


def draw_lines(ax: Axes, frame: pd.DataFrame, *, x: str, y: str, line_keys: Sequence[str],
               style: Style, legend: dict[str, Line2D], band: bool = True,
               markers: bool = False, stagger: bool = False) -> int:
    """One line per combination of `line_keys`: the mean of `y` over seeds at each `x`,
    with a min–max band; returns how many lines were drawn. `stagger` puts a few markers on
    long lines, at a different offset on each line, so that lines lying on top of each other
    still show every line's markers."""
    lines = combos(frame, line_keys)[:MAX_STYLED_LINES]
    groups: dict[tuple, list[tuple]] = {}
    for values in lines:
        sub = select(frame, line_keys, values)
        params = constants(sub, ("activation", "init"))
        groups.setdefault((str(params.get("activation")), str(params.get("init"))), []).append(
            values)
    shaded = any(len(g) > 1 for g in groups.values())
    drawn = 0
    for values in lines:
        sub = select(frame, line_keys, values)
        params = {**constants(sub, ("activation", "init")), **dict(zip(line_keys, values,
                                                                      strict=True))}
        group = groups[(str(params.get("activation")), str(params.get("init")))]
        t = group.index(values) / (len(group) - 1) if shaded and len(group) > 1 else (
            0.5 if shaded else None)
        props = style.line(params, t)
        agg = line_stats(sub, x, y)
        if agg["mean"].notna().sum() == 0:
            continue
        mk = props.pop("marker")
        markers_here = markers and len(agg) <= 17
        every = None
        if stagger and not markers_here and len(agg) > 1:
            period = max(2, len(agg) // 6)
            every = (round(drawn * period / max(1, len(lines))) % period, period)
            markers_here = True
        elif markers and not markers_here:  # a long line (a deep net): a marker every few
            every, markers_here = (0, -(-len(agg) // 12)), True  # points, so it is not
            # mistaken for the dashed theory line it may lie on
        ax.plot(agg.index, agg["mean"], lw=1.5, ms=4.5 if every else 3.5,
                marker=mk if markers_here else None, markevery=every, **props)
        if band and (agg["max"] > agg["min"]).any():
            ax.fill_between(agg.index, agg["min"], agg["max"], color=props["color"], alpha=0.15,
                            lw=0)
        drawn += 1
        if shaded and len(groups) > 1:  # several activation × init groups: name each line
            name = label(params, ["activation", "init",
                                  *[k for k in line_keys if k not in ("activation", "init")]])
            handle = Line2D([], [], lw=1.5, **{k: v for k, v in props.items()
                                               if k in ("color", "linestyle", "ls")})
        elif shaded:
            keys = [k for k in line_keys if k not in ("activation", "init")]
            name = label(params, keys)
            handle = Line2D([], [], color=shade("#555555", t if t is not None else 0.5), lw=2)
        else:
            name = label(params, line_keys)
            if "activation" not in line_keys:  # colours are in the panel titles, not here
                props["color"] = "#444444"
            handle = Line2D([], [], lw=1.5, marker=mk if markers or stagger else None, **props)
        legend.setdefault(name, handle)
    return drawn


def line_stats(sub: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """mean, min and max of `y` over one line's rows at each `x`, sorted by `x`; a frame of
    per-configuration aggregates (`y:mean`, `y:min`, `y:max` columns) already holds them."""
    if f"{y}:mean" in sub.columns:
        stats = sub.set_index(x)[[f"{y}:mean", f"{y}:min", f"{y}:max"]]
        return stats.set_axis(["mean", "min", "max"], axis=1).sort_index()
    return sub.groupby(x)[y].agg(["mean", "min", "max"]).sort_index()


def finish_legend(fig: Figure, legend: dict[str, Line2D], title: str = "") -> None:
    """A single figure legend outside the axes, on the right."""
    if legend:
        fig.legend(list(legend.values()), list(legend.keys()), loc="outside right center",
                   fontsize=LABEL_PT, title=title or None, title_fontsize=LABEL_PT, frameon=False)


def has_values(frame: pd.DataFrame, column: str) -> bool:
    """Whether `column` holds at least one finite value."""
    if f"{column}:mean" in frame.columns:
        column = f"{column}:mean"
    return bool(np.isfinite(pd.to_numeric(frame[column], errors="coerce")).any())


__all__ = ["constants", "draw_lines", "facet_figure", "finish_legend", "grid", "hide_unused",
           "has_values", "line_stats", "panel_title", "panels"]
