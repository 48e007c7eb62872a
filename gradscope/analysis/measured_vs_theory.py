"""Measured against predicted: per-layer ‖δ‖² ratios at step 0 next to the mean-field theory.

For one run, the measured per-layer ratio is the geometric mean over its `depth` hidden Dense
layers of ‖δ_l‖²/‖δ_{l+1}‖² at the first recorded step (δ_l = dL/dh_l, the recorder's
`delta_norm`; layer `depth` is the output Dense layer), i.e. (‖δ_0‖/‖δ_depth‖)^(2/depth). The
prediction is `gradscope.theory.predict(...).per_layer_ratio` for the run's activation, init,
width, depth, norm and residual, with in_dim/out_dim read from layers.csv (fan_in of layer 0,
fan_out of the last layer) and q_in = 1 (datasets are standardised). Configurations the theory
does not cover (e.g. norm with residual) get no prediction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gradscope.core.errors import GradscopeError
from gradscope.core.validation import as_bool
from gradscope.theory.predict import cached_predict

COMPARE_COLUMNS = ("run_id", "depth", "measured_ratio", "predicted_ratio", "rel_error",
                   "measured_log10", "predicted_log10")
PREDICT_KEYS = ("activation", "init", "width", "depth", "norm", "residual")


def first_step_rows(layers: pd.DataFrame) -> pd.DataFrame:
    """Each run's rows at its first recorded step (step 0 when it was recorded)."""
    if "run_id" not in layers.columns:
        return layers[layers["step"] == layers["step"].min()]
    return layers[layers["step"] == layers.groupby("run_id")["step"].transform("min")]


def measured_ratio(delta_norms: np.ndarray) -> float:
    """(‖δ_0‖/‖δ_top‖)^(2/(n−1)) for the delta_norm of n Dense layers in layer order; nan if not
    measurable (fewer than 2 layers, or a zero / non-finite end)."""
    d = np.asarray(delta_norms, dtype=float)
    if len(d) < 2 or not (np.isfinite(d[[0, -1]]).all() and (d[[0, -1]] > 0).all()):
        return math.nan
    return float(10.0 ** (2.0 * (math.log10(d[0]) - math.log10(d[-1])) / (len(d) - 1)))


def prediction_for(params: Mapping[str, Any], in_dim: int, out_dim: int) -> Any | None:
    """`theory.predict` for a run's parameters (cached per distinct parameters), or None when
    the theory does not cover it."""
    try:
        return cached_predict(str(params["activation"]), str(params["init"]), None, 0.0,
                              int(params["depth"]), int(params["width"]), int(in_dim),
                              int(out_dim), 1.0, str(params.get("norm", "none") or "none"),
                              as_bool(params.get("residual", False)))
    except (GradscopeError, KeyError, ValueError, TypeError):
        return None


def run_dims(rows: pd.DataFrame) -> tuple[int, int] | None:
    """(in_dim, out_dim) of one run from its first-step rows sorted by layer (None when the
    fans are not recorded)."""
    if rows.empty or not {"fan_in", "fan_out"} <= set(rows.columns):
        return None
    fi, fo = (pd.to_numeric(pd.Series([rows["fan_in"].iloc[0], rows["fan_out"].iloc[-1]]),
                            errors="coerce").to_numpy(float))
    if not (np.isfinite(fi) and np.isfinite(fo)):
        return None
    return int(fi), int(fo)


def compare_run(rows: pd.DataFrame, params: Mapping[str, Any]) -> dict[str, Any]:
    """Measured and predicted per-layer ratio of one run from its layers rows (any steps)."""
    rows = first_step_rows(rows).sort_values("layer")
    measured = measured_ratio(rows["delta_norm"].to_numpy())
    dims = run_dims(rows)
    pred = prediction_for(params, *dims) if dims else None
    predicted = pred.per_layer_ratio if pred is not None else math.nan
    depth = len(rows) - 1
    rel = (measured - predicted) / predicted if predicted and math.isfinite(predicted) else math.nan
    return {"depth": depth, "measured_ratio": measured, "predicted_ratio": predicted,
            "rel_error": rel,
            "measured_log10": math.log10(measured) * depth / 2 if measured > 0 else math.nan,
            "predicted_log10": pred.delta_ratio_log10 if pred is not None else math.nan}


def compare_runs(layers: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run of `runs` found in `layers`: COMPARE_COLUMNS (log10 columns are the
    measured and predicted delta_ratio_log10)."""
    if layers is None or layers.empty or "delta_norm" not in layers.columns:
        return pd.DataFrame(columns=list(COMPARE_COLUMNS))
    params = runs.drop_duplicates("run_id").set_index("run_id")
    first = first_step_rows(layers)
    out = []
    for run_id, rows in first.groupby("run_id", sort=True):
        if run_id in params.index:
            out.append({"run_id": run_id, **compare_run(rows, params.loc[run_id])})
    return pd.DataFrame(out, columns=list(COMPARE_COLUMNS))


def compare_configs(layers: pd.DataFrame, runs: pd.DataFrame,
                    keys: list[str]) -> pd.DataFrame:
    """Per configuration (the values of `keys`): the geometric mean over seeds of the measured
    ratio, the predicted ratio, the relative error and the number of runs."""
    per_run = compare_runs(layers, runs)
    cols = [*keys, "runs", "measured_ratio", "predicted_ratio", "rel_error"]
    if per_run.empty:
        return pd.DataFrame(columns=cols)
    frame = per_run.merge(runs[["run_id", *[k for k in keys if k != "depth"]]], on="run_id")
    frame = frame.assign(log_m=np.log(frame["measured_ratio"].where(
        frame["measured_ratio"] > 0)))
    rows = []
    for values, sub in frame.groupby(keys, sort=False, dropna=False) if keys else [((), frame)]:
        values = values if isinstance(values, tuple) else (values,)
        m = float(np.exp(sub["log_m"].mean()))
        p = float(sub["predicted_ratio"].iloc[0])
        rel = (m - p) / p if math.isfinite(p) and p > 0 else math.nan
        rows.append((*values, len(sub), m, p, rel))
    return pd.DataFrame(rows, columns=cols)


def predicted_profile(layers: pd.DataFrame, runs: pd.DataFrame,
                      keys: list[str] | None = None) -> pd.DataFrame:
    """The predicted log10 delta_norm per layer at the first step, one line per configuration.

    Columns run_id, layer, predicted_log10. The line starts at the output layer from the mean over
    the configuration's seeds of the measured log10 delta_norm there (the theory predicts ratios,
    not the loss gradient's scale) and goes down by ½·log10 of each predicted ratio_l, so every
    seed of a configuration carries the same values. `keys`: the parameters that tell
    configurations apart (default: the theory's inputs).
    """
    cols = ["run_id", "layer", "predicted_log10"]
    if layers is None or layers.empty or "delta_norm" not in layers.columns:
        return pd.DataFrame(columns=cols)
    keys = [k for k in (keys if keys is not None else PREDICT_KEYS) if k in runs.columns]
    first = first_step_rows(layers).sort_values(["run_id", "layer"])
    params = runs.drop_duplicates("run_id").set_index("run_id")
    top = first.groupby("run_id").tail(1).set_index("run_id")["delta_norm"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        top_log = np.log10(top.where(np.isfinite(top) & (top > 0)))
    run_ids = [r for r in top.index if r in params.index]
    config_of = (params.loc[run_ids, keys].astype(str).agg("|".join, axis=1) if keys
                 else pd.Series("", index=run_ids))
    out = []
    for _, members in pd.Series(run_ids, index=config_of.to_numpy()).groupby(level=0):
        ids = list(members)
        rows = first[first["run_id"] == ids[0]]
        dims = run_dims(rows)
        pred = prediction_for(params.loc[ids[0]], *dims) if dims else None
        anchor = float(top_log.loc[ids].mean())
        if pred is None or not math.isfinite(anchor) or len(pred.layers) != len(rows) - 1:
            continue
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            steps = 0.5 * np.log10([r.ratio for r in pred.layers])
        values = anchor + np.concatenate([np.cumsum(steps[::-1])[::-1], [0.0]])
        layer_ids = rows["layer"].to_numpy()
        for rid in ids:
            out.append(pd.DataFrame({"run_id": rid, "layer": layer_ids,
                                     "predicted_log10": values}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols)
