"""The trainability phase diagram: final accuracy over the (σ_w², depth) plane and 6 ξ_c.

Schoenholz et al. (2017): a net of depth L trains only if L ≲ 6 ξ_c, ξ_c the correlation depth
scale (`gradscope.theory.correlation`). A sweep is a phase diagram when one activation is run
over at least three σ_w² (read from each run's `init` for its hidden layers) and three depths;
σ_b² is read from `bias_init` (zeros when absent).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gradscope.core.errors import GradscopeError
from gradscope.nn.bias_init import bias_variance
from gradscope.theory import critical_sigma_w2, predict, sigma_w2_of

XI_FACTOR = 6.0  # trainable depth ≈ 6 ξ_c (Schoenholz et al. 2017, Fig. 5–6)
PHASE_COLUMNS = ("activation", "sigma_w2", "sigma_b2", "depth", "accuracy", "runs")
CURVE_POINTS = 48


def _hidden_variances(row: pd.Series) -> tuple[float, float]:
    width = int(row["width"]) if "width" in row and pd.notna(row["width"]) else 128
    sw2 = sigma_w2_of(str(row["init"]), width, width)
    bias = row.get("bias_init", "zeros")
    sb2 = bias_variance(str(bias) if isinstance(bias, str) and bias else "zeros", width, width)
    return sw2, sb2


def phase_table(runs: pd.DataFrame) -> pd.DataFrame:
    """PHASE_COLUMNS: the mean final_accuracy over seeds per (activation, σ_w², σ_b², depth)
    (a diverged run counts as nan and is left out of the mean; `runs` counts the seeds)."""
    need = {"init", "activation", "depth", "final_accuracy"}
    if runs is None or runs.empty or not need <= set(runs.columns):
        return pd.DataFrame(columns=list(PHASE_COLUMNS))
    try:
        variances = [_hidden_variances(row) for _, row in runs.iterrows()]
    except GradscopeError:
        return pd.DataFrame(columns=list(PHASE_COLUMNS))
    frame = runs.assign(sigma_w2=[v[0] for v in variances], sigma_b2=[v[1] for v in variances],
                        accuracy=pd.to_numeric(runs["final_accuracy"], errors="coerce"))
    keys = ["activation", "sigma_w2", "sigma_b2", "depth"]
    out = frame.groupby(keys, sort=True).agg(accuracy=("accuracy", "mean"),
                                             runs=("accuracy", "size")).reset_index()
    return out[list(PHASE_COLUMNS)]


def is_phase_diagram(table: pd.DataFrame) -> bool:
    """One activation and one σ_b², at least 3 values of σ_w² and of depth, and a finite 6 ξ_c
    at one of them at least (e.g. not ReLU with σ_b² = 0, whose correlations never converge
    to a point the theory can draw a line from)."""
    if not (len(table) > 0 and table["activation"].nunique() == 1
            and table["sigma_b2"].nunique() == 1 and table["sigma_w2"].nunique() >= 3
            and table["depth"].nunique() >= 3):
        return False
    act, sb2 = str(table["activation"].iloc[0]), float(table["sigma_b2"].iloc[0])
    return any(math.isfinite(trainable_depth(act, float(s), sb2))
               for s in table["sigma_w2"].unique())


def xi_c_curve(activation: str, sigma_b2: float, lo: float, hi: float,
               points: int = CURVE_POINTS) -> pd.DataFrame:
    """Columns sigma_w2, xi_c, trainable_depth (= 6 ξ_c) over [lo, hi], with the critical σ_w²
    (ξ_c = ∞) included when it lies inside; ξ_c from `gradscope.theory.predict`."""
    grid = set(np.linspace(lo, hi, points).tolist())
    try:
        crit = critical_sigma_w2(activation, sigma_b2)
    except GradscopeError:
        crit = math.nan
    if lo < crit < hi:  # ξ_c rises steeply near the critical line: sample it finely there
        grid |= set((crit + np.geomspace(1e-3, 0.2, 12) * (hi - lo)).tolist())
        grid |= set((crit - np.geomspace(1e-3, 0.2, 12) * (hi - lo)).tolist())
        grid.add(crit)
    rows = []
    for s in sorted(g for g in grid if lo <= g <= hi):
        depth = math.inf if s == crit else trainable_depth(activation, s, sigma_b2)
        rows.append((s, depth / XI_FACTOR, depth))
    return pd.DataFrame(rows, columns=["sigma_w2", "xi_c", "trainable_depth"])


def trainable_threshold(table: pd.DataFrame) -> float:
    """The accuracy that counts as trained: halfway between the worst and the best cell."""
    acc = table["accuracy"].dropna()
    return float((acc.min() + acc.max()) / 2.0) if len(acc) else math.nan


def trainable_depth(activation: str, sigma_w2: float, sigma_b2: float) -> float:
    """6 ξ_c at (σ_w², σ_b²) (∞ on the critical line, nan where ξ_c is undefined)."""
    xi = predict(activation, sigma_w2=sigma_w2, sigma_b2=sigma_b2, depth=1, width=1).xi_c
    return math.nan if xi is None else XI_FACTOR * xi


def agreement(table: pd.DataFrame) -> dict[str, float]:
    """How well 6 ξ_c separates trained from untrained cells: how many cells lie on the side
    the line predicts (depth < 6 ξ_c ⇔ accuracy ≥ `trainable_threshold`), and the mean
    accuracy inside and outside the line."""
    act, sb2 = str(table["activation"].iloc[0]), float(table["sigma_b2"].iloc[0])
    limit = table["sigma_w2"].map({s: trainable_depth(act, s, sb2)
                                   for s in table["sigma_w2"].unique()})
    inside = table["depth"] < limit
    threshold = trainable_threshold(table)
    trained = table["accuracy"] >= threshold
    known = table["accuracy"].notna()
    return {"cells": int(known.sum()),
            "agree": int(((inside == trained) & known).sum()),
            "threshold": threshold,
            "inside_accuracy": float(table.loc[inside & known, "accuracy"].mean()),
            "outside_accuracy": float(table.loc[~inside & known, "accuracy"].mean())}
