"""A diagnosis as HTML for a notebook (`Diagnosis._repr_html_`): label, finding, evidence and
the ranked remedies. Pure string building."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

LABEL_COLOURS = {"healthy": "#2ca02c", "vanishing": "#1f77b4", "exploding": "#d62728",
                 "saturated": "#9467bd", "dead": "#7f7f7f", "diverged": "#000000",
                 "inconclusive": "#bcbd22"}
CELL = "border:1px solid #ddd;padding:2px 6px;text-align:left"


def _value(v: Any) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4g}"
    return "" if v is None else str(v)


def diagnosis_html(label: str, finding: str, first_bad_layer: int | None,
                   evidence: Mapping[str, Any], remedies: Sequence[str]) -> str:
    """The diagnosis as an HTML fragment: a coloured label, the finding, the evidence table and
    the ranked remedies."""
    colour = LABEL_COLOURS.get(label, "#444444")
    where = "" if first_bad_layer is None else f" — starts at layer {first_bad_layer}"
    rows = "".join(f'<tr><th style="{CELL};font-weight:normal">{escape(str(k))}</th>'
                   f'<td style="{CELL}">{escape(_value(v))}</td></tr>'
                   for k, v in evidence.items() if _value(v) != "")
    evidence_html = (f"<details><summary>evidence ({len(evidence)} numbers)</summary>"
                     f'<table style="border-collapse:collapse;font-size:12px">{rows}</table>'
                     "</details>") if rows else ""
    remedies_html = ("<p>Remedies, most promising first:</p><ol>"
                     + "".join(f"<li>{escape(r)}</li>" for r in remedies) + "</ol>"
                     if remedies else "")
    return (f'<div><p><span style="background:{colour};color:white;padding:1px 8px;'
            f'border-radius:3px;font-weight:bold">{escape(label)}</span>{escape(where)}</p>'
            f"<p>{escape(finding)}</p>{evidence_html}{remedies_html}</div>")
