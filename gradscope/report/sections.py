"""The sections of a report (what was run, runs by diagnosis, diverged runs) as document blocks."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from gradscope.analysis.configurations import (
    fmt_value,
    label,
    level_key,
    run_params,
    varying_params,
)
from gradscope.analysis.diagnosis.labels import display_order
from gradscope.analysis.frames import Frames
from gradscope.analysis.measured_vs_theory import compare_configs
from gradscope.report.document import Block, Heading, Para, Table

NUMBERS = ["delta_ratio_log10", "grad_ratio_log10", "final_loss", "final_accuracy"]


def cell(value: object) -> str:
    """A table cell: numbers with 4 significant digits, missing values as an empty cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


def sweep_name(frames: Frames, fallback: str) -> str:
    """The config name of manifest.json, or `fallback` (the directory name)."""
    config = frames.manifest.get("config")
    if isinstance(config, Mapping) and config.get("name"):
        return str(config["name"])
    return fallback


def config_section(frames: Frames, out_name: str) -> list[Block]:
    """What was run: counts, then one row per run parameter with its value(s)."""
    runs = frames.runs
    params = run_params(runs)
    varying = varying_params(runs)
    n_configs = len(runs[varying].drop_duplicates()) if varying else 1
    seeds = runs["seed"].nunique() if "seed" in runs.columns else 1
    status = ", ".join(f"{n} {s}" for s, n in runs["status"].astype(str).value_counts().items())
    blocks: list[Block] = [
        Heading(2, "What was run"),
        Para(f"Sweep {sweep_name(frames, out_name)}: {len(runs)} runs "
             f"({n_configs} configurations × {seeds} seed(s)); status: {status or 'none'}."),
    ]
    manifest = frames.manifest
    when = [f"{k}: {manifest[k]}" for k in ("started", "finished") if manifest.get(k)]
    versions = manifest.get("versions")
    if isinstance(versions, Mapping):
        when.append("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    if when:
        blocks.append(Para("; ".join(when) + "."))
    rows = []
    for p in params:
        values = sorted(runs[p].drop_duplicates().tolist(), key=lambda v, p=p: level_key(p, v))
        kind = "varies" if p in varying or (p == "seed" and len(values) > 1) else "fixed"
        rows.append((p, kind, ", ".join(fmt_value(v) for v in values)))
    blocks.append(Table(("parameter", "role", "value(s)"), tuple(rows)))
    return blocks


def _run_rows(runs: pd.DataFrame, subset: pd.DataFrame,
              columns: list[str]) -> tuple[tuple[str, ...], ...]:
    """One row per run of `subset`, labelled by the parameters that vary over all `runs`."""
    keys = varying_params(runs, include_seed=True)
    ordered = subset.sort_values([*keys, "run_id"], kind="stable") if keys else subset
    return tuple(
        (str(r["run_id"]), label({k: r[k] for k in keys}, [k for k in keys if k != "seed"]),
         *([fmt_value(r["seed"])] if "seed" in keys else []),
         *(cell(r[c]) for c in columns))
        for _, r in ordered.iterrows()
    )


def _run_header(runs: pd.DataFrame, columns: list[str]) -> tuple[str, ...]:
    seed = ["seed"] if "seed" in varying_params(runs, include_seed=True) else []
    return ("run_id", "configuration", *seed, *columns)


def diagnosis_section(frames: Frames) -> list[Block]:
    """Runs by diagnosis: a count table, then the runs of each diagnosis."""
    runs = frames.runs
    found = runs["diagnosis"].astype(str).unique().tolist()
    order = display_order(found)
    keys = varying_params(runs)
    summary = []
    for d in order:
        sub = runs[runs["diagnosis"].astype(str) == d]
        n_conf = len(sub[keys].drop_duplicates()) if keys else 1
        summary.append((d, str(len(sub)), str(n_conf)))
    blocks: list[Block] = [Heading(2, "Runs by diagnosis"),
                           Table(("diagnosis", "runs", "configurations"), tuple(summary))]
    columns = [c for c in NUMBERS if c in runs.columns] + (
        ["findings"] if "findings" in runs.columns else [])
    for d in order:
        sub = runs[runs["diagnosis"].astype(str) == d]
        blocks += [Heading(3, f"{d} ({len(sub)})"),
                   Table(_run_header(runs, columns), _run_rows(runs, sub, columns))]
    return blocks


def comparison_section(frames: Frames) -> list[Block]:
    """Measured against predicted: per configuration the per-layer ‖δ‖² ratio at step 0, the
    mean-field prediction and the relative error (see gradscope.compare)."""
    layers = frames.layers
    blocks: list[Block] = [Heading(2, "Measured vs predicted")]
    needed = {"run_id", "step", "layer", "delta_norm", "fan_in", "fan_out"}
    if layers is None or not needed <= set(layers.columns):
        return blocks + [Para("Not available: layers.csv lacks delta_norm, fan_in or fan_out.",
                              note=True)]
    runs = frames.runs
    keys = varying_params(runs)
    table = compare_configs(layers, runs, keys)
    if table.empty:
        return blocks + [Para("No run has per-layer rows to compare.", note=True)]
    blocks.append(Para(
        "Per-layer ratio = geometric mean over the hidden Dense layers of "
        "‖δ_l‖²/‖δ_l+1‖² at step 0 (δ = dL/dz; < 1 vanishing, > 1 exploding), measured "
        "(geometric mean over seeds) and predicted by mean-field theory (Poole et al. 2016; "
        "Schoenholz et al. 2017) for the same activation, initialisation, widths, depth and "
        "normalisation; relative error = measured / predicted − 1. The theory assumes wide "
        "layers and independent inputs, so expect agreement within a few percent at width "
        "≥ 500 for plain and residual nets; normalised nets fed a 2-feature dataset depart "
        "from it near the input. Blank: the theory does not cover the configuration."))
    if keys:
        order = sorted(range(len(table)), key=lambda i: tuple(
            level_key(k, table.iloc[i][k]) for k in keys))
        table = table.iloc[order]
    rows = []
    for _, r in table.iterrows():
        name = label({k: r[k] for k in keys}, keys) if keys else "all runs"
        rel = r["rel_error"]
        rows.append((name, str(int(r["runs"])), cell(r["measured_ratio"]),
                     cell(r["predicted_ratio"]),
                     f"{rel:+.1%}" if isinstance(rel, float) and math.isfinite(rel) else ""))
    blocks.append(Table(("configuration", "runs", "measured ratio", "predicted ratio",
                         "relative error"), tuple(rows)))
    return blocks


def problem_section(frames: Frames) -> list[Block]:
    """The diverged runs (and the runs that failed with an error, if any)."""
    runs = frames.runs
    blocks: list[Block] = [Heading(2, "Diverged runs")]
    status = runs["status"].astype(str)
    diverged = runs[status == "diverged"]
    cols = [c for c in ("first_nonfinite_step", "findings") if c in runs.columns]
    if diverged.empty:
        blocks.append(Para("No run diverged."))
    else:
        blocks.append(Para(f"{len(diverged)} run(s) produced a non-finite loss or gradient; "
                           "training stopped at the first non-finite step."))
        blocks.append(Table(_run_header(runs, cols), _run_rows(runs, diverged, cols)))
    failed = runs[status == "error"]
    if not failed.empty:
        cols = [c for c in ("findings",) if c in runs.columns]
        blocks += [Heading(2, "Failed runs"),
                   Para(f"{len(failed)} run(s) stopped with an error (message in findings)."),
                   Table(_run_header(runs, cols), _run_rows(runs, failed, cols))]
    return blocks


def manifest_extra(manifest: Mapping[str, Any]) -> str:
    """The machine line of manifest.json, if any."""
    machine = manifest.get("machine")
    if isinstance(machine, Mapping):
        return "Machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()) + "."
    return ""
