"""Diagnosis matrix: configuration × depth per initialiser, coloured by delta_ratio_log10."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from gradscope.analysis.configurations import combos, fmt_value, label, select, varying_params
from gradscope.analysis.diagnosis.labels import severity
from gradscope.plots.base import (
    LABEL_PT,
    TICK_PT,
    TITLE_PT,
    NoData,
    finite,
    hide_unused,
    new_figure,
    require,
    suptitle,
)


def diagnosis_matrix(runs: pd.DataFrame) -> Figure:
    """One panel per initialiser: rows = activation (and other varying parameters), columns =
    depth, colour = delta_ratio_log10 (mean over seeds), text = the diagnosis of most seeds
    (ties: the more severe, as in the sweep's per-configuration summary)."""
    require(runs, "runs.csv", ["run_id", "depth", "diagnosis", "delta_ratio_log10"])
    frame = runs.assign(value=finite(pd.to_numeric(runs["delta_ratio_log10"], errors="coerce")))
    if frame.empty:
        raise NoData("runs.csv has no rows")
    panel_key = ["init"] if "init" in frame.columns else []
    row_keys = [k for k in varying_params(frame) if k not in ("depth", "init")]
    if not row_keys and "activation" in frame.columns:
        row_keys = ["activation"]
    panels = combos(frame, panel_key)[:6]
    depths = sorted(frame["depth"].dropna().unique())
    rows = combos(frame, row_keys)[:16]
    values = frame["value"].dropna()
    bound = max(1.0, float(values.abs().max())) if len(values) else 1.0
    norm = Normalize(vmin=-bound, vmax=bound)  # symmetric: white = no decay
    cmap = colormaps["RdBu_r"].with_extremes(bad="#bbbbbb")
    width = 0.95 * len(depths) + 0.4
    ncols = min(2, len(panels))
    nrows = -(-len(panels) // ncols)
    row_text = max(len(label(dict(zip(row_keys, r, strict=True)), row_keys)) for r in rows)
    fig, axes = new_figure(nrows, ncols, panel=(width, 0.55 * len(rows) + 0.9),
                           extra_w=1.9 + 0.06 * row_text, sharey=True)
    hide_unused(axes, len(panels))
    image = None
    for ax, pvals in zip(axes.flat, panels, strict=False):
        sub = select(frame, panel_key, pvals)
        cells = np.full((len(rows), len(depths)), np.nan)
        texts = [["" for _ in depths] for _ in rows]
        for i, rvals in enumerate(rows):
            row = select(sub, row_keys, rvals)
            for j, depth in enumerate(depths):
                cell = row[row["depth"] == depth]
                if cell.empty:
                    continue
                cells[i, j] = cell["value"].mean()
                counts = cell["diagnosis"].astype(str).value_counts()
                top = min(counts.index, key=lambda d: (-counts[d], severity(d)))
                vote = "" if len(counts) == 1 else f" {counts.iloc[0]}/{len(cell)}"
                number = "n/a" if np.isnan(cells[i, j]) else f"{cells[i, j]:+.1f}"
                texts[i][j] = f"{top}{vote}\n{number}"
        image = ax.imshow(np.ma.masked_invalid(cells), cmap=cmap, norm=norm, aspect="auto")
        for i in range(len(rows)):
            for j in range(len(depths)):
                dark = not np.isnan(cells[i, j]) and abs(norm(cells[i, j]) - 0.5) > 0.3
                ax.text(j, i, texts[i][j], ha="center", va="center", fontsize=TICK_PT,
                        color="white" if dark else "black")
        ax.set_xticks(range(len(depths)), [fmt_value(d) for d in depths], fontsize=LABEL_PT)
        ax.set_yticks(range(len(rows)),
                      [label(dict(zip(row_keys, r, strict=True)), row_keys) for r in rows],
                      fontsize=LABEL_PT)
        ax.set_xlabel("depth (hidden layers)", fontsize=LABEL_PT)
        ax.set_title(f"init {fmt_value(pvals[0])}" if pvals else "all runs", fontsize=TITLE_PT)
    if image is not None:
        bar = fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.9)
        bar.set_label("log10 of layer-0 / last-layer ‖∂L/∂z‖\n(blue: vanishing, red: exploding)",
                      fontsize=LABEL_PT)
        bar.ax.tick_params(labelsize=TICK_PT)
    suptitle(fig, "Diagnosis per configuration\n(text: diagnosis of most seeds; number: "
                 "delta_ratio_log10, mean over seeds)")
    return fig
