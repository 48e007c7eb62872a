"""The diagnosis rules and thresholds: a run's label and the first layer that leaves the band.

Quantities (from `Evidence`, see evidence.py; "decades" are powers of ten, layer 0 is the Dense
layer nearest the input, the "top" is the output Dense layer):

* d0 = `delta_ratio_log10` at the first recorded step (step 0): log10 ‖δ_0‖/‖δ_top‖ of the
  back-propagated gradient δ = dL/dz. It decides, not the weight-gradient ratio, because dL/dW
  can stay flat while the signal vanishes (Glorot & Bengio 2010, Fig. 8). dT is the same at the
  last recorded step.
* the signal profile s_l = log10 ‖δ_l‖/‖δ_top‖; the healthy band is |s_l| < BAND_LOG10.
* u = median over the recorded steps ≥ 1 of log10(update_ratio of layer 0 / of the top layer):
  how fast the input layer's weights move relative to the output layer's.
* loss_drop = 1 − final_loss / loss of the first step.

Rules, in this order of precedence:

1. diverged  — status "diverged" (non-finite loss or gradient stopped training) or a recorded
   gradient holds NaN/Inf. First bad layer: the highest layer with non-finite values at the
   first step that has any.
2. exploding — d0 ≥ +BAND_LOG10 (2 decades: layer 0 gets ≥ 100× the top's signal), or dT ≥ +2
   (the growth appeared during training), unless training RESOLVED it (below).
3. vanishing — d0 ≤ −BAND_LOG10 (layer 0 gets ≤ 1% of it), or dT ≤ −2, unless RESOLVED.
   RESOLVED means more than one step was recorded, the imbalance is moderate (|d0| and |dT|
   below RESOLVABLE_LOG10 = 4 decades: a factor of 10^4 or more is never called transient,
   clipped or not), and the run learned (loss_drop ≥ LEARNED_DROP = 20%) while layer 0's
   weights moved at a pace comparable to the top's (|u| < UPDATE_BAND_LOG10 = 2 decades).
   A moderate imbalance with no effect on learning is not a pathology of the run:
   batch-normalised sigmoid nets, for example, start with +3 decades (normalisation divides δ
   by the batch std; mean-field theory also predicts growth) and still train with balanced
   updates. The finding then reports the transient instead.
   First bad layer: walking down from the top (the gradient's way), the first layer whose
   s_l leaves the band, at the step that triggered the rule.
4. saturated — the mean over layers of `saturated_frac` at the first or last recorded step is
   ≥ SATURATED_FRAC (0.5): half the sigmoid/tanh units sit where φ' < 1% of its maximum. First
   bad layer: the first layer from the top whose share is ≥ SATURATED_FRAC.
5. dead      — likewise `dead_frac` ≥ DEAD_FRAC (0.5): half the ReLU-family units are inactive
   for every example of the batch.
6. healthy   — none of the above (first bad layer: none).

With a single recorded step (or no loss history) nothing can be resolved and d0 alone decides.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from gradscope.analysis.diagnosis.evidence import Evidence

BAND_LOG10 = 2.0
RESOLVABLE_LOG10 = 4.0
UPDATE_BAND_LOG10 = 2.0
RESOLVABLE_LOG10 = 4.0
LEARNED_DROP = 0.2
SATURATED_FRAC = 0.5
DEAD_FRAC = 0.5
DIAGNOSES = ("healthy", "vanishing", "exploding", "saturated", "dead", "diverged")
SEVERITY = ("diverged", "exploding", "vanishing", "saturated", "dead", "healthy")


@dataclass(frozen=True)
class Verdict:
    """A label, the first layer (0 = input side) leaving the healthy band, and how it arose.

    `when`: "step0" (imbalance at the first step), "training" (appeared by the last step),
    "transient" (an imbalance at step 0 that training resolved) or "" (none).
    """

    label: str
    first_bad_layer: int | None
    when: str = ""


def learned(ev: Evidence) -> bool:
    """Whether the loss fell by at least LEARNED_DROP from its first step."""
    return math.isfinite(ev.loss_drop) and ev.loss_drop >= LEARNED_DROP


def resolved(ev: Evidence) -> bool:
    """Training resolved an imbalance: learned, with layer 0 updating at the top's pace."""
    moderate = all(not math.isfinite(v) or abs(v) < RESOLVABLE_LOG10
                   for v in (ev.delta_ratio_log10, ev.delta_ratio_log10_last))
    return (ev.last_step > ev.first_step and moderate and learned(ev)
            and math.isfinite(ev.update_ratio_log10)
            and abs(ev.update_ratio_log10) < UPDATE_BAND_LOG10)


def leaves_band(profile: Sequence[float], sign: float, band: float = BAND_LOG10) -> int | None:
    """Walking down from the top, the first layer whose sign·s_l ≥ band (None if none)."""
    for layer in range(len(profile) - 2, -1, -1):
        value = profile[layer]
        if math.isfinite(value) and sign * value >= band:
            return layer
    return None


def _first_from_top(values: Sequence[float], threshold: float) -> int | None:
    for layer in range(len(values) - 1, -1, -1):
        if math.isfinite(values[layer]) and values[layer] >= threshold:
            return layer
    return None


def classify(ev: Evidence) -> Verdict:
    """Apply the rules of the module docstring to one run's evidence."""
    if ev.status == "diverged" or ev.nonfinite > 0:
        bad = [i for i, v in enumerate(ev.nonfinite_by_layer) if v > 0]
        return Verdict("diverged", bad[-1] if bad else None, "training")
    transient = False
    for value, profile, when in ((ev.delta_ratio_log10, ev.profile_first, "step0"),
                                 (ev.delta_ratio_log10_last, ev.profile_last, "training")):
        for sign, label in ((1.0, "exploding"), (-1.0, "vanishing")):
            if math.isfinite(value) and sign * value >= BAND_LOG10:
                if resolved(ev):
                    transient = True
                    continue
                return Verdict(label, leaves_band(profile, sign), when)
    if ev.saturated_frac >= SATURATED_FRAC:
        return Verdict("saturated", _first_from_top(ev.sat_by_layer, SATURATED_FRAC),
                       "transient" if transient else "")
    if ev.dead_frac >= DEAD_FRAC:
        return Verdict("dead", _first_from_top(ev.dead_by_layer, DEAD_FRAC),
                       "transient" if transient else "")
    return Verdict("healthy", None, "transient" if transient else "")
