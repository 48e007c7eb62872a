"""The per-layer text table of `gradscope run`: grad_norm and delta_norm with log-scale bars."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gradscope.sweeps.run import RunResult

MAX_CHARS_PER_DECADE = 2.0
BAR_WIDTH = 30


def log_bar(value: float, top: float, per_decade: float = MAX_CHARS_PER_DECADE) -> str:
    """A bar whose length falls by `per_decade` characters per factor of 10 below `top`."""
    if not math.isfinite(value):
        return "non-finite"
    if value <= 0:
        return "(zero)"
    decades_below = math.log10(top) - math.log10(value) if top > 0 else 0.0
    return "#" * max(1, BAR_WIDTH - int(round(decades_below * per_decade)))


def layer_table(layers: pd.DataFrame, step: int = 0) -> str:
    """The rows of `layers` at `step`, one line per weight layer, input layer first."""
    at = layers[layers["step"] == step].sort_values("layer")
    if at.empty:
        steps = sorted(int(s) for s in layers["step"].unique()) if len(layers) else []
        return f"(no rows recorded at step {step}; recorded steps: {steps})"
    lines = [f"{'layer':>5}  {'name':<10} {'shape':>9}  {'grad_norm':>9}  "
             f"{'':<{BAR_WIDTH}}  {'delta_norm':>10}"]
    columns = ("grad_norm", "delta_norm")
    spans = {c: _span(at[c]) for c in columns}
    span = max(hi - lo for lo, hi in spans.values())
    per_decade = min(MAX_CHARS_PER_DECADE, (BAR_WIDTH - 1) / span) if span > 0 else 2.0
    bars = {c: [log_bar(v, 10 ** spans[c][1], per_decade) for v in at[c]] for c in columns}
    for i, row in enumerate(at.itertuples(index=False)):
        shape = f"{row.fan_in}→{row.fan_out}"
        lines.append(
            f"{row.layer:>5}  {str(row.name)[:10]:<10} {shape:>9}  {row.grad_norm:>9.2e}  "
            f"{bars['grad_norm'][i]:<{BAR_WIDTH}}  {row.delta_norm:>10.2e}  "
            f"{bars['delta_norm'][i]}")
    lines.append(f"(bars: log scale, one # per factor of {10 ** (1 / per_decade):.3g}; the "
                 f"longest bar is the column's largest value)")
    return "\n".join(lines)


def _span(values: pd.Series) -> tuple[float, float]:
    """log10 of the smallest and largest finite positive value (0, 0 if none)."""
    v = values.to_numpy(dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return (float(np.log10(v.min())), float(np.log10(v.max()))) if len(v) else (0.0, 0.0)


def run_report(result: RunResult, step: int = 0) -> str:
    """Everything `gradscope run` prints: header, layer table, outcome and diagnosis."""
    cfg, s = result.config, result.summary
    head = (f"run {result.run_id}: {cfg.label()}, {cfg.optimizer} lr {cfg.lr:g}, "
            f"{cfg.steps} steps on {cfg.dataset}")
    if s["status"] == "error":
        return f"{head}\nstatus: error\n{s['findings']}"
    outcome = f"status: {s['status']}"
    if s["first_nonfinite_step"] is not None:
        outcome += f" (first non-finite step {s['first_nonfinite_step']})"
    if math.isfinite(s["final_loss"]):
        outcome += f", final loss {s['final_loss']:.4g}"
    if math.isfinite(s["final_accuracy"]):
        outcome += f", accuracy {s['final_accuracy']:.1%}"
    ratios = (f"delta_ratio_log10 {s['delta_ratio_log10']:+.2f}, "
              f"grad_ratio_log10 {s['grad_ratio_log10']:+.2f}")
    return "\n".join([
        head, f"per-layer gradients at step {step} (layer 0 = nearest the input):",
        layer_table(result.layers, step), outcome + f"; {ratios}",
        f"diagnosis: {s['diagnosis']}", s["findings"],
    ])
