"""The per-layer table of a recording as HTML (a notebook's `_repr_html_`): grad_norm and
delta_norm per layer with log-scale bars. Pure string building; numpy and pandas only."""

from __future__ import annotations

import math
from html import escape

import numpy as np
import pandas as pd

BAR_PX = 160  # the longest bar, in pixels
STYLE = ("border-collapse:collapse;font-size:12px;font-family:ui-monospace,monospace")
CELL = "border:1px solid #ddd;padding:2px 6px;text-align:right"


def _span(values: np.ndarray) -> tuple[float, float]:
    """log10 of the smallest and largest finite positive value ((0, 0) if none)."""
    v = values[np.isfinite(values) & (values > 0)]
    return (float(np.log10(v.min())), float(np.log10(v.max()))) if len(v) else (0.0, 0.0)


def log_bar_html(value: float, lo: float, hi: float, colour: str) -> str:
    """A bar whose length is linear in log10(value) between 10^lo (shortest) and 10^hi."""
    if not math.isfinite(value):
        return '<span style="color:#d62728">non-finite</span>'
    if value <= 0:
        return '<span style="color:#777">zero</span>'
    share = 1.0 if hi <= lo else (math.log10(value) - lo) / (hi - lo)
    width = max(2, round(BAR_PX * (0.08 + 0.92 * share)))
    return (f'<div title="{value:.3e}" style="display:inline-block;height:10px;width:'
            f'{width}px;background:{colour}"></div>')


def layer_table_html(frame: pd.DataFrame, step: int = 0) -> str:
    """The rows of a recorder frame (or layers.csv of one run) at `step` as an HTML table,
    input layer first, with log-scale bars for grad_norm and delta_norm."""
    if frame is None or len(frame) == 0 or "step" not in frame.columns:
        return "<p><i>Nothing recorded yet.</i></p>"
    at = frame[frame["step"] == step].sort_values("layer")
    if at.empty:
        steps = sorted(int(s) for s in frame["step"].unique())
        shown = ", ".join(map(str, steps[:12])) + (" …" if len(steps) > 12 else "")
        return f"<p><i>No rows recorded at step {step}; recorded steps: {escape(shown)}.</i></p>"
    columns = [("grad_norm", "#1f77b4"), ("delta_norm", "#ff7f0e")]
    spans = {c: _span(pd.to_numeric(at[c], errors="coerce").to_numpy(float))
             for c, _ in columns if c in at.columns}
    extra = [c for c in ("update_ratio", "saturated_frac", "dead_frac", "nonfinite")
             if c in at.columns and pd.to_numeric(at[c], errors="coerce").notna().any()]
    head = ["layer", "name", "shape", *(f"{c} (log bar)" for c in spans), *extra]
    rows = []
    for _, row in at.iterrows():
        shape = (f"{int(row['fan_in'])}→{int(row['fan_out'])}"
                 if {"fan_in", "fan_out"} <= set(at.columns) and pd.notna(row["fan_in"]) else "")
        cells = [str(int(row["layer"])), escape(str(row.get("name", ""))), shape]
        for c, colour in columns:
            if c in spans:
                v = float(row[c])
                cells.append(f"{v:.2e} {log_bar_html(v, *spans[c], colour)}")
        cells += ["" if pd.isna(row[c]) else f"{float(row[c]):.3g}" for c in extra]
        rows.append("<tr>" + "".join(f'<td style="{CELL}">{x}</td>' for x in cells) + "</tr>")
    header = "".join(f'<th style="{CELL};background:#f4f4f4">{escape(h)}</th>' for h in head)
    decades = {c: hi - lo for c, (lo, hi) in spans.items()}
    note = ", ".join(f"{c} spans {d:.1f} decades" for c, d in decades.items())
    return (f'<table style="{STYLE}"><caption style="text-align:left">Per-layer gradients at '
            f"step {step} (layer 0 = input side; bars on a log scale: {note})</caption>"
            f"<thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
