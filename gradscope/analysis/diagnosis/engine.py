"""`diagnose(...)`: a run's label, first bad layer, evidence, finding sentence and remedies."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from gradscope.analysis.diagnosis.evidence import Evidence, gather
from gradscope.analysis.diagnosis.html import diagnosis_html
from gradscope.analysis.diagnosis.labels import BY_NAME
from gradscope.analysis.diagnosis.phrases import evidence_note
from gradscope.analysis.diagnosis.remedies import left_out, rank_remedies
from gradscope.analysis.diagnosis.rows import RunRows, as_rows
from gradscope.analysis.diagnosis.rules import Verdict, classify


@dataclass(frozen=True)
class Diagnosis:
    """A verdict with the one sentence (with numbers) that justifies it.

    label: one of `labels.DIAGNOSES`; first_bad_layer: the first layer (0 = input side) where
    the signal leaves the healthy band, walking down from the output (None when healthy);
    evidence: the numbers (`signal` names the gradient that decided); remedies: ranked remedy
    names.
    """

    label: str
    finding: str
    first_bad_layer: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    remedies: tuple[str, ...] = ()

    def _repr_html_(self) -> str:
        """The label, finding, evidence and remedies as HTML (shown by Jupyter)."""
        return diagnosis_html(self.label, self.finding, self.first_bad_layer, self.evidence,
                              self.remedies)


def finding(ev: Evidence, v: Verdict) -> str:
    """The one-sentence finding for verdict `v`, with the numbers of `ev` (and, when δ was not
    recorded, the evidence that decided instead)."""
    sentence = BY_NAME[v.label].finding(ev, v)
    note = evidence_note(ev)
    return f"{sentence.removesuffix('.')}; {note}." if note else sentence


def diagnose(
    layers: pd.DataFrame | RunRows,
    steps: pd.DataFrame | Mapping[str, Any] | None = None,
    config: Any = None,
    *,
    status: str = "ok",
    first_nonfinite_step: int | None = None,
    final_loss: float = math.nan,
    final_accuracy: float = math.nan,
) -> Diagnosis:
    """Diagnose one run from its layers rows (recorder frame or `RunRows`), its steps rows (a
    frame, or a mapping with step and loss arrays) and its config
    (a RunConfig or a runs.csv row; used for the theory's prediction and to rank remedies).

    Any subset of the recorder's columns will do (besides step and layer): without delta_norm
    the weight or bias gradients decide, and with no gradient at all the label is
    "inconclusive" unless the activation statistics show saturated or dead units."""
    rows = as_rows(layers)
    ev = gather(rows, steps, config, status=status, first_nonfinite_step=first_nonfinite_step,
                final_loss=final_loss, final_accuracy=final_accuracy)
    verdict = classify(ev)
    evidence = {**ev.numbers(), "first_bad_layer": verdict.first_bad_layer,
                "when": verdict.when}
    unknown = left_out(verdict.label, config)
    if unknown:
        needed = sorted({k for keys in unknown.values() for k in keys})
        evidence["remedies_left_out"] = (f"{', '.join(unknown)} (they depend on the "
                                         f"{' and '.join(needed)}, which is unknown)")
    return Diagnosis(verdict.label, finding(ev, verdict), verdict.first_bad_layer, evidence,
                     tuple(rank_remedies(verdict.label, config, rows.dims(ev.first_step))))
