"""Measured against predicted: per-layer ‖δ‖² ratios at step 0 next to the mean-field theory.

For one run, the measured per-layer ratio is the geometric mean over its `depth` hidden Dense
layers of ‖δ_l‖²/‖δ_{l+1}‖² at the first recorded step (δ_l = dL/dh_l, the recorder's
`delta_norm`; layer `depth` is the output Dense layer), i.e. (‖δ_0‖/‖δ_depth‖)^(2/depth). The
prediction is `gradscope.theory.predict(...).per_layer_ratio` for the run's activation, init
(σ_w²), bias_init (σ_b²; zeros for a runs.csv from before the column existed), width, depth, norm
and residual, with in_dim/out_dim read from layers.csv (fan_in of layer 0, fan_out of the last
layer) and q_in = the run's dataset's `Dataset.q_in` (the mean of x_i² the first Dense layer
sees: 1 for the standardised generated datasets, about 0.23 for digits). Configurations the
theory does not cover (e.g. norm with residual) get no prediction.

A run that does not name `init`, `depth` and `width` (a PyTorch model, hand-written backprop:
`rec.save`, `diagnose --torch`) is predicted from its actual weights: at the first recorded
step each Dense layer's
σ_w² = fan_in·E[W²] = weight_norm²/fan_out and σ_b² = E[b²] = bias_norm²/fan_out (0 where
bias_norm is missing), with the run's `activation` (the one following every hidden layer) and
`q_in` (E[x²] of the data; 1 when not given). Without a known activation there is no
prediction, never a guess: `theory_gap` says why.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from gradscope.core.errors import GradscopeError
from gradscope.core.validation import as_bool
from gradscope.theory import expected_range, predict_layers
from gradscope.theory.predict import cached_predict
from gradscope.training.datasets import DATASETS, load_dataset, target_key

COMPARE_COLUMNS = ("run_id", "depth", "measured_ratio", "predicted_ratio", "rel_error",
                   "measured_log10", "predicted_log10", "theory")
PREDICT_KEYS = ("activation", "init", "bias_init", "width", "depth", "norm", "residual",
                "dataset", "n_samples", "data_seed", "target")


def first_step_rows(layers: pd.DataFrame) -> pd.DataFrame:
    """Each run's rows at its first recorded step (step 0 when it was recorded)."""
    if "run_id" not in layers.columns:
        return layers[layers["step"] == layers["step"].min()]
    return layers[layers["step"] == layers.groupby("run_id")["step"].transform("min")]


def measured_ratio(delta_norms: np.ndarray) -> float:
    """(‖δ_0‖/‖δ_top‖)^(2/(n−1)) for the delta_norm of n Dense layers in layer order; nan if not
    measurable (fewer than 2 layers, or a zero / non-finite end)."""
    d = np.asarray(delta_norms, dtype=float)
    return measured_ratio_ends(d[0], d[-1], len(d)) if len(d) else math.nan


def measured_ratio_ends(first: float, last: float, n: int) -> float:
    """`measured_ratio` from the first and last of n delta_norms (all it depends on)."""
    ends = np.array([first, last], dtype=float)
    if n < 2 or not (np.isfinite(ends).all() and (ends > 0).all()):
        return math.nan
    return float(10.0 ** (2.0 * (math.log10(ends[0]) - math.log10(ends[1])) / (n - 1)))


def _given(params: Mapping[str, Any], key: str) -> bool:
    value = params.get(key) if hasattr(params, "get") else None
    return value is not None and value == value and str(value) not in ("", "nan", "None")


def from_init(params: Mapping[str, Any]) -> bool:
    """Whether the run names what `theory.predict` needs (init, depth, width)."""
    return all(_given(params, k) for k in ("init", "depth", "width"))


def theory_gap(params: Mapping[str, Any] | None, rows: pd.DataFrame | None = None) -> str:
    """Why a run has no prediction from its weights ("" when it has one or uses `init`)."""
    params = params if params is not None else {}
    if from_init(params):
        return ""
    if not _given(params, "activation"):
        return "no prediction: activation unknown"
    if rows is None or not {"weight_norm", "fan_out"} <= set(rows.columns):
        return "no prediction: the weights (weight_norm) were not recorded"
    if "kind" in rows.columns and not (rows["kind"].astype(str) == "dense").all():
        return "no prediction: the theory covers Dense layers only"
    if as_bool(params.get("residual", False)) or str(params.get("norm", "none")) not in (
            "none", "nan", "None", ""):
        return "no prediction from the weights: it covers plain Dense → φ stacks only"
    if len(rows) < 2:
        return "no prediction: fewer than 2 layers"
    if _weight_variances(rows) is None:
        return "no prediction: weight_norm is not finite at the first recorded step"
    return ""


def _weight_variances(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """(σ_w², σ_b²) per layer from first-step rows sorted by layer, None if not finite."""
    fan_out = pd.to_numeric(rows["fan_out"], errors="coerce").to_numpy(float)
    w = pd.to_numeric(rows["weight_norm"], errors="coerce").to_numpy(float)
    b = (pd.to_numeric(rows["bias_norm"], errors="coerce").to_numpy(float)
         if "bias_norm" in rows.columns else np.zeros(len(rows)))
    with np.errstate(all="ignore"):
        sw2, sb2 = w * w / fan_out, np.nan_to_num(b * b / fan_out, nan=0.0)
    if not (np.isfinite(sw2).all() and np.isfinite(sb2).all()):
        return None
    return sw2, sb2


def weights_prediction(params: Mapping[str, Any], rows: pd.DataFrame) -> Any | None:
    """The prediction from a run's actual weights (see the module docstring), or None."""
    if theory_gap(params, rows):
        return None
    rows = first_step_rows(rows).sort_values("layer")
    variances = _weight_variances(rows)
    if variances is None:
        return None
    q_in = float(params["q_in"]) if _given(params, "q_in") else 1.0
    fans = list(zip(rows["fan_in"].astype(int), rows["fan_out"].astype(int), strict=True))
    try:
        return predict_layers(str(params["activation"]), variances[0], variances[1],
                              q_in=q_in, fans=fans)
    except (GradscopeError, KeyError, ValueError, TypeError):
        return None


def _text(params: Mapping[str, Any], key: str, default: str) -> str:
    """A string parameter of a runs.csv row; missing or empty (NaN) gives `default`."""
    value = params.get(key, default)
    return default if value is None or value != value or value == "" else str(value)


@functools.lru_cache(maxsize=64)
def _dataset_q_in(dataset: str, n: int, seed: int, target: str) -> float | None:
    try:
        options = {"target": target_key(target)} if target else {}
        return load_dataset(dataset, n=n, seed=seed, **options).q_in
    except GradscopeError:  # e.g. a csv file or scikit-learn missing where a report is rebuilt
        name = dataset.partition(":")[0]
        standardized = name in DATASETS and DATASETS.get(name).standardize
        return 1.0 if standardized else None


def run_q_in(params: Mapping[str, Any]) -> float | None:
    """q⁰ of a run: the mean of x_i² over its dataset (as `load_dataset` builds it from the run's
    dataset, n_samples, data_seed and target); 1 for a standardised dataset that cannot be read
    here any more, None when it cannot be known (e.g. digits without scikit-learn)."""
    try:
        n, seed = int(params.get("n_samples", 512)), int(params.get("data_seed", 0))
    except (ValueError, TypeError):
        return None
    return _dataset_q_in(_text(params, "dataset", "spirals"), n, seed,
                         _text(params, "target", ""))


def prediction_for(params: Mapping[str, Any], in_dim: int, out_dim: int,
                   rows: pd.DataFrame | None = None) -> Any | None:
    """`theory.predict` for a run's parameters — its σ_w² (init), σ_b² (bias_init) and q⁰ (its
    dataset) — or None when the theory does not cover it; a run without an `init` (a PyTorch
    model, hand-written backprop) is predicted from the weights in `rows` (its layers rows)."""
    if not from_init(params) and rows is not None:
        return weights_prediction(params, rows)
    try:
        q_in = run_q_in(params)
        if q_in is None:
            return None
        return cached_predict(str(params["activation"]), str(params["init"]), None, 0.0,
                              _text(params, "bias_init", "zeros"), int(params["depth"]),
                              int(params["width"]), int(in_dim), int(out_dim), float(q_in),
                              str(params.get("norm", "none") or "none"),
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
    pred = prediction_for(params, *dims, rows=rows) if dims else None
    predicted = pred.per_layer_ratio if pred is not None else math.nan
    depth = len(rows) - 1
    rel = (measured - predicted) / predicted if predicted and math.isfinite(predicted) else math.nan
    return {"depth": depth, "measured_ratio": measured, "predicted_ratio": predicted,
            "rel_error": rel,
            "measured_log10": math.log10(measured) * depth / 2 if measured > 0 else math.nan,
            "predicted_log10": pred.delta_ratio_log10 if pred is not None else math.nan,
            "theory": theory_gap(params, rows) if pred is None else ""}


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
    return configs_from_runs(compare_runs(layers, runs), runs, keys)


def configs_from_runs(per_run: pd.DataFrame, runs: pd.DataFrame,
                      keys: list[str]) -> pd.DataFrame:
    """`compare_configs` from the per-run table of `compare_runs`."""
    cols = [*keys, "runs", "measured_ratio", "predicted_ratio", "rel_error", "theory"]
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
        rows.append((*values, len(sub), m, p, rel, str(sub["theory"].iloc[0])))
    return pd.DataFrame(rows, columns=cols)


PROFILE_COLUMNS = ("run_id", "layer", "predicted_log10", "spread_mean_log10", "spread_lo_log10",
                   "spread_hi_log10", "seeds")


def predicted_profile(layers: pd.DataFrame, runs: pd.DataFrame,
                      keys: list[str] | None = None) -> pd.DataFrame:
    """The predicted log10 delta_norm per layer at the first step, one line per configuration.

    Columns PROFILE_COLUMNS. predicted_log10: the mean-field line; it starts at the output layer
    from the mean over the configuration's seeds of the measured log10 delta_norm there (the
    theory predicts ratios, not the loss gradient's scale) and goes down by ½·log10 of each
    predicted ratio_l, so every seed of a configuration carries the same values.
    spread_mean_log10: the finite-width mean from the same anchor; spread_lo/hi_log10: the range
    that `seeds` seeds are expected to span around it (`theory.finite_width.expected_range`
    times the predicted sd of log10 ‖δ_l‖/‖δ_top‖; one-example law, nan where there is none).
    `keys`: the parameters that tell configurations apart (default: the theory's inputs).
    """
    cols = list(PROFILE_COLUMNS)
    if layers is None or layers.empty or "delta_norm" not in layers.columns:
        return pd.DataFrame(columns=cols)
    keys = [k for k in (keys if keys is not None else PREDICT_KEYS) if k in runs.columns]
    first = first_step_rows(layers).sort_values(["run_id", "layer"])
    params = runs.drop_duplicates("run_id").set_index("run_id")
    top = first.groupby("run_id").tail(1).set_index("run_id")["delta_norm"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        top_log = np.log10(top.where(np.isfinite(top) & (top > 0)))
    run_ids = [r for r in top.index if r in params.index]
    config_of = (params.loc[run_ids, keys].map(str).agg("|".join, axis=1) if keys
                 else pd.Series("", index=run_ids))
    out = []
    for _, members in pd.Series(run_ids, index=config_of.to_numpy()).groupby(level=0):
        ids = list(members)
        rows = first[first["run_id"] == ids[0]]
        line = group_profile(rows, params.loc[ids[0]], top_log.loc[ids], len(ids))
        out += [line.assign(run_id=rid)[cols] for rid in ids] if line is not None else []
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols)


def group_profile(rows: pd.DataFrame, params: Any, top_logs: pd.Series,
                  seeds: int) -> pd.DataFrame | None:
    """The predicted profile of one group of `predicted_profile` (without run_id) from its
    first run's first-step rows sorted by layer, its parameters, and the log10 delta_norm at
    the top layer of every run of the group; None when the theory gives no line."""
    dims = run_dims(rows)
    pred = prediction_for(params, *dims, rows=rows) if dims else None
    anchor = float(top_logs.mean())
    if pred is None or not math.isfinite(anchor) or len(pred.layers) != len(rows) - 1:
        return None
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        steps = 0.5 * np.log10([r.ratio for r in pred.layers])
    values = anchor + np.concatenate([np.cumsum(steps[::-1])[::-1], [0.0]])
    mean, half = _spread_lines(pred, anchor, seeds)
    return pd.DataFrame({"layer": rows["layer"].to_numpy(), "predicted_log10": values,
                         "spread_mean_log10": mean, "spread_lo_log10": mean - half,
                         "spread_hi_log10": mean + half, "seeds": seeds})


def _spread_lines(pred: Any, anchor: float, seeds: int) -> tuple[np.ndarray, np.ndarray]:
    """Per layer (0..depth): the finite-width mean of log10 ‖δ_l‖ from `anchor` at the top and
    half the range `seeds` seeds are expected to span (nan without a finite-width law)."""
    scale = 2.0 * math.log(10.0)
    ln_mean = np.array([r.ln_mean for r in pred.layers], dtype=float)
    ln_var = np.array([r.ln_var for r in pred.layers], dtype=float)
    mean = anchor + np.concatenate([np.cumsum(ln_mean[::-1])[::-1], [0.0]]) / scale
    sd = np.sqrt(np.concatenate([np.cumsum(ln_var[::-1])[::-1], [0.0]])) / scale
    return mean, 0.5 * expected_range(seeds) * sd
