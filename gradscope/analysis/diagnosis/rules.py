"""The diagnosis rules and thresholds: a run's label and the first layer that leaves the band.

Quantities (from `Evidence`, see evidence.py; "decades" are powers of ten, layer 0 is the Dense
layer nearest the input, the "top" is the output Dense layer):

* d0 = `signal_ratio_log10` at the first recorded step (step 0): log10 ‖δ_0‖/‖δ_top‖ of the
  back-propagated gradient δ = dL/dz. It decides, not the weight-gradient ratio, because dL/dW
  can stay flat while the signal vanishes (Glorot & Bengio 2010, Fig. 8). dT is the same at the
  last recorded step. A recording without δ falls back to the weight gradients, then the bias
  gradients (`Evidence.signal` names the column; the finding says so).
* the signal profile s_l = log10 ‖δ_l‖/‖δ_top‖; the healthy band is |s_l| < BAND_LOG10.
* u = median over the recorded steps ≥ 1 of log10(update_ratio of layer 0 / of the top layer):
  how fast the input layer's weights move relative to the output layer's.
* loss_drop = 1 − final_loss / loss of the first step.

`RULES` is the table, in this order of precedence (the first rule that fires gives the label):

1. diverged  — status "diverged" (non-finite loss or gradient stopped training) or a recorded
   gradient holds NaN/Inf. First bad layer: the highest layer with non-finite values at the
   first step that has any.
2. exploding — d0 ≥ +BAND_LOG10 (2 decades: layer 0 gets ≥ 100× the top's signal), then
   vanishing — d0 ≤ −BAND_LOG10 (layer 0 gets ≤ 1% of it); then the same two for dT (the
   imbalance appeared during training). Each is skipped when training RESOLVED it:
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
3. saturated — the mean over layers of `saturated_frac` at the first or last recorded step is
   ≥ SATURATED_FRAC (0.5): half the sigmoid/tanh units sit where φ' < 1% of its maximum. First
   bad layer: the first layer from the top whose share is ≥ SATURATED_FRAC.
4. dead      — likewise `dead_frac` ≥ DEAD_FRAC (0.5): half the ReLU-family units are inactive
   for every example of the batch.
5. inconclusive — no gradient (δ, weight or bias) can be compared between layer 0 and the top
   at any recorded step: too little evidence to call the run healthy.
6. healthy   — none of the above (first bad layer: none).

With a single recorded step (or no loss history) nothing can be resolved and d0 alone decides.
Adding a label: one entry in `labels.LABELS` (its meaning, severity, remedies and finding
sentence) and one `Rule` here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gradscope.analysis.diagnosis.evidence import Evidence

BAND_LOG10 = 2.0
RESOLVABLE_LOG10 = 4.0
UPDATE_BAND_LOG10 = 2.0
LEARNED_DROP = 0.2
SATURATED_FRAC = 0.5
DEAD_FRAC = 0.5


@dataclass(frozen=True)
class Verdict:
    """A label, the first layer (0 = input side) leaving the healthy band, and how it arose.

    `when`: "step0" (imbalance at the first step), "training" (appeared by the last step),
    "transient" (an imbalance at step 0 that training resolved) or "" (none).
    """

    label: str
    first_bad_layer: int | None
    when: str = ""


@dataclass(frozen=True)
class Rule:
    """One row of the rules table: when `fires(ev)`, the run gets `label`.

    `first_bad_layer(ev)`: where the pathology starts; `when`: the Verdict's `when` ("" for
    "transient" if an earlier imbalance was resolved, else ""); `resolvable`: an imbalance rule,
    skipped (and reported as transient) when training resolved it.
    """

    label: str
    fires: Callable[[Evidence], bool]
    first_bad_layer: Callable[[Evidence], int | None] = lambda ev: None
    when: str = ""
    resolvable: bool = False


def learned(ev: Evidence) -> bool:
    """Whether the loss fell by at least LEARNED_DROP from its first step."""
    return math.isfinite(ev.loss_drop) and ev.loss_drop >= LEARNED_DROP


def resolved(ev: Evidence) -> bool:
    """Training resolved an imbalance: learned, with layer 0 updating at the top's pace."""
    moderate = all(not math.isfinite(v) or abs(v) < RESOLVABLE_LOG10
                   for v in (ev.signal_ratio_log10, ev.signal_ratio_log10_last))
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


def first_from_top(values: Sequence[float], threshold: float) -> int | None:
    """Walking down from the top, the first layer whose value is ≥ threshold (None if none)."""
    for layer in range(len(values) - 1, -1, -1):
        if math.isfinite(values[layer]) and values[layer] >= threshold:
            return layer
    return None


def _beyond(value: float, sign: float) -> bool:
    return math.isfinite(value) and sign * value >= BAND_LOG10


def _highest_nonfinite(ev: Evidence) -> int | None:
    bad = [i for i, v in enumerate(ev.nonfinite_by_layer) if v > 0]
    return bad[-1] if bad else None


def _imbalance(label: str, sign: float, when: str) -> Rule:
    """exploding (sign +1) or vanishing (−1), judged at the first step or the last."""
    last = when == "training"
    return Rule(
        label,
        lambda ev: _beyond(ev.signal_ratio_log10_last if last else ev.signal_ratio_log10, sign),
        lambda ev: leaves_band(ev.profile_last if last else ev.profile_first, sign),
        when, resolvable=True)


RULES: tuple[Rule, ...] = (
    Rule("diverged", lambda ev: ev.status == "diverged" or ev.nonfinite > 0,
         _highest_nonfinite, "training"),
    _imbalance("exploding", 1.0, "step0"),
    _imbalance("vanishing", -1.0, "step0"),
    _imbalance("exploding", 1.0, "training"),
    _imbalance("vanishing", -1.0, "training"),
    Rule("saturated", lambda ev: ev.saturated_frac >= SATURATED_FRAC,
         lambda ev: first_from_top(ev.sat_by_layer, SATURATED_FRAC)),
    Rule("dead", lambda ev: ev.dead_frac >= DEAD_FRAC,
         lambda ev: first_from_top(ev.dead_by_layer, DEAD_FRAC)),
    Rule("inconclusive", lambda ev: not ev.signal),
    Rule("healthy", lambda ev: True),
)


def classify(ev: Evidence) -> Verdict:
    """Apply `RULES` (see the module docstring) to one run's evidence."""
    transient = False
    for rule in RULES:
        if not rule.fires(ev):
            continue
        if rule.resolvable and resolved(ev):
            transient = True
            continue
        when = rule.when or ("transient" if transient else "")
        return Verdict(rule.label, rule.first_bad_layer(ev), when)
    raise AssertionError("the last rule always fires")
