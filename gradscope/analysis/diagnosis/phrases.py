"""The pieces of a finding sentence, with the numbers of one run's Evidence (see labels.py)."""

from __future__ import annotations

import math

from gradscope.analysis.diagnosis.evidence import Evidence, signal_noun
from gradscope.analysis.diagnosis.rules import BAND_LOG10, Verdict


def power(x: float) -> str:
    """A log10 ratio as a power of ten, e.g. 10^-2.3."""
    return f"10^{x:+.1f}" if math.isfinite(x) else "an unmeasurable share"


def factor(ratio: float) -> str:
    """A squared per-layer ratio as the per-layer factor of the norm, e.g. ×0.24."""
    return f"×{math.sqrt(ratio):.3g}" if math.isfinite(ratio) and ratio >= 0 else "×?"


def theory(ev: Evidence) -> str:
    """The mean-field prediction for δ, when there is one and δ is what was measured."""
    if ev.fallback or not math.isfinite(ev.predicted_per_layer_ratio):
        return ""
    return (f" (mean-field theory: {factor(ev.predicted_per_layer_ratio)} per layer, "
            f"{power(ev.predicted_delta_ratio_log10)} at layer 0)")


def evidence_note(ev: Evidence) -> str:
    """Which evidence decided when δ (delta_norm) was not measurable; "" when it was."""
    if not ev.fallback:
        return ""
    return (f"evidence: the {signal_noun(ev.signal)}s ({ev.signal}), because delta_norm "
            "(dL/dz) was not recorded")


def outcome(ev: Evidence) -> str:
    """How training went: the loss from first to last step and the final accuracy."""
    parts = []
    if math.isfinite(ev.loss_first) and math.isfinite(ev.final_loss):
        parts.append(f"loss {ev.loss_first:.3g} → {ev.final_loss:.3g}")
    elif math.isfinite(ev.final_loss):
        parts.append(f"final loss {ev.final_loss:.3g}")
    if math.isfinite(ev.final_accuracy):
        parts.append(f"accuracy {ev.final_accuracy:.0%}")
    return ", ".join(parts) or "no final loss"


def trend(ev: Evidence) -> str:
    """The signal ratio at the last recorded step and the update ratio (when both differ)."""
    if ev.last_step == ev.first_step:
        return ""
    text = f"; at step {ev.last_step} it is {power(ev.signal_ratio_log10_last)}"
    if math.isfinite(ev.update_ratio_log10):
        text += (f", and layer 0's weights move {power(ev.update_ratio_log10)} as fast as the "
                 "output layer's")
    return text


def received(ev: Evidence) -> str:
    """What layer 0 receives of the output layer's signal at the first step."""
    return (f"layer 0 receives {power(ev.signal_ratio_log10)} of the output layer's "
            f"{signal_noun(ev.signal)} at step {ev.first_step}{theory(ev)}")


def transient(ev: Evidence, v: Verdict) -> str:
    """The sentence part for an imbalance that training resolved ("" unless v.when says so)."""
    if v.when != "transient":
        return ""
    return (f"; the imbalance at step {ev.first_step} is transient and harmless: by step "
            f"{ev.last_step} it is {power(ev.signal_ratio_log10_last)}, layer 0's weights move "
            f"{power(ev.update_ratio_log10)} as fast as the output layer's and the net learns")


def imbalance(ev: Evidence, v: Verdict) -> str:
    """How the signal shrinks or grows on its way down, where it leaves the band, the total."""
    word = "shrinks" if v.label == "vanishing" else "grows"
    where = "" if v.first_bad_layer is None else (
        f", leaves the 10^±{BAND_LOG10:g} band at layer {v.first_bad_layer}")
    step = ev.first_step if v.when != "training" else ev.last_step
    value = ev.signal_ratio_log10 if v.when != "training" else ev.signal_ratio_log10_last
    weight = ("" if ev.fallback or not math.isfinite(ev.grad_ratio_log10)
              else f" (weight gradient {power(ev.grad_ratio_log10)})")
    return (f"at step {step} the {signal_noun(ev.signal)} {word} by "
            f"{factor(ev.signal_per_layer_ratio)} per layer on its way down{theory(ev)}{where} "
            f"and reaches layer 0 at {power(value)} of the output layer's{weight}")
