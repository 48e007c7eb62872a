"""Plain-text rendering of diagnoses and try-fixes tables for the terminal."""

from __future__ import annotations

import math
from collections.abc import Sequence

from gradscope.analysis.configurations import label
from gradscope.analysis.diagnosis.engine import Diagnosis
from gradscope.analysis.diagnosis.labels import BY_NAME
from gradscope.analysis.diagnosis.remedies import REMEDIES
from gradscope.analysis.diagnosis.sweep import ConfigDiagnosis
from gradscope.sweeps.tryfix import FixTable

EVIDENCE_KEYS = (
    ("signal", "gradient compared across layers", "{}"),
    ("signal_ratio_log10", "its log10 ratio, layer 0 / output layer, step 0", "{:+.2f}"),
    ("delta_ratio_log10", "delta_ratio_log10 at step 0", "{:+.2f}"),
    ("grad_ratio_log10", "grad_ratio_log10 at step 0", "{:+.2f}"),
    ("delta_ratio_log10_last", "delta_ratio_log10 at the last recorded step", "{:+.2f}"),
    ("per_layer_ratio", "per-layer ‖δ_l‖²/‖δ_l+1‖², measured", "{:.4g}"),
    ("predicted_per_layer_ratio", "per-layer ‖δ_l‖²/‖δ_l+1‖², mean-field theory", "{:.4g}"),
    ("theory", "mean-field theory", "{}"),
    ("update_ratio_log10", "log10 update ratio, layer 0 / output layer", "{:+.2f}"),
    ("saturated_frac", "saturated units (share)", "{:.2f}"),
    ("dead_frac", "dead units (share)", "{:.2f}"),
    ("loss_first", "loss at the first step", "{:.4g}"),
    ("final_loss", "final loss", "{:.4g}"),
    ("final_accuracy", "final accuracy", "{:.1%}"),
)


def _fmt(value: object, spec: str) -> str | None:
    if value is None or value == "" or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return spec.format(value)


def format_diagnosis(found: Diagnosis, head: str = "") -> str:
    """Label, first bad layer, finding, evidence and the ranked remedies as text."""
    lines = [head] if head else []
    layer = "" if found.first_bad_layer is None else (
        f" (first layer outside the healthy band: {found.first_bad_layer})")
    meaning = f" — {BY_NAME[found.label].meaning}" if found.label in BY_NAME else ""
    lines += [f"diagnosis: {found.label}{layer}{meaning}", found.finding, "evidence:"]
    for key, text, spec in EVIDENCE_KEYS:
        if key == "signal_ratio_log10" and found.evidence.get("signal") == "delta_norm":
            continue  # the same number as delta_ratio_log10
        value = _fmt(found.evidence.get(key), spec)
        if value is not None:
            lines.append(f"  {text:<46} {value}")
    if found.remedies:
        lines.append("remedies, best first:")
        lines += [f"  {i}. {name}: {REMEDIES.get(name).why}"
                  for i, name in enumerate(found.remedies, 1)]
    if found.evidence.get("remedies_left_out"):
        lines.append(f"  not offered: {found.evidence['remedies_left_out']}")
    return "\n".join(lines)


def format_fixes(table: FixTable) -> str:
    """The try-fixes table: one line per run, the baseline first, then the remedies best first."""
    if not table.after:
        return "try-fixes: no remedy applies to this diagnosis; nothing to re-run."
    frame = table.to_frame()
    b = table.before.summary
    head = (f"try-fixes: each remedy re-run for {table.before.config.steps} steps with the same "
            f"seeds; delta_ratio_log10 before = {b['delta_ratio_log10']:+.2f}; best first")
    lines = [head, f"  {'remedy':<12} {'diagnosis':<10} {'status':<9} {'delta_ratio':>11} "
                   f"{'grad_ratio':>10} {'final_loss':>10} {'accuracy':>8}"]
    for i, row in frame.iterrows():
        acc = _fmt(row["final_accuracy"], "{:.1%}") or ""
        loss = _fmt(row["final_loss"], "{:.4g}") or "nan"
        d = _fmt(row["delta_ratio_log10"], "{:+.2f}") or "nan"
        g = _fmt(row["grad_ratio_log10"], "{:+.2f}") or "nan"
        lines.append(f"  {row['remedy']:<12} {row['diagnosis']:<10} {row['status']:<9} "
                     f"{d:>11} {g:>10} {loss:>10} {acc:>8}")
        if i == 0:
            lines.append("  " + "-" * 76)
    return "\n".join(lines)


def format_sweep(found: Sequence[ConfigDiagnosis]) -> str:
    """One block per configuration of a sweep."""
    if not found:
        return "no run of this sweep has per-layer rows to diagnose."
    blocks = []
    for c in found:
        seeds = ", ".join(f"{n} {lab}" for lab, n in c.labels.items())
        head = f"== {label(c.params) if c.params else 'all runs'} ({len(c.run_ids)} runs: {seeds})"
        blocks.append(format_diagnosis(c.diagnosis, head))
    return "\n\n".join(blocks)
