"""First-version diagnosis of a run from its per-layer statistics, with documented thresholds.

The verdict is one of healthy | vanishing | exploding | saturated | dead | diverged, checked in
this order of precedence:

* diverged  — training stopped on a non-finite loss or gradient, or a recorded gradient held
  NaN/Inf (`nonfinite` > 0).
* exploding — `delta_ratio_log10` ≥ EXPLODING_LOG10 (+2): at step 0 the back-propagated gradient
  dL/dz reaching layer 0 is at least 100× the one at the last layer.
* vanishing — `delta_ratio_log10` ≤ VANISHING_LOG10 (−2): layer 0 receives at most 1% of it.
* saturated — at step 0 or at the last recorded step, the mean `saturated_frac` over the hidden
  layers is ≥ SATURATED_FRAC (0.5): half the sigmoid/tanh units sit where φ' < 1% of its maximum.
* dead      — likewise the mean `dead_frac` ≥ DEAD_FRAC (0.5): half the ReLU-family units are
  inactive for every example of the batch.
* healthy   — none of the above.

`delta_ratio_log10` (not the weight-gradient ratio) decides, because dL/dW can stay flat across
layers while the back-propagated signal vanishes (Glorot & Bengio 2010, Fig. 8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

EXPLODING_LOG10 = 2.0
VANISHING_LOG10 = -2.0
SATURATED_FRAC = 0.5
DEAD_FRAC = 0.5
DIAGNOSES = ("healthy", "vanishing", "exploding", "saturated", "dead", "diverged")


@dataclass(frozen=True)
class Diagnosis:
    """A verdict and the one sentence, with numbers, that justifies it."""

    label: str
    finding: str


def ratio_log10(layers: pd.DataFrame, column: str, step: int = 0) -> float:
    """log10(column at layer 0 / column at the last layer) at `step`; nan if not measurable."""
    at = layers[layers["step"] == step] if len(layers) else layers
    if at.empty or column not in at:
        return math.nan
    by_layer = at.sort_values("layer")[column].to_numpy(dtype=float)
    first, last = by_layer[0], by_layer[-1]
    if not (np.isfinite(first) and np.isfinite(last)) or first <= 0 or last <= 0:
        return math.nan
    return float(np.log10(first) - np.log10(last))


def _hidden_share(layers: pd.DataFrame, column: str) -> tuple[float, int]:
    """The worst (step 0 or last recorded step) mean of `column` over layers; (share, step)."""
    if layers.empty or column not in layers:
        return math.nan, 0
    shares = []
    for step in sorted({int(layers["step"].min()), int(layers["step"].max())}):
        values = layers.loc[layers["step"] == step, column].dropna()
        if len(values):
            shares.append((float(values.mean()), step))
    return max(shares) if shares else (math.nan, 0)


def _pow(x: float) -> str:
    return f"10^{x:+.1f}" if math.isfinite(x) else "an unmeasurable share"


def diagnose(
    layers: pd.DataFrame,
    *,
    status: str = "ok",
    first_nonfinite_step: int | None = None,
    final_loss: float = math.nan,
    final_accuracy: float = math.nan,
) -> Diagnosis:
    """Classify a run from its layers frame (recorder rows) and its training outcome."""
    d = ratio_log10(layers, "delta_norm")
    g = ratio_log10(layers, "grad_norm")
    n = int(layers["layer"].nunique()) if len(layers) else 0
    signal = (f"at step 0 layer 0 receives {_pow(d)} of the last layer's back-propagated "
              f"gradient (weight gradient {_pow(g)}) across {n} weight layers")
    sat, sat_step = _hidden_share(layers, "saturated_frac")
    dead, dead_step = _hidden_share(layers, "dead_frac")
    nonfinite = int(layers["nonfinite"].sum()) if "nonfinite" in layers and len(layers) else 0
    extra = []
    if sat >= SATURATED_FRAC:
        extra.append(f"{sat:.0%} of units saturated at step {sat_step}")
    if dead >= DEAD_FRAC:
        extra.append(f"{dead:.0%} of units dead at step {dead_step}")
    more = f" ({'; '.join(extra)})" if extra else ""
    if status == "diverged" or nonfinite > 0:
        where = (f"at step {first_nonfinite_step}" if first_nonfinite_step is not None
                 else f"({nonfinite} non-finite gradient values recorded)")
        return Diagnosis("diverged", f"Diverged: the loss or a gradient became non-finite "
                         f"{where}; {signal}{more}.")
    if d >= EXPLODING_LOG10:
        return Diagnosis("exploding", f"Exploding: {signal}{more}.")
    if d <= VANISHING_LOG10:
        return Diagnosis("vanishing", f"Vanishing: {signal}{more}.")
    outcome = f"final loss {final_loss:.3g}" + (
        f", accuracy {final_accuracy:.0%}" if math.isfinite(final_accuracy) else "")
    if sat >= SATURATED_FRAC:
        return Diagnosis("saturated", f"Saturated: {sat:.0%} of hidden units sit in the flat part "
                         f"of their activation at step {sat_step}, although {signal}; {outcome}.")
    if dead >= DEAD_FRAC:
        return Diagnosis("dead", f"Dead: {dead:.0%} of hidden units are inactive for the whole "
                         f"batch at step {dead_step}, although {signal}; {outcome}.")
    return Diagnosis("healthy", f"Healthy: {signal}; {outcome}.")
