"""Per-configuration aggregates of a sweep's per-layer and per-step tables, built block by block.

A report never needs every run's rows at once: its plots draw, per configuration, the mean /
min / max over seeds (`GroupStats`), a few representative runs in full, and per-run scalars
that sit next to runs.csv. `summarise_layers`, `summarise_steps` and `summarise_hist` reduce
frames of whole runs (any number of them, in file order) into those aggregates, so the same
code serves a whole table in memory and a table streamed from disk chunk by chunk."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gradscope.analysis.configurations import run_params
from gradscope.analysis.groupstats import GroupStats
from gradscope.analysis.measured_vs_theory import (
    COMPARE_COLUMNS,
    PREDICT_KEYS,
    PROFILE_COLUMNS,
    compare_run,
    group_profile,
    measured_ratio_ends,
    prediction_for,
)

PROFILE_QUANTITIES = ("delta_norm", "grad_norm")
SATURATION_METRICS = ("saturated_frac", "dead_frac", "update_ratio")
MOMENTS = ("first recorded step", "last recorded step")


def _log10(values: pd.Series) -> np.ndarray:
    """log10 for display: zeros and non-finite values become NaN (as `plots.base.log10`)."""
    v = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(v) & (v > 0), np.log10(np.where(v > 0, v, 1.0)), np.nan)


def config_ids(runs: pd.DataFrame) -> pd.Series:
    """Each run's configuration (its run parameters but the seed) as a number, by run_id, and
    the first run of each configuration stands for it in the aggregates."""
    params = [c for c in run_params(runs) if c != "seed"]
    if not params:
        return pd.Series(0, index=runs["run_id"].to_numpy())
    codes = runs.groupby(params, sort=False, dropna=False).ngroup()
    return pd.Series(codes.to_numpy(), index=runs["run_id"].to_numpy())


def _stand_ins(runs: pd.DataFrame, ids: pd.Series) -> dict[int, str]:
    """The run_id that stands for each configuration (its first run in runs.csv)."""
    first = ~pd.Series(ids.to_numpy()).duplicated().to_numpy()
    return dict(zip(ids.to_numpy()[first].tolist(), runs["run_id"].to_numpy()[first].tolist(),
                    strict=True))


def _stats_frame(stats: GroupStats, stand_in: Mapping[int, str], x: str, *,
                 moments: bool = False) -> pd.DataFrame:
    """GroupStats keyed (scope, x) as rows: run_id (the configuration's stand-in run), the
    moment (scope = cfg·2 + moment when `moments`, else scope = cfg), x and the statistics."""
    frame = stats.frame(["scope", x])
    scope = frame.pop("scope").astype(np.int64)
    cfg = scope // 2 if moments else scope
    out = pd.DataFrame({"run_id": cfg.map(stand_in).to_numpy()})
    if moments:
        out["moment"] = np.asarray(MOMENTS, dtype=object)[(scope % 2).to_numpy()]
    return pd.concat([out, frame.reset_index(drop=True)], axis=1)


@dataclass(frozen=True)
class LayerSummary:
    """What a report needs of layers.csv (see the module docstring)."""

    columns: tuple[str, ...]  # the table's header
    present: pd.Index  # run_ids with rows
    per_run: pd.DataFrame  # by run_id: first_step, last_step, n_first, d0, dtop, fan_in0,
    # fan_out_top, level_delta_norm, level_grad_norm
    profile: pd.DataFrame  # run_id (stand-in), layer, {delta,grad}_norm:{mean,min,max,n}
    saturation: pd.DataFrame  # run_id, moment, layer, metric:{mean,...} (deepest runs)
    saturation_any: Mapping[str, bool]  # per metric: a finite value anywhere (deepest runs)
    saturation_peaks: Mapping[str, tuple[float, int, str]]  # col → (value, layer, run_id)
    update_range: tuple[float, float]  # log10 update_ratio min, max at the last step
    rows: pd.DataFrame  # every row of the few runs drawn in full (heatmap)
    exemplars: Mapping[str, pd.DataFrame] = field(default_factory=dict)  # first-step rows
    compared: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # weights-path runs


def _first_last(block: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    by_run = block.groupby("run_id", sort=False)["step"]
    return by_run.transform("min"), by_run.transform("max")


def summarise_layers(blocks: Iterable[pd.DataFrame], columns: Iterable[str],
                     runs: pd.DataFrame, drawable: pd.DataFrame, *,
                     deepest: Iterable[str] = (), caption_deepest: Iterable[str] = (),
                     full_rows: Iterable[str] = ()) -> LayerSummary:
    """Reduce layers.csv, given as frames of whole runs in file order. `runs`: every run (per-run
    scalars, theory); `drawable`: the runs the plots draw; `deepest` / `caption_deepest`: the
    runs of the saturation plot / caption; `full_rows`: runs kept whole (the heatmap)."""
    columns = tuple(columns)
    cfg_of = config_ids(drawable)
    stand_in = _stand_ins(drawable, cfg_of)
    params = runs.drop_duplicates("run_id").set_index("run_id")
    group_key = theory_groups(params)
    by_weights = set(params.index[~_names_init(params)])
    deepest, caption_deepest, full_rows = set(deepest), set(caption_deepest), set(full_rows)
    quantities = [q for q in PROFILE_QUANTITIES if q in columns]
    metrics = [m for m in SATURATION_METRICS if m in columns]
    profile = GroupStats(quantities)
    saturation = GroupStats(metrics)
    sat_any = dict.fromkeys(metrics, False)
    peaks: dict[str, tuple[float, int, str]] = {}
    update = [math.nan, math.nan]
    per_run, kept, present = [], [], []
    exemplars: dict[str, pd.DataFrame] = {}
    compared: dict[str, dict[str, Any]] = {}
    for block in blocks:
        if block.empty:
            continue
        present.append(block["run_id"].drop_duplicates())
        first_step, last_step = _first_last(block)
        first = block[block["step"] == first_step]
        per_run.append(_run_scalars(block, first, quantities))
        _exemplars(first, params, group_key, by_weights, exemplars, compared)
        kept.append(block[block["run_id"].isin(full_rows)])
        mine = first[first["run_id"].isin(cfg_of.index)]
        if quantities and len(mine):
            profile.add(pd.DataFrame({"cfg": mine["run_id"].map(cfg_of).to_numpy(),
                                      "layer": mine["layer"].to_numpy()}),
                        np.column_stack([_log10(mine[q]) for q in quantities]))
        if metrics:
            _saturation(block, first_step, last_step, metrics, cfg_of, deepest, caption_deepest,
                        saturation, sat_any, peaks, update)
    scalars = (pd.concat(per_run) if per_run else pd.DataFrame(
        columns=["first_step", "last_step", "n_first", "d0", "dtop", "fan_in0", "fan_out_top"]))
    return LayerSummary(
        columns=columns,
        present=pd.Index(pd.concat(present).to_numpy() if present else [], dtype=object),
        per_run=scalars,
        profile=_stats_frame(profile, stand_in, "layer"),
        saturation=_stats_frame(saturation, stand_in, "layer", moments=True),
        saturation_any=sat_any, saturation_peaks=peaks, update_range=(update[0], update[1]),
        rows=pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=columns),
        exemplars=exemplars, compared=compared)


def _run_scalars(block: pd.DataFrame, first: pd.DataFrame,
                 quantities: list[str]) -> pd.DataFrame:
    """Per run of a block: its first and last step and what its first-step rows say."""
    by_run = block.groupby("run_id", sort=False)["step"]
    out = pd.DataFrame({"first_step": by_run.min(), "last_step": by_run.max()})
    ordered = first.sort_values(["run_id", "layer"], kind="stable")
    grouped = ordered.groupby("run_id", sort=False)
    out["n_first"] = grouped.size()
    for name, col, pick in (("d0", "delta_norm", "first"), ("dtop", "delta_norm", "last"),
                            ("fan_in0", "fan_in", "first"), ("fan_out_top", "fan_out", "last")):
        if col in ordered.columns:
            out[name] = grouped[col].nth(0 if pick == "first" else -1).set_axis(
                ordered["run_id"].drop_duplicates().to_numpy())
        else:
            out[name] = np.nan
    for q in quantities:
        out[f"level_{q}"] = pd.Series(_log10(first[q]), index=first.index).groupby(
            first["run_id"].to_numpy()).max()
    return out


def _names_init(params: pd.DataFrame) -> np.ndarray:
    """`measured_vs_theory.from_init` of every run at once: init, depth and width given."""
    given = np.ones(len(params), dtype=bool)
    for key in ("init", "depth", "width"):
        if key not in params.columns:
            return np.zeros(len(params), dtype=bool)
        col = params[key]
        given &= (col.notna() & ~col.astype(str).isin(["", "nan", "None"])).to_numpy()
    return given


def theory_groups(params: pd.DataFrame) -> pd.Series:
    """Each run's group in `predicted_profile` (its PREDICT_KEYS as text), by run_id."""
    keys = [k for k in PREDICT_KEYS if k in params.columns]
    if not keys:
        return pd.Series("", index=params.index)
    text = params[keys].map(str).astype(object)
    joined = text[keys[0]]
    for key in keys[1:]:
        joined = joined + "|" + text[key]
    return joined


def _exemplars(first: pd.DataFrame, params: pd.DataFrame, group_key: pd.Series,
               by_weights: set, exemplars: dict[str, pd.DataFrame],
               compared: dict[str, dict[str, Any]]) -> None:
    """Keep the first-step rows of the first run (by run_id) of each theory group, and compare
    the runs predicted from their weights (no init) with the theory now, from their rows."""
    ids = first["run_id"].drop_duplicates()
    ids = ids[ids.isin(params.index)]
    for run_id, key in zip(ids.tolist(), ids.map(group_key).tolist(), strict=True):
        held = exemplars.get(key)
        if held is None or str(run_id) < str(held["run_id"].iloc[0]):
            exemplars[key] = first[first["run_id"] == run_id].sort_values("layer")
        if run_id in by_weights:
            compared[run_id] = compare_run(first[first["run_id"] == run_id], params.loc[run_id])


def predicted_table(summary: LayerSummary, runs: pd.DataFrame,
                    drawable: pd.DataFrame) -> pd.DataFrame | None:
    """`measured_vs_theory.predicted_profile` from a LayerSummary, with the rows of one run per
    configuration of `drawable` (every run of a group carries the same line); None when
    layers.csv lacks the columns it needs."""
    if not {"run_id", "step", "layer", "delta_norm", "fan_in", "fan_out"} <= set(
            summary.columns):
        return None
    cols = list(PROFILE_COLUMNS)
    params = runs.drop_duplicates("run_id").set_index("run_id")
    scalars = summary.per_run.sort_index()
    top = scalars["dtop"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        top_log = np.log10(top.where(np.isfinite(top) & (top > 0)))
    run_ids = [r for r in scalars.index if r in params.index]
    config_of = theory_groups(params).loc[run_ids]
    shown = set(_stand_ins(drawable, config_ids(drawable)).values())
    out = []
    for key, members in pd.Series(run_ids, index=config_of.to_numpy()).groupby(level=0):
        ids = list(members)
        line = group_profile(summary.exemplars[key], params.loc[ids[0]], top_log.loc[ids],
                             len(ids))
        if line is not None:
            out += [line.assign(run_id=rid)[cols] for rid in ids if rid in shown]
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols)


def _saturation(block: pd.DataFrame, first_step: pd.Series, last_step: pd.Series,
                metrics: list[str], cfg_of: pd.Series, deepest: set, caption_deepest: set,
                stats: GroupStats, found: dict[str, bool],
                peaks: dict[str, tuple[float, int, str]], update: list[float]) -> None:
    """Feed the saturation plot (deepest runs, first and last step) and its caption."""
    values = {m: (_log10(block[m]) if m == "update_ratio"
                  else pd.to_numeric(block[m], errors="coerce").to_numpy(float))
              for m in metrics}
    mine = block["run_id"].isin(deepest).to_numpy()
    for m in metrics:
        found[m] = found[m] or bool(np.isfinite(values[m][mine]).any())
    for k, mask in enumerate(((block["step"] == first_step).to_numpy(),
                              (block["step"] == last_step).to_numpy())):
        sel = mask & mine & block["run_id"].isin(cfg_of.index).to_numpy()
        if sel.any():
            cfg = block["run_id"][sel].map(cfg_of).to_numpy(np.int64)
            stats.add(pd.DataFrame({"scope": 2 * cfg + k,
                                    "layer": block["layer"].to_numpy()[sel]}),
                      np.column_stack([values[m][sel] for m in metrics]))
    last = (block["step"] == last_step).to_numpy() & block["run_id"].isin(
        caption_deepest).to_numpy()
    for col in ("saturated_frac", "dead_frac"):
        if col in metrics:
            v = np.where(np.isfinite(values[col][last]), values[col][last], np.nan)
            if np.isfinite(v).any():
                i = int(np.nanargmax(v))
                if col not in peaks or v[i] > peaks[col][0]:
                    rows = block[last]
                    peaks[col] = (float(rows[col].iloc[i]), int(rows["layer"].iloc[i]),
                                  str(rows["run_id"].iloc[i]))
    if "update_ratio" in metrics:
        r = values["update_ratio"][last]
        r = r[~np.isnan(r)]
        if len(r):
            update[0] = float(r.min()) if math.isnan(update[0]) else min(update[0], r.min())
            update[1] = float(r.max()) if math.isnan(update[1]) else max(update[1], r.max())


def compare_table(summary: LayerSummary, runs: pd.DataFrame) -> pd.DataFrame:
    """`measured_vs_theory.compare_runs` from a LayerSummary: one row per run with rows."""
    params = runs.drop_duplicates("run_id").set_index("run_id")
    scalars = summary.per_run.sort_index()
    out = []
    for run_id, s in scalars.iterrows():
        if run_id not in params.index:
            continue
        if run_id in summary.compared:
            out.append({"run_id": run_id, **summary.compared[run_id]})
            continue
        p = params.loc[run_id]
        n = int(s["n_first"])
        measured = measured_ratio_ends(float(s["d0"]), float(s["dtop"]), n)
        dims = pd.to_numeric(pd.Series([s["fan_in0"], s["fan_out_top"]]),
                             errors="coerce").to_numpy(float)
        pred = (prediction_for(p, int(dims[0]), int(dims[1])) if np.isfinite(dims).all()
                else None)
        predicted = pred.per_layer_ratio if pred is not None else math.nan
        depth = n - 1
        rel = ((measured - predicted) / predicted if predicted and math.isfinite(predicted)
               else math.nan)
        out.append({"run_id": run_id, "depth": depth, "measured_ratio": measured,
                    "predicted_ratio": predicted, "rel_error": rel,
                    "measured_log10": (math.log10(measured) * depth / 2 if measured > 0
                                       else math.nan),
                    "predicted_log10": pred.delta_ratio_log10 if pred is not None else math.nan,
                    "theory": ""})
    return pd.DataFrame(out, columns=list(COMPARE_COLUMNS))


@dataclass(frozen=True)
class StepSummary:
    """What a report needs of steps.csv: the training curves per configuration."""

    columns: tuple[str, ...]
    present: pd.Index
    curves: pd.DataFrame  # run_id (stand-in), step, loss:{mean,min,max,n}, accuracy:...
    window: int
    loss_finite: bool
    accuracy_finite: bool
    loss_positive: bool  # every smoothed loss > 0
    loss_span: tuple[float, float]  # smoothed loss min, max


def summarise_steps(blocks: Iterable[pd.DataFrame], columns: Iterable[str],
                    drawable: pd.DataFrame, window: int) -> StepSummary:
    """Reduce steps.csv (frames of whole runs in file order) for the curves of `drawable` runs:
    the loss and accuracy, non-finite values dropped, as a running mean over `window` steps per
    run (`plots.curves.smoothing_window`), then mean / min / max over each configuration."""
    columns = tuple(columns)
    cfg_of = config_ids(drawable)
    stand_in = _stand_ins(drawable, cfg_of)
    metrics = [m for m in ("loss", "accuracy") if m in columns]  # no loss: the curves skip
    stats = GroupStats(metrics)
    present, loss_ok, acc_ok, positive = [], False, False, True
    span = [math.inf, -math.inf]
    for block in blocks:
        block = block[block["run_id"].isin(cfg_of.index)]
        if block.empty:
            continue
        present.append(block["run_id"].drop_duplicates())
        if "loss" not in metrics:
            continue
        frame = pd.DataFrame({"run_id": block["run_id"].to_numpy(),
                              "step": block["step"].to_numpy()})
        for m in metrics:
            v = pd.to_numeric(block[m], errors="coerce").astype(float).to_numpy()
            frame[m] = np.where(np.isinf(v), np.nan, v)
        loss_ok = loss_ok or bool(np.isfinite(frame["loss"]).any())
        if "accuracy" in metrics:
            acc_ok = acc_ok or bool(np.isfinite(frame["accuracy"]).any())
        if window > 1:
            frame = frame.sort_values(["run_id", "step"])
            for m in metrics:
                frame[m] = (frame.groupby("run_id")[m]
                            .transform(lambda v: v.rolling(window, min_periods=1).mean()))
        loss = frame["loss"].dropna()
        if len(loss):
            positive = positive and bool((loss > 0).all())
            span = [min(span[0], float(loss.min())), max(span[1], float(loss.max()))]
        stats.add(pd.DataFrame({"cfg": frame["run_id"].map(cfg_of).to_numpy(),
                                "step": frame["step"].to_numpy()}),
                  frame[metrics].to_numpy(float))
    curves = _stats_frame(stats, stand_in, "step")
    return StepSummary(columns, pd.Index(pd.concat(present).to_numpy() if present else [],
                                         dtype=object), curves, window, loss_ok, acc_ok,
                       positive, (span[0], span[1]))


@dataclass(frozen=True)
class HistSummary:
    """What a report needs of hist.csv: the quantities, the deepest layer, the drawn runs."""

    columns: tuple[str, ...]
    present: pd.Index
    quantities: tuple[str, ...]
    max_layer: float
    rows: pd.DataFrame  # every row of the runs drawn


def summarise_hist(blocks: Iterable[pd.DataFrame], columns: Iterable[str],
                   full_rows: Iterable[str]) -> HistSummary:
    """Reduce hist.csv (frames of whole runs) to the rows of the runs `full_rows` and totals."""
    columns, full_rows = tuple(columns), set(full_rows)
    present, kept, quantities = [], [], set()
    max_layer = -math.inf
    for block in blocks:
        if block.empty:
            continue
        present.append(block["run_id"].drop_duplicates())
        if "quantity" in block.columns:  # without it or layer, the histograms skip
            quantities.update(block["quantity"].astype(str).unique().tolist())
        if "layer" in block.columns:
            max_layer = max(max_layer, float(pd.to_numeric(block["layer"]).max()))
        kept.append(block[block["run_id"].isin(full_rows)])
    return HistSummary(columns, pd.Index(pd.concat(present).to_numpy() if present else [],
                                         dtype=object), tuple(sorted(quantities)),
                       max_layer if math.isfinite(max_layer) else math.nan,
                       pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(
                           columns=columns))
