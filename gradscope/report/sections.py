"""The sections of a report as document blocks: the headline, errors, the per-configuration
table, what was run, and the per-run findings (collapsed)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from gradscope.analysis.aggregates import compare_table
from gradscope.analysis.configurations import (
    combos,
    fmt_value,
    label,
    level_key,
    run_params,
    select,
    varying_params,
)
from gradscope.analysis.frames import Frames
from gradscope.analysis.measured_vs_theory import compare_configs, configs_from_runs
from gradscope.analysis.summary import headline, plural, run_labels, worst_line
from gradscope.report.document import Block, Details, Heading, Para, Table

RUN_NUMBERS = ["delta_ratio_log10", "grad_ratio_log10", "final_loss", "final_accuracy"]


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


def description(frames: Frames) -> str:
    """The config's `description` (manifest.json), or ''."""
    config = frames.manifest.get("config")
    for source in (config if isinstance(config, Mapping) else {}, frames.manifest):
        if isinstance(source.get("description"), str) and source["description"].strip():
            return source["description"].strip()
    return ""


def headline_blocks(frames: Frames) -> list[Block]:
    """The config's description, the one-sentence summary and the worst run."""
    blocks: list[Block] = []
    if description(frames):
        blocks.append(Para(description(frames)))
    blocks.append(Para(headline(frames.runs), lead=True))
    worst = worst_line(frames.runs)
    if worst:
        blocks.append(Para(worst))
    return blocks


def _errors(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"].astype(str) == "error"]


def error_section(frames: Frames) -> list[Block]:
    """The runs that stopped with an error, one row per distinct message (none: no section)."""
    runs = frames.runs
    failed = _errors(runs)
    if failed.empty:
        return []
    text = (failed["findings"].astype(str).where(failed["findings"].notna(), "(no message)")
            if "findings" in runs.columns else pd.Series("(no message)", index=failed.index))
    keys = varying_params(runs)
    rows = []
    for message, group in failed.groupby(text, sort=False):
        names = [label({k: r[k] for k in keys}, keys) for _, r in group.iterrows()] if keys \
            else []
        shown = ", ".join(dict.fromkeys(names[:4])) + (" …" if len(names) > 4 else "")
        rows.append((str(len(group)), shown or "all runs", str(message)))
    ok = len(runs) - len(failed)
    return [Heading(2, "Errors"),
            Para(f"{plural(len(failed), 'run')} of {len(runs)} stopped with an error"
                 + (f"; the rest of this report describes the other {ok}." if ok else
                    "; no run finished, so there is nothing else to report.")),
            Table(("runs", "configurations", "error"), tuple(rows))]


def _spread(values: pd.Series) -> str:
    """'mean ± half-range' of the finite values ('' if none; the mean alone for one value)."""
    v = pd.to_numeric(values, errors="coerce")
    v = v[v.map(lambda x: math.isfinite(x))]
    if v.empty:
        return ""
    if len(v) == 1 or v.max() == v.min():
        return f"{v.mean():+.2f}"
    return f"{v.mean():+.2f}\u00a0±\u00a0{(v.max() - v.min()) / 2:.2f}"  # never split


def _diagnoses(labels: pd.Series) -> str:
    counts = labels.value_counts()
    if len(counts) == 1:
        return f"{counts.index[0]} ×{counts.iloc[0]}" if counts.iloc[0] > 1 else counts.index[0]
    return ", ".join(f"{d} {n}" for d, n in counts.items())


def _ratio_cell(measured: float, predicted: float, rel: float, note: str = "") -> str:
    if not (isinstance(measured, float) and math.isfinite(measured)):
        return ""
    text = f"{measured:.3g}"
    if isinstance(predicted, float) and math.isfinite(predicted):
        text += f" / {predicted:.3g}"
        if isinstance(rel, float) and math.isfinite(rel):
            text += f" ({rel:+.0%})"
    elif note:
        text += f" / {note}"  # e.g. "no prediction: activation unknown"
    return text


def configuration_section(frames: Frames) -> list[Block]:
    """One row per configuration, seeds collapsed: diagnoses, mean ± half-range of the
    ratios, the measured against the predicted per-layer ratio, final loss and accuracy."""
    runs = frames.runs
    keys = varying_params(runs)
    compare = pd.DataFrame()
    layers = frames.layers
    if layers is not None and {"run_id", "step", "layer", "delta_norm", "fan_in",
                               "fan_out"} <= set(layers.columns):
        compare = (configs_from_runs(compare_table(frames.layer_summary, runs), runs, keys)
                   if frames.layer_summary is not None else compare_configs(layers, runs, keys))
    header = ["configuration", "runs", "diagnosis", "log10 ‖δ‖ ratio", "log10 ‖∂W‖ ratio",
              "per-layer ‖δ‖² ratio: measured / theory", "final loss", "final accuracy"]
    rows = []
    for vals in combos(runs, keys):
        sub = select(runs, keys, vals)
        name = label(dict(zip(keys, vals, strict=True)), keys) if keys else "all runs"
        theory = select(compare, keys, vals) if len(compare) else compare
        ratio = ""
        if len(theory):
            t = theory.iloc[0]
            ratio = _ratio_cell(float(t["measured_ratio"]), float(t["predicted_ratio"]),
                                float(t["rel_error"]), str(t.get("theory", "") or ""))
        loss = pd.to_numeric(sub.get("final_loss", pd.Series(dtype=float)), errors="coerce")
        acc = pd.to_numeric(sub.get("final_accuracy", pd.Series(dtype=float)),
                            errors="coerce")
        rows.append((name, str(len(sub)), _diagnoses(run_labels(sub)),
            _spread(sub.get("delta_ratio_log10", pd.Series(dtype=float))),
            _spread(sub.get("grad_ratio_log10", pd.Series(dtype=float))),
            ratio, cell(float(loss.mean())) if loss.notna().any() else "",
            f"{acc.mean():.0%}" if acc.notna().any() else ""))
    seeds = runs["seed"].nunique() if "seed" in runs.columns else 1
    return [
        Heading(2, "Per configuration"),
        Para(f"One row per configuration ({plural(seeds, 'seed')} each). The ratios are log10 "
             "of layer 0's gradient over the last layer's at step 0 (0 = no decay, −k = k "
             "orders of magnitude lost on the way to the input), mean ± half the range over "
             "seeds; δ = ∂L/∂z is the back-propagated signal, ∂W the weight gradient. The "
             "per-layer ratio is the geometric mean over the hidden layers of "
             "‖δ_l‖²/‖δ_l+1‖² (< 1 vanishing, > 1 exploding) against mean-field theory "
             "(Poole et al. 2016; Schoenholz et al. 2017), which assumes wide layers: expect "
             "agreement within a few percent at width ≥ 500; blank where the theory does not "
             "cover the configuration."),
        Table(tuple(header), tuple(rows)),
    ]


def setup_section(frames: Frames, shown_path: str) -> list[Block]:
    """What was run: counts, the varying parameters, the fixed ones, versions and machine."""
    runs = frames.runs
    params = run_params(runs)
    varying = varying_params(runs)
    n_configs = len(runs[varying].drop_duplicates()) if varying else 1
    seeds = runs["seed"].nunique() if "seed" in runs.columns else 1
    status = ", ".join(f"{n} {s}" for s, n in runs["status"].astype(str).value_counts().items())
    blocks: list[Block] = [
        Heading(2, "What was run"),
        Para(f"Sweep {sweep_name(frames, shown_path)}: {plural(len(runs), 'run')} "
             f"({plural(n_configs, 'configuration')} × {plural(seeds, 'seed')}); status: "
             f"{status or 'none'}."),
    ]
    rows, fixed = [], []
    for p in params:
        values = sorted(runs[p].drop_duplicates().tolist(), key=lambda v, p=p: level_key(p, v))
        if p in varying or (p == "seed" and len(values) > 1):
            rows.append((p, ", ".join(fmt_value(v) for v in values)))
        else:
            fixed.append(f"{p} {fmt_value(values[0])}" if values else p)
    if rows:
        blocks.append(Table(("varies", "values"), tuple(rows)))
    if fixed:
        blocks.append(Para("Fixed: " + ", ".join(fixed) + "."))
    manifest = frames.manifest
    when = [f"{k}: {manifest[k]}" for k in ("start", "end", "started", "finished")
            if manifest.get(k)]
    versions = manifest.get("versions")
    if isinstance(versions, Mapping):
        when.append("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()
                                             if str(v).strip()))
    if when:
        blocks.append(Para("; ".join(when) + "."))
    machine = manifest_extra(manifest)
    if machine:
        blocks.append(Para(machine))
    return blocks


def _run_rows(runs: pd.DataFrame, subset: pd.DataFrame,
              columns: list[str]) -> tuple[tuple[str, ...], ...]:
    """One row per run of `subset`, labelled by the parameters that vary over all `runs`."""
    keys = varying_params(runs, include_seed=True)
    ordered = subset
    if keys:
        order = sorted(range(len(subset)), key=lambda i: tuple(
            level_key(k, subset.iloc[i][k]) for k in keys))
        ordered = subset.iloc[order]
    return tuple(
        (str(r["run_id"]), label({k: r[k] for k in keys}, [k for k in keys if k != "seed"]),
         *([fmt_value(r["seed"])] if "seed" in keys else []),
         *(cell(r[c]) for c in columns))
        for _, r in ordered.iterrows()
    )


def _run_header(runs: pd.DataFrame, columns: list[str]) -> tuple[str, ...]:
    seed = ["seed"] if "seed" in varying_params(runs, include_seed=True) else []
    return ("run_id", "configuration", *seed, *columns)


def findings_section(frames: Frames) -> list[Block]:
    """Every run with its numbers and its one-sentence finding, collapsed in the HTML page;
    then the diverged runs with their first non-finite step."""
    runs = frames.runs
    columns = ["diagnosis"] + [c for c in RUN_NUMBERS if c in runs.columns] + (
        ["findings"] if "findings" in runs.columns else [])
    blocks: list[Block] = [Heading(2, "Per-run findings"), Details(
        f"Show all {plural(len(runs), 'run')} with their findings",
        (Table(_run_header(runs, columns), _run_rows(runs, runs, columns)),))]
    diverged = runs[runs["status"].astype(str) == "diverged"]
    if not diverged.empty:
        cols = [c for c in ("first_nonfinite_step", "findings") if c in runs.columns]
        blocks += [Heading(3, "Diverged runs"),
                   Para(f"{plural(len(diverged), 'run')} produced a non-finite loss or gradient; "
                        "training stopped at the first non-finite step."),
                   Table(_run_header(runs, cols), _run_rows(runs, diverged, cols))]
    return blocks


def manifest_extra(manifest: Mapping[str, Any]) -> str:
    """The machine line of manifest.json, if any (fields with an empty value left out)."""
    machine = manifest.get("machine")
    if isinstance(machine, Mapping):
        parts = [f"{k} {v}" for k, v in machine.items() if str(v).strip()]
        return "Machine: " + ", ".join(parts) + "." if parts else ""
    return ""
