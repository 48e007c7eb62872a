"""A sweep's result as HTML for a notebook (`SweepResult._repr_html_`): the headline, the
status counts and one row per configuration. Pure string building."""

from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd

from gradscope.analysis.configurations import combos, label, select, varying_params
from gradscope.analysis.summary import headline, run_labels

CELL = "border:1px solid #ddd;padding:2px 6px;text-align:left"
MAX_ROWS = 40


def sweep_html(out: Path, runs: pd.DataFrame, ran: int, resumed: int) -> str:
    """The headline, where the results are, and per configuration the diagnoses of its runs."""
    status = ", ".join(f"{n} {s}" for s, n in runs["status"].astype(str).value_counts().items())
    keys = varying_params(runs)
    rows = []
    for vals in combos(runs, keys)[:MAX_ROWS]:
        sub = select(runs, keys, vals)
        diag = run_labels(sub).value_counts()
        name = label(dict(zip(keys, vals, strict=True)), keys) if keys else "all runs"
        ratio = pd.to_numeric(sub.get("delta_ratio_log10"), errors="coerce")
        mean = f"{ratio.mean():+.2f}" if ratio is not None and ratio.notna().any() else ""
        rows.append(f'<tr><td style="{CELL}">{escape(name)}</td><td style="{CELL}">{len(sub)}'
                    f'</td><td style="{CELL}">'
                    + escape(", ".join(f"{d} {n}" for d, n in diag.items()))
                    + f'</td><td style="{CELL}">{mean}</td></tr>')
    more = len(combos(runs, keys)) - MAX_ROWS
    head = "".join(f'<th style="{CELL};background:#f4f4f4">{h}</th>' for h in
                   ("configuration", "runs", "diagnoses", "log10 ‖δ‖ ratio (mean)"))
    return (f"<div><p><b>{escape(headline(runs))}</b></p>"
            f"<p>{len(runs)} runs in {escape(str(out))} ({ran} ran, {resumed} resumed); status: "
            f"{escape(status)}. Open {escape(str(Path(out) / 'report.html'))} for the report.</p>"
            f'<table style="border-collapse:collapse;font-size:12px"><thead><tr>{head}</tr>'
            f"</thead><tbody>{''.join(rows)}</tbody></table>"
            + (f"<p><i>and {more} more configurations</i></p>" if more > 0 else "") + "</div>")
