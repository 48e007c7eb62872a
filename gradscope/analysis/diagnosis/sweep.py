"""Diagnose a sweep's tables: every run, then each configuration over its seeds."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gradscope.analysis.configurations import level_key, varying_params
from gradscope.analysis.diagnosis.engine import Diagnosis, diagnose
from gradscope.analysis.diagnosis.labels import severity
from gradscope.analysis.frames import Frames


@dataclass(frozen=True)
class ConfigDiagnosis:
    """One configuration (the varying parameters but the seed) diagnosed over its seeds.

    label: the most common label over the seeds (ties: the more severe); diagnosis: the run with
    that label whose delta_ratio_log10 is the median among them; evidence: medians over seeds.
    """

    params: dict
    run_ids: tuple[str, ...]
    labels: dict[str, int]
    label: str
    diagnosis: Diagnosis
    evidence: dict
    run: dict  # the runs.csv row of the representative run


def _none(value: object) -> object:
    return None if isinstance(value, float) and math.isnan(value) else value


def diagnose_runs(runs: pd.DataFrame, layers: pd.DataFrame | None,
                  steps: pd.DataFrame | None) -> dict[str, Diagnosis]:
    """Diagnose every run of runs.csv with rows in layers.csv (runs that failed are skipped)."""
    if layers is None or layers.empty:
        return {}
    by_run = dict(tuple(layers.groupby("run_id", sort=False)))
    steps_by_run = dict(tuple(steps.groupby("run_id", sort=False))) if steps is not None else {}
    out = {}
    for _, row in runs.iterrows():
        rid = row["run_id"]
        if rid not in by_run or str(row.get("status", "ok")) == "error":
            continue
        nf = _none(row.get("first_nonfinite_step", math.nan))
        out[rid] = diagnose(by_run[rid], steps_by_run.get(rid), row.to_dict(),
                            status=str(row.get("status", "ok")),
                            first_nonfinite_step=None if nf is None else int(nf),
                            final_loss=float(row.get("final_loss", math.nan)),
                            final_accuracy=float(row.get("final_accuracy", math.nan)))
    return out


def _summarise(params: dict, found: list[tuple[str, Diagnosis]],
               rows: pd.DataFrame) -> ConfigDiagnosis:
    counts = Counter(d.label for _, d in found)
    label = min(counts, key=lambda lab: (-counts[lab], severity(lab)))
    same = [(rid, d) for rid, d in found if d.label == label]
    ratios = [d.evidence.get("delta_ratio_log10", math.nan) for _, d in same]
    order = np.argsort([r if math.isfinite(r) else math.inf for r in ratios])
    rep_id, rep = same[int(order[(len(order) - 1) // 2])]
    evidence = {}
    for key, value in rep.evidence.items():
        if isinstance(value, float):
            values = [d.evidence.get(key, math.nan) for _, d in found]
            finite = [v for v in values if isinstance(v, float) and math.isfinite(v)]
            evidence[key] = float(np.median(finite)) if finite else math.nan
        else:
            evidence[key] = value
    row = rows[rows["run_id"] == rep_id].iloc[0].to_dict()
    return ConfigDiagnosis(params, tuple(r for r, _ in found), dict(counts), label, rep,
                           evidence, row)


def diagnose_frames(frames: Frames) -> list[ConfigDiagnosis]:
    """Each configuration of a sweep's tables diagnosed from its runs, layers and steps rows."""
    runs = frames.runs
    per_run = diagnose_runs(runs, frames.layers, frames.steps)
    keys = varying_params(runs)
    groups = runs.groupby(keys, sort=False, dropna=False) if keys else [((), runs)]
    out = []
    for values, sub in groups:
        values = values if isinstance(values, tuple) else (values,)
        found = [(rid, per_run[rid]) for rid in sub["run_id"] if rid in per_run]
        if found:
            out.append(_summarise(dict(zip(keys, values, strict=True)), found, sub))
    return sorted(out, key=lambda c: tuple(level_key(k, c.params[k]) for k in keys))
