"""`diagnose(...)`: a run's label, first bad layer, evidence, finding sentence and remedies."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from gradscope.analysis.diagnosis.evidence import Evidence, gather
from gradscope.analysis.diagnosis.html import diagnosis_html
from gradscope.analysis.diagnosis.remedies import rank_remedies
from gradscope.analysis.diagnosis.rules import BAND_LOG10, Verdict, classify


@dataclass(frozen=True)
class Diagnosis:
    """A verdict with the one sentence (with numbers) that justifies it.

    label: healthy | vanishing | exploding | saturated | dead | diverged; first_bad_layer: the
    first layer (0 = input side) where the signal leaves the healthy band, walking down from
    the output (None when healthy); evidence: the numbers; remedies: ranked remedy names.
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


def _pow(x: float) -> str:
    return f"10^{x:+.1f}" if math.isfinite(x) else "an unmeasurable share"


def _factor(ratio: float) -> str:
    """A squared per-layer ratio as the per-layer factor of the norm, e.g. ×0.24."""
    return f"×{math.sqrt(ratio):.3g}" if math.isfinite(ratio) and ratio >= 0 else "×?"


def _theory(ev: Evidence) -> str:
    if not math.isfinite(ev.predicted_per_layer_ratio):
        return ""
    return (f" (mean-field theory: {_factor(ev.predicted_per_layer_ratio)} per layer, "
            f"{_pow(ev.predicted_delta_ratio_log10)} at layer 0)")


def _outcome(ev: Evidence) -> str:
    parts = []
    if math.isfinite(ev.loss_first) and math.isfinite(ev.final_loss):
        parts.append(f"loss {ev.loss_first:.3g} → {ev.final_loss:.3g}")
    elif math.isfinite(ev.final_loss):
        parts.append(f"final loss {ev.final_loss:.3g}")
    if math.isfinite(ev.final_accuracy):
        parts.append(f"accuracy {ev.final_accuracy:.0%}")
    return ", ".join(parts) or "no final loss"


def _trend(ev: Evidence) -> str:
    if ev.last_step == ev.first_step:
        return ""
    text = f"; at step {ev.last_step} it is {_pow(ev.delta_ratio_log10_last)}"
    if math.isfinite(ev.update_ratio_log10):
        text += (f", and layer 0's weights move {_pow(ev.update_ratio_log10)} as fast as the "
                 "output layer's")
    return text


def _signal(ev: Evidence, v: Verdict) -> str:
    word = "shrinks" if v.label == "vanishing" else "grows"
    where = "" if v.first_bad_layer is None else (
        f", leaves the 10^±{BAND_LOG10:g} band at layer {v.first_bad_layer}")
    step = ev.first_step if v.when != "training" else ev.last_step
    value = ev.delta_ratio_log10 if v.when != "training" else ev.delta_ratio_log10_last
    return (f"at step {step} the back-propagated gradient {word} by "
            f"{_factor(ev.per_layer_ratio)} per layer on its way down{_theory(ev)}{where} and "
            f"reaches layer 0 at {_pow(value)} of the output layer's (weight gradient "
            f"{_pow(ev.grad_ratio_log10)})")


def finding(ev: Evidence, v: Verdict) -> str:
    """The one-sentence finding for verdict `v`, with the numbers of `ev`."""
    outcome = _outcome(ev)
    ratio = (f"layer 0 receives {_pow(ev.delta_ratio_log10)} of the output layer's "
             f"back-propagated gradient at step {ev.first_step}{_theory(ev)}")
    transient = ""
    if v.when == "transient":
        transient = (f"; the imbalance at step {ev.first_step} is transient and harmless: by "
                     f"step {ev.last_step} it is {_pow(ev.delta_ratio_log10_last)}, layer 0's "
                     f"weights move {_pow(ev.update_ratio_log10)} as fast as the output "
                     "layer's and the net learns")
    if v.label == "diverged":
        where = (f"at step {ev.first_nonfinite_step}" if ev.first_nonfinite_step is not None
                 else f"({ev.nonfinite} non-finite gradient values recorded)")
        at = f", first at layer {v.first_bad_layer}" if v.first_bad_layer is not None else ""
        return (f"Diverged: the loss or a gradient became non-finite {where}{at}; before that "
                f"{ratio}.")
    if v.label in ("vanishing", "exploding"):
        return f"{v.label.capitalize()}: {_signal(ev, v)}{_trend(ev)}; {outcome}."
    if v.label in ("saturated", "dead"):
        share, step = ((ev.saturated_frac, ev.saturated_step) if v.label == "saturated"
                       else (ev.dead_frac, ev.dead_step))
        what = ("sit where φ' < 1% of its maximum" if v.label == "saturated"
                else "are inactive for the whole batch")
        at = f" (from layer {v.first_bad_layer} down)" if v.first_bad_layer is not None else ""
        return (f"{v.label.capitalize()}: {share:.0%} of hidden units {what} at step {step}"
                f"{at}, although {ratio}{transient}; {outcome}.")
    return f"Healthy: {ratio}{_trend(ev) if not transient else ''}{transient}; {outcome}."


def diagnose(
    layers: pd.DataFrame,
    steps: pd.DataFrame | None = None,
    config: Any = None,
    *,
    status: str = "ok",
    first_nonfinite_step: int | None = None,
    final_loss: float = math.nan,
    final_accuracy: float = math.nan,
) -> Diagnosis:
    """Diagnose one run from its layers rows (recorder frame), its steps rows and its config
    (a RunConfig or a runs.csv row; used for the theory's prediction and to rank remedies)."""
    ev = gather(layers, steps, config, status=status, first_nonfinite_step=first_nonfinite_step,
                final_loss=final_loss, final_accuracy=final_accuracy)
    verdict = classify(ev)
    evidence = {**ev.numbers(), "first_bad_layer": verdict.first_bad_layer,
                "when": verdict.when}
    dims = None
    if len(layers) and {"fan_in", "fan_out"} <= set(layers.columns):
        at = layers[layers["step"] == ev.first_step].sort_values("layer")
        dims = (int(at["fan_in"].iloc[0]), int(at["fan_out"].iloc[-1]))
    return Diagnosis(verdict.label, finding(ev, verdict), verdict.first_bad_layer, evidence,
                     tuple(rank_remedies(verdict.label, config, dims)))
